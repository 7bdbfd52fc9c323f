import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawDiskSource, resolveEndpoints } from '../../src/gcp/endpoints.ts';
import { fileIdentityHash, imageLabels, storePathHash, storePathOf } from '../../src/identity.ts';

describe('image identity', () => {
  it('takes the hash part of a store path and refuses anything else', () => {
    expect(storePathHash('/nix/store/gshaksf13hr8kqxsxf4yh5v1d4h5adhc-fixture-gce-image')).toBe(
      'gshaksf13hr8kqxsxf4yh5v1d4h5adhc',
    );
    // e, o, u and t are not in Nix's base-32 alphabet.
    expect(storePathHash('/nix/store/eshaksf13hr8kqxsxf4yh5v1d4h5adhc-x')).toBeUndefined();
    expect(storePathHash('/tmp/gshaksf13hr8kqxsxf4yh5v1d4h5adhc-x')).toBeUndefined();
  });

  it('takes a prebuilt file as a store path only below a hash-named store entry', () => {
    expect(storePathOf('/nix/store/gshaksf13hr8kqxsxf4yh5v1d4h5adhc-img/nixos.raw.tar.gz')).toBe(
      '/nix/store/gshaksf13hr8kqxsxf4yh5v1d4h5adhc-img',
    );
    // Inside /nix/store but not a store path: hashed by content like any other file.
    expect(storePathOf('/nix/store/.links/0a1b2c3d4e5f')).toBeUndefined();
    expect(storePathOf('/nix/store/image.raw.tar.gz')).toBeUndefined();
    expect(storePathOf('/tmp/gshaksf13hr8kqxsxf4yh5v1d4h5adhc-img/nixos.raw.tar.gz')).toBeUndefined();
  });

  it('hashes a prebuilt tarball by content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'identity-'));
    writeFileSync(join(dir, 'a'), 'same bytes');
    writeFileSync(join(dir, 'b'), 'same bytes');
    writeFileSync(join(dir, 'c'), 'other bytes');
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((f) => fileIdentityHash(join(dir, f))));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
  });

  it('labels with our keys, the commit where known, and the user labels', () => {
    const labels = imageLabels({
      nixHash: 'gshaksf13hr8kqxsxf4yh5v1d4h5adhc',
      user: { team: 'infra' },
      env: { CI_COMMIT_SHA: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' },
      flakeRev: 'not-a-rev',
    });
    expect(labels).toEqual({
      team: 'infra',
      'managed-by': 'nix-glab-runner',
      'nix-hash': 'gshaksf13hr8kqxsxf4yh5v1d4h5adhc',
      'git-sha': 'abcdef0123456789abcdef0123456789abcdef01',
    });
  });
});

describe('endpoints', () => {
  it('defaults to Google and needs credentials there', () => {
    expect(resolveEndpoints()).toEqual({
      storage: 'https://storage.googleapis.com',
      compute: 'https://compute.googleapis.com/compute/v1',
      loopback: false,
    });
  });

  it("accepts gcloud's override form for compute and treats loopback as the emulator", () => {
    expect(resolveEndpoints('http://127.0.0.1:8085/', 'http://127.0.0.1:8085/compute/v1/')).toEqual({
      storage: 'http://127.0.0.1:8085',
      compute: 'http://127.0.0.1:8085/compute/v1',
      loopback: true,
    });
    expect(resolveEndpoints('http://127.0.0.1:8085', 'https://compute.example.com').loopback).toBe(false);
  });

  it('gives rawDisk.source in the documented form, escaping each path segment', () => {
    expect(rawDiskSource('b', 'nix-glab-runner/img a.raw.tar.gz')).toBe(
      'https://storage.googleapis.com/b/nix-glab-runner/img%20a.raw.tar.gz',
    );
  });
});
