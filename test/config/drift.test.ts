/**
 * The one-schema promise: action.yml, docs/inputs.md and the CLI help agree with src/config.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ACTION_YML,
  actionDefault,
  INPUTS_MD,
  renderActionYml,
  renderInputsMd,
} from '../../scripts/gen-docs.ts';
import { COMMANDS, configKey, INPUT_GROUPS, INPUTS, OUTPUTS, parseConfig } from '../../src/config.ts';
import { DEFAULT_NIX_VERSION, hostNixSystem, releaseSha256 } from '../../src/nix/releases.ts';

interface ActionYml {
  runs: { using: string; main: string };
  branding: { icon: string; color: string };
  inputs: Record<string, { description: string; required: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
}

const action = parse(readFileSync(ACTION_YML, 'utf8')) as ActionYml;

describe('the schema itself', () => {
  it('gives every input a kebab-case unique name, a description, a group and known commands', () => {
    const names = INPUTS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const spec of INPUTS) {
      expect(spec.name).toMatch(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/);
      expect(spec.description.length, spec.name).toBeGreaterThan(10);
      expect(spec.description, spec.name).toMatch(/\.$/);
      expect(INPUT_GROUPS).toContain(spec.group);
      for (const command of spec.commands ?? ['publish']) expect(COMMANDS).toContain(command);
      if (spec.type === 'enum') expect(spec.options?.length, spec.name).toBeGreaterThan(1);
    }
  });

  it('maps every input to a Config field', () => {
    // A valid value for each input without a default (bucket is required, the rest may default).
    const samples: Record<string, string> = {
      bucket: 'my-bucket',
      'flake-attr': 'packages.x86_64-linux.gce',
      'extra-modules': 'package.json',
      'image-file': 'package.json',
      'github-token': 'token',
      // The pinned hash of the default nix-version: a different one would contradict the pin.
      'nix-sha256': releaseSha256(DEFAULT_NIX_VERSION, hostNixSystem()),
      project: 'my-project',
      'storage-endpoint': 'http://127.0.0.1:1',
      'compute-endpoint': 'http://127.0.0.1:1',
      description: 'An image.',
      'storage-location': 'us',
      architecture: 'X86_64',
      'min-age': '168h',
      'instance-group': 'zones/us-central1-a/instanceGroupManagers/runners',
      image: 'runner-image',
      'max-surge': '1',
      'max-unavailable': '1',
    };
    for (const spec of INPUTS) {
      const value = samples[spec.name] ?? spec.default;
      expect(value, `a sample value for ${spec.name}`).toBeDefined();
      // Each input is checked under the first command that takes it; roll needs its group.
      const command = (spec.commands ?? ['publish'])[0];
      const config = parseConfig(
        {
          bucket: 'my-bucket',
          'instance-group': 'zones/us-central1-a/instanceGroupManagers/runners',
          [spec.name]: value,
        },
        { workspace: process.cwd(), ci: false, command },
      );
      expect(config, spec.name).toHaveProperty(configKey(spec.name));
    }
  });

  it('describes every output', () => {
    expect(OUTPUTS.map((o) => o.name)).toEqual(
      expect.arrayContaining([
        'image-name',
        'image-self-link',
        'image-family',
        'gcs-uri',
        'store-path',
        'nix-hash',
        'skipped',
      ]),
    );
    for (const output of OUTPUTS) expect(output.description).toMatch(/\.$/);
  });
});

describe('action.yml', () => {
  it('is what scripts/gen-docs.ts generates', () => {
    expect(readFileSync(ACTION_YML, 'utf8')).toBe(renderActionYml());
  });

  it('declares exactly the schema inputs with their descriptions, defaults and required flags', () => {
    expect(Object.keys(action.inputs)).toEqual(INPUTS.map((s) => s.name));
    for (const spec of INPUTS) {
      const declared = action.inputs[spec.name];
      expect(declared?.description).toBe(spec.description);
      expect(declared?.required).toBe(spec.required === true);
      expect(declared?.default).toBe(actionDefault(spec));
    }
  });

  it('declares exactly the schema outputs', () => {
    expect(Object.keys(action.outputs)).toEqual(OUTPUTS.map((o) => o.name));
    for (const output of OUTPUTS) expect(action.outputs[output.name]?.description).toBe(output.description);
  });

  it('runs on node24 from the bundled entry, with branding', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/main/index.js' });
    expect(action.branding.icon).toBeTruthy();
    // The Marketplace cuts descriptions at 125 characters.
    expect((parse(renderActionYml()) as { description: string }).description.length).toBeLessThan(125);
    expect(action.branding.color).toBeTruthy();
  });
});

describe('docs/inputs.md', () => {
  it('is what scripts/gen-docs.ts generates and names every input and output', () => {
    const text = readFileSync(INPUTS_MD, 'utf8');
    expect(text).toBe(renderInputsMd());
    for (const spec of INPUTS) expect(text).toContain(`| \`${spec.name}\` |`);
    for (const output of OUTPUTS) expect(text).toContain(`| \`${output.name}\` |`);
  });

  it('is checked by gen-docs --check, which passes on a fresh tree', () => {
    const root = path.dirname(ACTION_YML);
    const out = execFileSync('npx', ['tsx', 'scripts/gen-docs.ts', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toBe('');
  });
});

it('keys each input by its camelCase name', () => {
  expect(configKey('extra-modules')).toBe('extraModules');
  expect(configKey('allow-rolled-back')).toBe('allowRolledBack');
});
