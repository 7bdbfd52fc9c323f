import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Declaration, optionDeclarations, REPO, requireNixInstantiate } from './helpers.ts';

/**
 * The module's option declarations (nix/modules/options.nix), read with a stand-in for nixpkgs'
 * `lib` that records what each mkOption call was given. nixpkgs is not on this machine; the VM
 * tests in CI evaluate the module for real. This checks the declarations' shape and that
 * docs/nixos.md documents every option.
 */

describe('services.nix-glab-runner options', () => {
  let declarations: Declaration[];

  beforeAll(() => {
    requireNixInstantiate();
    declarations = optionDeclarations();
  });

  it('declares the options the module and the docs rely on', () => {
    const paths = declarations.map((d) => d.path);
    for (const path of [
      'enable',
      'tokenFile',
      'tokenSecret',
      'store.mode',
      'security.blockMetadataServer',
      'drain.enable',
      'gce.efi',
    ])
      expect(paths).toContain(path);
  });

  it('gives every option a type, a default and a description', () => {
    for (const d of declarations) {
      expect(d.hasType, `${d.path} has no type`).toBe(true);
      expect(d.hasDefault, `${d.path} has no default`).toBe(true);
      expect(d.description.trim().length, `${d.path} has no description`).toBeGreaterThan(20);
    }
  });

  it('documents every option in the table of docs/nixos.md', () => {
    const docs = readFileSync(join(REPO, 'docs/nixos.md'), 'utf8');
    const documented = [...docs.matchAll(/^\| `([A-Za-z.]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(declarations.map((d) => d.path).sort());
  });
});
