import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcloudTarget, gcloud } from '../helpers/gcloud.ts';
import { type Emulator, startEmulator } from './index.ts';
import { type TestFile, writeTestFile } from './storage/test-files.ts';

/**
 * gcloud reaches the emulator through endpoint overrides and auth/disable_credentials alone.
 * Each gcloud run costs seconds, so the steps share one emulator and run in order.
 */
describe('gcloud storage against the emulator', () => {
  let dir: string;
  let emu: Emulator;
  let target: GcloudTarget;
  let small: TestFile;
  let big: TestFile;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emu-gcloud-'));
    emu = await startEmulator({ dataDir: join(dir, 'data') });
    target = { emulatorUrl: emu.url, project: 'gcloud-project' };
    small = await writeTestFile(join(dir, 'small.bin'), 3 * 1024 * 1024);
    // Above gcloud's 8 MiB resumable threshold, so it takes the resumable path.
    big = await writeTestFile(join(dir, 'big.bin'), 20 * 1024 * 1024);
  });
  afterAll(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('buckets create', async () => {
    const r = await gcloud(['storage', 'buckets', 'create', 'gs://gcloud-b'], target);
    expect(r.code, r.stderr).toBe(0);
    expect(emu.requests.matching(/^POST \/storage\/v1\/b$/).map((e) => e.status)).toEqual([200]);
  }, 60_000);

  it('cp uploads a small file (multipart) and a large one (resumable) with matching checksums', async () => {
    const r = await gcloud(['storage', 'cp', small.path, big.path, 'gs://gcloud-b/dir/'], target);
    expect(r.code, r.stderr).toBe(0);
    expect(
      emu.requests
        .matching(/^POST \/upload\/storage\/v1\/b\/gcloud-b\/o$/)
        .some((e) => e.query.includes('uploadType=multipart')),
    ).toBe(true);
    expect(emu.requests.matching(/^POST \/resumable\/upload\/storage\/v1\/b\/gcloud-b\/o$/).length).toBe(1);
    expect(emu.storage.getObject('gcloud-b', 'dir/small.bin')).toMatchObject({
      size: small.size,
      crc32c: small.crc32c,
      md5Hash: small.md5Hash,
    });
    expect(emu.storage.getObject('gcloud-b', 'dir/big.bin')).toMatchObject({
      size: big.size,
      crc32c: big.crc32c,
      md5Hash: big.md5Hash,
    });
  }, 60_000);

  it('ls lists them', async () => {
    const r = await gcloud(['storage', 'ls', '-l', 'gs://gcloud-b/dir/'], target);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\b${small.size}\\s+\\S+\\s+gs://gcloud-b/dir/small\\.bin`));
    expect(r.stdout).toMatch(new RegExp(`\\b${big.size}\\s+\\S+\\s+gs://gcloud-b/dir/big\\.bin`));
  }, 60_000);

  it('cat returns the exact bytes', async () => {
    const r = await gcloud(
      ['storage', 'cat', 'gs://gcloud-b/dir/small.bin', 'gs://gcloud-b/dir/big.bin'],
      target,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdoutBytes.length).toBe(small.size + big.size);
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
    expect(md5(r.stdoutBytes.subarray(0, small.size))).toBe(small.md5Hash);
    expect(md5(r.stdoutBytes.subarray(small.size))).toBe(big.md5Hash);
  }, 60_000);
});
