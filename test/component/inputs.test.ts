/**
 * The component's inputs agree with the one input schema (src/config.ts): the same names, descriptions and
 * defaults, options where the schema has them, and regexes that accept exactly what the schema's options
 * allow. Expectations are computed from the schema, so inputs added there are checked here too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  componentSchemaInputs,
  GITLAB_MD,
  inputVariable,
  renderGitlabMd,
  renderTemplate,
} from '../../scripts/gen-component.ts';
import { INPUTS, OUTPUTS, PROJECT_FLAKE, VERSION } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { readTemplate, scriptInputNames } from './helpers.ts';

interface SpecInput {
  type?: string;
  description: string;
  default?: unknown;
  options?: string[];
  regex?: string;
}

const [header, body] = parseAllDocuments(readTemplate()).map((d) => d.toJS());
const spec = header.spec as { component: string[]; inputs: Record<string, SpecInput> };
const inputs = spec.inputs;
type Job = { variables: Record<string, unknown>; script: string[] };
const job: Job = Object.values(body as Record<string, Job>)[0] ?? { variables: {}, script: [] };

/** Inputs of the component itself: how its job runs, not what the tool does. */
const COMPONENT_ONLY = [
  'job-prefix',
  'stage',
  'job-image',
  'tool-source',
  'tool-command',
  'kvm',
  'workload-identity-provider',
  'audience',
  'service-account',
  'rules',
];

/** A GitLab regex as the checks in GitLab and gitlab-ci-local apply it (unanchored unless it anchors). */
function matches(regex: string, value: string): boolean {
  return new RegExp(regex).test(value);
}

describe('the component spec', () => {
  it('declares the component context it uses, and is catalog-ready', () => {
    expect(spec.component).toEqual(['version', 'sha', 'reference']);
    for (const [name, input] of Object.entries(inputs)) {
      expect(input.description, name).toMatch(/\S.{10,}/);
      expect(['string', 'number', 'boolean', 'array', undefined], name).toContain(input.type);
    }
  });

  it('has exactly the publish inputs of the schema plus its own, without name clashes', () => {
    const schemaNames = componentSchemaInputs().map((s) => s.name);
    expect(schemaNames).toContain('bucket');
    expect(schemaNames).not.toContain('command');
    expect(Object.keys(inputs).sort()).toEqual([...schemaNames, ...COMPONENT_ONLY].sort());
    // No component input may shadow a schema input of any command (the schema's `image` is roll's).
    const allSchemaNames = INPUTS.map((s) => s.name);
    for (const name of COMPONENT_ONLY) expect(allSchemaNames, name).not.toContain(name);
  });

  it.each(componentSchemaInputs().map((s) => [s.name, s] as const))(
    '%s: same description and default, typed as GitLab types it',
    (name, schema) => {
      const input = inputs[name] as SpecInput;
      expect(input.description).toBe(schema.description);
      if (schema.required) {
        expect(input).not.toHaveProperty('default');
        return;
      }
      const hasDefault = schema.default !== undefined && schema.default !== '';
      if (schema.type === 'boolean' && hasDefault) {
        expect(input.type).toBe('boolean');
        expect(input.default).toBe(schema.default === 'true');
      } else if (schema.type === 'number' && hasDefault) {
        expect(input.type).toBe('number');
        expect(input.default).toBe(Number(schema.default));
      } else {
        expect(input.type ?? 'string').toBe('string');
        expect(input.default).toBe(schema.default ?? '');
      }
      if (schema.type === 'number' && !hasDefault) {
        expect(matches(input.regex as string, '')).toBe(true);
        expect(matches(input.regex as string, '2')).toBe(true);
        expect(matches(input.regex as string, 'two')).toBe(false);
      }
    },
  );

  it.each(
    componentSchemaInputs()
      .filter((s) => s.options)
      .map((s) => [s.name, s] as const),
  )('%s: its values are limited to the schema options', (name, schema) => {
    const input = inputs[name] as SpecInput;
    const options = [...(schema.options ?? [])];
    if (input.options) {
      expect(schema.type).toBe('enum');
      expect(input.options).toEqual(options);
      expect(options).toContain(input.default);
      return;
    }
    const regex = input.regex as string;
    expect(regex, `${name} needs options or a regex`).toBeDefined();
    expect(matches(regex, String(input.default))).toBe(true);
    for (const option of options) expect(matches(regex, option), option).toBe(true);
    expect(matches(regex, 'NOT_AN_OPTION')).toBe(false);
    expect(matches(regex, `${options[0]}x`)).toBe(false);
    if (schema.type === 'list') {
      expect(matches(regex, options.slice(0, 2).join(','))).toBe(true);
      expect(matches(regex, options.slice(0, 2).join('\n'))).toBe(true);
      expect(matches(regex, `${options[0]}, NOT_AN_OPTION`)).toBe(false);
    }
  });

  it('has defaults that pass their own options and regexes', () => {
    for (const [name, input] of Object.entries(inputs)) {
      if (input.default === undefined) continue;
      if (input.options) expect(input.options, name).toContain(input.default);
      if (input.regex) expect(matches(input.regex, String(input.default)), name).toBe(true);
    }
  });

  it('pins the default tool to the project flake and runs in nixos/nix', () => {
    expect(inputs['tool-source']?.default).toBe(PROJECT_FLAKE);
    expect(String(inputs['job-image']?.default)).toMatch(/^nixos\/nix(:|$)/);
    expect(inputs.kvm?.options).toEqual(['required', 'optional']);
    expect(inputs.kvm?.default).toBe('required');
  });

  it('accepts provider names and $VARIABLES for workload identity, and refuses other text', () => {
    const regex = inputs['workload-identity-provider']?.regex as string;
    expect(matches(regex, '')).toBe(true);
    expect(matches(regex, '$WIF_PROVIDER')).toBe(true);
    expect(
      matches(regex, 'projects/123456/locations/global/workloadIdentityPools/gitlab/providers/gitlab'),
    ).toBe(true);
    expect(
      matches(regex, '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/r'),
    ).toBe(false);
    expect(matches(regex, 'projects/my-project/locations/global/workloadIdentityPools/p/providers/r')).toBe(
      false,
    );
  });
});

describe('the component job', () => {
  it('hands every schema input to the tool through its own variable, and nothing else', () => {
    const names = componentSchemaInputs().map((s) => s.name);
    expect(scriptInputNames(job)).toEqual(names);
    for (const name of names) expect(job.variables[inputVariable(name)], name).toBe(`$[[ inputs.${name} ]]`);
    const inputVariables = Object.keys(job.variables).filter((k) => k.startsWith('NGR_INPUT_'));
    expect(inputVariables).toHaveLength(names.length);
    // No schema input is pasted into the script text, where a value could inject shell.
    for (const name of names) expect(job.script.join('\n')).not.toContain(`inputs.${name} `);
  });

  it('turns every output into a dotenv key GitLab accepts', () => {
    for (const output of OUTPUTS) {
      const key = output.name.replaceAll('-', '_').toUpperCase();
      expect(key).toMatch(/^[A-Za-z0-9_]+$/);
    }
    expect(job.script.join('\n')).toContain('nix-glab-runner.env');
  });
});

describe('scripts/gen-component.ts', () => {
  it('has generated the template and the docs table from the current schema', () => {
    const template = readTemplate();
    expect(renderTemplate(template)).toBe(template);
    const docs = readFileSync(GITLAB_MD, 'utf8');
    expect(renderGitlabMd(docs)).toBe(docs);
    for (const input of componentSchemaInputs()) expect(docs).toContain(`| \`${input.name}\` |`);
    for (const name of COMPONENT_ONLY) expect(docs, name).toContain(`| \`${name}\` |`);
    expect(docs).toContain(`gitlab-ci@v${VERSION}`);
  });

  it('--check passes on this tree', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/gen-component.ts', '--check'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(out).toBe('');
  });

  it('--check reports a stale block', () => {
    const stale = readTemplate().replace(/^ {4}bucket:\n/m, '    bucket-renamed:\n');
    expect(renderTemplate(stale)).not.toBe(stale);
  });
});
