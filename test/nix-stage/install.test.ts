import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import {
  appendNixConfig,
  decideInstall,
  type EnsureNixOptions,
  ensureNix,
  nixConfigText,
  redactNixConfig,
  verifySha256,
} from '../../src/nix/install.ts';
import { DEFAULT_NIX_VERSION, nixRelease, PINNED_NIX_RELEASES } from '../../src/nix/releases.ts';
import { recordingReporter } from '../../src/report/events.ts';
import { requireTool, tempDir } from './helpers.ts';

const base: EnsureNixOptions = {
  installNix: 'auto',
  nixVersion: '2.34.7',
  nixSha256: undefined,
  extraNixConfig: '',
  ci: false,
};

describe('ensureNix', () => {
  let saved: { PATH?: string; NIX_CONFIG?: string };
  beforeEach(() => {
    saved = { PATH: process.env.PATH, NIX_CONFIG: process.env.NIX_CONFIG };
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('uses the installed nix for auto and never, enabling flakes and hiding the token', async () => {
    requireTool('nix', 'install nix: apt-get install -y nix-bin');
    for (const installNix of ['auto', 'never'] as const) {
      process.env.NIX_CONFIG = 'substituters =';
      const r = recordingReporter();
      const got = await ensureNix(
        { ...base, installNix, githubToken: 'ghs_canary123', extraNixConfig: 'max-jobs = 2' },
        r,
      );
      expect(got.installed).toBe(false);
      expect(got.version).toMatch(/^\d+\.\d+/);
      expect(got.nixBin).toMatch(/\/nix$/);
      expect(process.env.NIX_CONFIG).toContain('substituters =\n');
      expect(process.env.NIX_CONFIG).toContain('extra-experimental-features = nix-command flakes');
      expect(process.env.NIX_CONFIG).toContain('max-jobs = 2');
      expect(process.env.NIX_CONFIG).toContain('extra-access-tokens = github.com=ghs_canary123');
      expect(r.lines.join('\n')).not.toContain('ghs_canary123');
    }
  });

  it('on a laptop without nix, auto stops with a hint and never installs', async () => {
    process.env.PATH = tempDir('empty-path');
    const err = await ensureNix({ ...base, installNix: 'auto', ci: false }, recordingReporter()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).input).toBe('install-nix');
    expect((err as Error).message).toMatch(/only in CI.*apt-get install -y nix-bin/);
  });

  it('never without nix stops with a hint', async () => {
    process.env.PATH = tempDir('empty-path');
    await expect(ensureNix({ ...base, installNix: 'never', ci: true }, recordingReporter())).rejects.toThrow(
      /install-nix is never/,
    );
  });

  it('treats a broken nix on PATH as absent', async () => {
    const dir = tempDir('broken-nix');
    writeFileSync(join(dir, 'nix'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    process.env.PATH = dir;
    await expect(ensureNix({ ...base, installNix: 'never' }, recordingReporter())).rejects.toThrow(
      /not installed/,
    );
  });
});

describe('decideInstall', () => {
  const found = { version: '2.8.0' };
  it('uses a present nix unless always', () => {
    expect(decideInstall('auto', false, found)).toBe('use');
    expect(decideInstall('auto', true, found)).toBe('use');
    expect(decideInstall('never', true, found)).toBe('use');
    expect(decideInstall('always', false, found)).toBe('install');
  });
  it('installs when absent only in CI or when asked', () => {
    expect(decideInstall('auto', true, undefined)).toBe('install');
    expect(decideInstall('always', false, undefined)).toBe('install');
    expect(() => decideInstall('auto', false, undefined)).toThrow(UserError);
    expect(() => decideInstall('never', true, undefined)).toThrow(UserError);
  });
});

describe('nix config text', () => {
  it('enables flakes, kvm, extra config and the token; redacts the token for logs', () => {
    const text = nixConfigText({ extraNixConfig: 'max-jobs = 4\n', githubToken: 'ghp_x', kvm: true });
    expect(text).toBe(
      'extra-experimental-features = nix-command flakes\nextra-system-features = kvm\nmax-jobs = 4\nextra-access-tokens = github.com=ghp_x\n',
    );
    expect(redactNixConfig(text)).not.toContain('ghp_x');
    expect(redactNixConfig('access-tokens = github.com=abc')).toBe('access-tokens = ***');
    expect(nixConfigText({ extraNixConfig: '', kvm: false })).toBe(
      'extra-experimental-features = nix-command flakes\n',
    );
    expect(() => nixConfigText({ extraNixConfig: '', githubToken: 'a b', kvm: false })).toThrow(
      /github-token/,
    );
  });
  it('appends to the user NIX_CONFIG', () => {
    expect(appendNixConfig(undefined, 'a = 1\n')).toBe('a = 1\n');
    expect(appendNixConfig('b = 2\n', 'a = 1\n')).toBe('b = 2\na = 1\n');
    expect(appendNixConfig('b = 2\na = 1\n', 'a = 1\n')).toBe('b = 2\na = 1\n');
  });
});

describe('release pins and checksum verification', () => {
  it('pins the default version', () => {
    expect(Object.keys(PINNED_NIX_RELEASES)).toContain(DEFAULT_NIX_VERSION);
  });

  it('pins both Linux systems for each listed version', () => {
    for (const [version, systems] of Object.entries(PINNED_NIX_RELEASES)) {
      expect(systems['x86_64-linux'], version).toMatch(/^[0-9a-f]{64}$/);
      expect(systems['aarch64-linux'], version).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(nixRelease('2.34.7', 'aarch64-linux')).toEqual({
      url: 'https://releases.nixos.org/nix/nix-2.34.7/nix-2.34.7-aarch64-linux.tar.xz',
      sha256: PINNED_NIX_RELEASES['2.34.7']?.['aarch64-linux'],
    });
    expect(() => nixRelease('2.99.0', 'x86_64-linux')).toThrow(/nix-sha256/);
    expect(nixRelease('2.99.0', 'x86_64-linux', 'C'.repeat(64)).sha256).toBe('c'.repeat(64));
    expect(() => nixRelease('latest', 'x86_64-linux')).toThrow(/nix-version/);
  });

  it('accepts a file with the expected SHA-256 and refuses a tampered one', async () => {
    const file = join(tempDir('sha'), 'nix.tar.xz');
    writeFileSync(file, 'hello\n');
    // sha256("hello\n"), as printed by sha256sum
    const good = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';
    await expect(verifySha256(file, good)).resolves.toBeUndefined();
    await expect(verifySha256(file, good.toUpperCase())).resolves.toBeUndefined();
    writeFileSync(file, 'hellO\n');
    await expect(verifySha256(file, good)).rejects.toThrow(/not the expected 5891b5b5/);
    await expect(verifySha256(file, 'abc')).rejects.toThrow(/not 64 hex digits/);
  });
});
