import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFlakeRef } from '../../src/nix/flake-ref.ts';
import { nixString, splitAttrPath, targetForAttr, wrapperFlake } from '../../src/nix/wrapper.ts';
import { commitAll, requireNix, tempDir, workspace } from './helpers.ts';

describe('flake-attr forms', () => {
  it('splits attribute paths, honouring quoted segments', () => {
    expect(splitAttrPath('packages.x86_64-linux.image')).toEqual(['packages', 'x86_64-linux', 'image']);
    expect(splitAttrPath('nixosConfigurations."runner.example"')).toEqual([
      'nixosConfigurations',
      'runner.example',
    ]);
    for (const bad of ['', 'a..b', 'a.', '.a', 'a."b'])
      expect(() => splitAttrPath(bad), bad).toThrow(/flake-attr/);
  });

  it('maps each form to a target', () => {
    expect(
      targetForAttr('git+file:///f', 'nixosConfigurations.runner', 'x86_64-linux', ['m/0-a.nix']),
    ).toEqual({
      kind: 'nixos',
      flakeRef: 'git+file:///f',
      name: 'runner',
      modules: ['m/0-a.nix'],
    });
    expect(targetForAttr('r', 'image', 'aarch64-linux', [])).toMatchObject({
      attrPath: ['packages', 'aarch64-linux', 'image'],
    });
    expect(targetForAttr('r', 'hydraJobs.image.x86_64-linux', 'x86_64-linux', [])).toMatchObject({
      kind: 'derivation',
      attrPath: ['hydraJobs', 'image', 'x86_64-linux'],
    });
    expect(() => targetForAttr('r', 'nixosConfigurations', 'x86_64-linux', [])).toThrow(
      /nixosConfigurations\.<name>/,
    );
    expect(() => targetForAttr('r', 'image', 'x86_64-linux', ['m/0-a.nix'])).toThrow(
      /extra-modules input cannot change/,
    );
  });

  it('escapes Nix strings, including interpolation', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal Nix interpolation
    expect(nixString('a"b\\c${x}\n')).toBe('"a\\"b\\\\c\\${x}\\n"');
  });

  it('generates a wrapper flake that nix parses', () => {
    requireNix();
    const text = wrapperFlake({
      kind: 'builder',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal Nix interpolation
      flakeRef: 'github:o/r?dir=${evil}"',
      system: 'x86_64-linux',
      modules: ['m/0-a.nix'],
    });
    expect(text).toContain('extraModules = [ ./m/0-a.nix ]');
    const dir = tempDir('wrapper');
    writeFileSync(join(dir, 'flake.nix'), text);
    // Parse only: the escaped URL must come back unchanged as a string.
    const url = execFileSync('nix-instantiate', ['--parse', join(dir, 'flake.nix')], { encoding: 'utf8' });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal Nix interpolation
    expect(url).toContain('github:o/r?dir=\\${evil}\\"');
  });
});

describe('resolveFlakeRef', () => {
  it('turns a git directory into git+file, with dir= for a subdirectory', async () => {
    const repo = workspace(
      { 'flake.nix': '{ outputs = _: { }; }', 'sub/flake.nix': '{ outputs = _: { }; }' },
      { git: true },
    );
    commitAll(repo, '.');
    expect(await resolveFlakeRef('.', repo)).toBe(`git+file://${repo}`);
    expect(await resolveFlakeRef('sub', repo)).toBe(`git+file://${repo}?dir=sub`);
    expect(await resolveFlakeRef(`${repo}/sub`, '/')).toBe(`git+file://${repo}?dir=sub`);
  });

  it('passes URLs through and uses path: only outside the workspace', async () => {
    const ws = workspace({ 'flake.nix': '{ outputs = _: { }; }' });
    expect(await resolveFlakeRef('github:pcboy/nix-glab-runner/v1', ws)).toBe(
      'github:pcboy/nix-glab-runner/v1',
    );
    const action = tempDir('action');
    mkdirSync(join(action, 'nix'));
    writeFileSync(join(action, 'flake.nix'), '{ outputs = _: { }; }');
    expect(await resolveFlakeRef(action, ws)).toBe(`path:${action}`);
    await expect(resolveFlakeRef('.', ws)).rejects.toThrow(/not a git repository/);
    await expect(resolveFlakeRef('path:.', ws)).rejects.toThrow(/whole workspace/);
    await expect(resolveFlakeRef(`path:${ws}/`, '/tmp/other')).resolves.toBe(`path:${ws}/`);
    await expect(resolveFlakeRef('./missing', ws)).rejects.toThrow(/is not a directory/);
    await expect(resolveFlakeRef(' ', ws)).rejects.toThrow(/flake input is empty/);
  });
});
