import { describe, expect, it } from 'vitest';
import { findInput } from '../../src/config.ts';
import { DEFAULT_NIX_VERSION, PINNED_NIX_RELEASES } from '../../src/nix/releases.ts';

// The default must be a release with pinned checksums, so that installing it needs no nix-sha256.
describe('nix-version default', () => {
  it('is the installer default and has pinned checksums for both systems', () => {
    const def = findInput('nix-version')?.default;
    expect(def).toBe(DEFAULT_NIX_VERSION);
    expect(Object.keys(PINNED_NIX_RELEASES[DEFAULT_NIX_VERSION] ?? {}).sort()).toEqual([
      'aarch64-linux',
      'x86_64-linux',
    ]);
  });
});
