import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, nixEval, REPO, requireNixInstantiate } from './helpers.ts';

/**
 * The flake's outputs, evaluated with a nixpkgs input that throws when touched: output names
 * must be known without nixpkgs (which this machine does not have), so only names and
 * function arguments are read here. The values are built by `nix flake check` in CI.
 */
const OUTPUTS = `
  let
    flake = import ./flake.nix;
    nixpkgs = {
      lib = throw "nixpkgs.lib was evaluated";
      legacyPackages = throw "nixpkgs.legacyPackages was evaluated";
    };
    self = outputs // { outPath = ./.; };
    outputs = flake.outputs { inherit self nixpkgs; };
  in outputs`;

interface Summary {
  top: string[];
  nixosModules: string[];
  sameModule: boolean;
  builders: Record<string, string[]>;
  gceImageArgs: Record<string, boolean>;
  uploadGceImageArgs: Record<string, boolean>;
  packages: Record<string, string[]>;
  appTypes: Record<string, string>;
  checks: Record<string, string[]>;
  sanitised: string;
}

/** One evaluation for the whole file: every nix-instantiate start costs a few hundred ms. */
const SUMMARY = `
  let
    o = ${OUTPUTS};
    names = builtins.attrNames;
    perSystem = f: attrs: builtins.mapAttrs (_: f) attrs;
  in {
    top = names o;
    nixosModules = names o.nixosModules;
    sameModule = o.nixosModules.default == o.nixosModules.gitlab-runner;
    builders = perSystem names o.builders;
    gceImageArgs = builtins.functionArgs o.builders.x86_64-linux.gceImage;
    uploadGceImageArgs = builtins.functionArgs o.builders.x86_64-linux.uploadGceImage;
    packages = perSystem names o.packages;
    appTypes = perSystem (apps: apps.default.type) o.apps;
    checks = perSystem names o.checks;
    sanitised = o.lib.sanitiseImageName "nixos-image-23.11.x86_64-linux";
  }`;

let summary: Summary;

describe('flake outputs keep the names the CLI, the README and upstream users rely on', () => {
  beforeAll(() => {
    requireNixInstantiate();
    summary = nixEval<Summary>(SUMMARY);
  });

  it('has the top-level outputs', () => {
    expect(summary.top).toEqual([
      'apps',
      'builders',
      'checks',
      'formatter',
      'lib',
      'nixosModules',
      'packages',
      'templates',
    ]);
  });

  it('offers the runner module as default and gitlab-runner, the same module', () => {
    expect(summary.nixosModules).toEqual(['default', 'gitlab-runner']);
    expect(summary.sameModule).toBe(true);
  });

  it('has builders.<system>.gceImage { extraModules } and uploadGceImage with upstream arguments', () => {
    for (const system of ['x86_64-linux', 'aarch64-linux', 'aarch64-darwin']) {
      expect(summary.builders[system]).toEqual(['gceImage', 'uploadGceImage']);
    }
    expect(summary.gceImageArgs).toEqual({
      extraModules: true,
      system: true,
    });
    expect(summary.uploadGceImageArgs).toEqual({
      bucket: false,
      gceImage: false,
      imagePrefixName: false,
      family: true,
      project: true,
    });
  });

  it('packages the CLI as nix-glab-runner and default, with a default app', () => {
    for (const system of ['x86_64-linux', 'aarch64-linux', 'aarch64-darwin']) {
      expect(summary.packages[system]).toEqual(['default', 'nix-glab-runner']);
      expect(summary.appTypes[system]).toBe('app');
    }
  });

  it('checks the VM tests, scripts, formatting and the image evaluation on Linux', () => {
    expect(Object.keys(summary.checks).sort()).toEqual(['aarch64-linux', 'x86_64-linux']);
    expect(summary.checks['x86_64-linux']).toEqual([
      'formatting',
      'image-evaluates',
      'isolated-store',
      'runner',
      'scripts',
    ]);
  });

  it('has every check built by the nix workflow, and the workflow builds no other', () => {
    const workflow = readFileSync(join(REPO, '.github/workflows/nix.yml'), 'utf8');
    const matrix = /^\s*check: \[([^\]]*)\]/m.exec(workflow)?.[1] ?? '';
    expect(
      matrix
        .split(',')
        .map((name) => name.trim())
        .sort(),
    ).toEqual(summary.checks['x86_64-linux']);
  });

  it('exposes lib without nixpkgs', () => {
    expect(summary.sanitised).toBe('nixos-image-23-11-x86-64-linux');
  });

  it('follows the current stable NixOS and builds with nixpkgs image modules, not nixos-generators', () => {
    const inputs = nixEval<Record<string, { url: string }>>('(import ./flake.nix).inputs');
    expect(Object.keys(inputs)).toEqual(['nixpkgs']);
    expect(inputs.nixpkgs?.url).toBe('github:NixOS/nixpkgs/nixos-25.11');
  });
});

/** Flake attributes that the docs, the action or the component name after `#` on this flake. */
function referencedAttributes(): string[] {
  const candidates = ['README.md', 'action.yml', 'docs/nixos.md']
    .filter((file) => existsSync(join(REPO, file)))
    .concat(existsSync(join(REPO, 'templates')) ? filesUnder('templates', '.yml') : []);
  const found = new Set<string>();
  for (const file of candidates) {
    const text = readFileSync(join(REPO, file), 'utf8');
    for (const match of text.matchAll(/nix-glab-runner(?:\/[^\s#'"`]*)?#([A-Za-z0-9_.-]+)/g)) {
      if (match[1]) found.add(match[1]);
    }
  }
  return [...found].sort();
}

describe('flake attributes named in the docs, action.yml and the GitLab component exist', () => {
  beforeAll(() => {
    requireNixInstantiate();
    summary = nixEval<Summary>(SUMMARY);
  });

  it('resolves every `…nix-glab-runner…#attr` reference to a package or an app', () => {
    const packages = summary.packages['x86_64-linux'] ?? [];
    for (const attribute of referencedAttributes()) {
      const head = attribute.split('.')[0] ?? attribute;
      const known = packages.includes(head) || summary.top.includes(head);
      expect(known, `#${attribute} is referenced but the flake has no such output`).toBe(true);
    }
  });
});
