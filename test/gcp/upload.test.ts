import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialsFor } from '../../src/gcp/auth.ts';
import { resolveEndpoints } from '../../src/gcp/endpoints.ts';
import { storageClient } from '../../src/gcp/storage.ts';
import { uploadImageObject } from '../../src/gcp/upload.ts';
import { recordingReporter } from '../../src/report/events.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { type TestFile, writeTestFile } from '../emulator/storage/test-files.ts';

const MiB = 2 ** 20;
const PROJECT = 'upload-project';
const BUCKET = 'upload-images';
const PUT_PATH = `^/upload/storage/v1/b/${BUCKET}/o$`;

// Our upload path (the library opens the session, our PUT streams the bytes) against the emulator's faults.
describe('uploadImageObject', () => {
  let emu: Emulator;
  let storage: Storage;
  let file: TestFile;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upload-'));
    emu = await startEmulator({ dataDir: join(dir, 'data') });
    const endpoints = resolveEndpoints(emu.url, emu.url);
    storage = await storageClient(endpoints, credentialsFor(endpoints), PROJECT);
    await storage.createBucket(BUCKET);
    file = await writeTestFile(join(dir, 'image.raw.tar.gz'), 6 * MiB);
  });
  afterAll(() => emu?.stop());
  beforeEach(() => {
    emu.faults.clear();
    emu.requests.clear();
    emu.storage.uploadEvents.length = 0;
  });

  const upload = (object: string) => {
    const reporter = recordingReporter();
    const done = uploadImageObject(storage, {
      bucket: BUCKET,
      object,
      file: file.path,
      metadata: { 'nix-hash': 'h', 'managed-by': 'nix-glab-runner' },
      reporter,
    });
    return { done, reporter };
  };
  const stored = async (object: string) => (await storage.bucket(BUCKET).file(object).getMetadata())[0];

  it('stores the bytes as a tar with no gzip encoding, CRC32C-checked, and reports progress', async () => {
    const { done, reporter } = upload('plain.raw.tar.gz');
    const result = await done;
    const meta = await stored('plain.raw.tar.gz');
    expect(result).toMatchObject({
      reused: false,
      crc32c: file.crc32c,
      size: file.size,
      generation: String(meta.generation),
    });
    expect(meta).toMatchObject({
      crc32c: file.crc32c,
      md5Hash: file.md5Hash,
      contentType: 'application/x-tar',
      metadata: { 'nix-hash': 'h', 'managed-by': 'nix-glab-runner' },
    });
    expect(meta.contentEncoding).toBeUndefined();
    expect(reporter.lines.filter((l) => l.startsWith('progress: upload')).at(-1)).toBe(
      `progress: upload ${file.size}/${file.size}`,
    );
    // One session, one PUT: nothing was sent twice.
    expect(emu.storage.uploadEvents.map((e) => e.outcome)).toEqual(['finalized']);
  });

  it('resumes from the committed offset after a connection reset, not from zero', async () => {
    emu.faults.add({ method: 'PUT', path: PUT_PATH, resetAfterBytes: 3 * MiB + 1000, count: 1 });
    const result = await upload('reset.raw.tar.gz').done;
    expect(result.crc32c).toBe(file.crc32c);
    expect((await stored('reset.raw.tar.gz')).md5Hash).toBe(file.md5Hash);
    const events = emu.storage.uploadEvents;
    expect(events.map((e) => e.outcome)).toEqual(['reset', 'query', 'finalized']);
    expect(events[0]).toMatchObject({ committedAfter: 3 * MiB });
    expect(events[2]?.contentRange).toBe(`bytes ${3 * MiB}-${file.size - 1}/${file.size}`);
  });

  it('retries a 503 storm on the PUT and still finishes with the right CRC32C', async () => {
    emu.faults.add({ method: 'PUT', path: PUT_PATH, status: 503, count: 2 });
    const result = await upload('storm.raw.tar.gz').done;
    expect(result.crc32c).toBe(file.crc32c);
    expect(emu.requests.entries.filter((r) => r.method === 'PUT' && r.status === 503)).toHaveLength(2);
  }, 30_000);

  it('deletes the object and fails when the stored CRC32C differs from what was sent', async () => {
    emu.faults.add({ method: 'PUT', path: PUT_PATH, corruptChecksum: true, count: 1 });
    await expect(upload('corrupt.raw.tar.gz').done).rejects.toThrow(
      /CRC32C .* but the file has CRC32C .*; the object was deleted/,
    );
    const [exists] = await storage.bucket(BUCKET).file('corrupt.raw.tar.gz').exists();
    expect(exists).toBe(false);
  });

  it('fails at once on a final error such as an expired session, without retrying', async () => {
    emu.faults.add({ method: 'PUT', path: PUT_PATH, status: 410, count: 1 });
    await expect(upload('gone.raw.tar.gz').done).rejects.toThrow(
      /uploading to gs:\/\/upload-images\/gone\.raw\.tar\.gz failed/,
    );
    expect(emu.requests.entries.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('reuses an identical object of this build without sending a byte, and never replaces another', async () => {
    await upload('again.raw.tar.gz').done;
    emu.requests.clear();
    const reused = await upload('again.raw.tar.gz').done;
    expect(reused.reused).toBe(true);
    expect(emu.requests.mutating()).toEqual([]);

    const other = await writeTestFile(join(dir, 'other.bin'), 2 * MiB);
    await storage.bucket(BUCKET).upload(other.path, { destination: 'stale.raw.tar.gz' });
    const before = await stored('stale.raw.tar.gz');
    emu.requests.clear();
    await expect(upload('stale.raw.tar.gz').done).rejects.toThrow(
      /gs:\/\/upload-images\/stale\.raw\.tar\.gz already exists and is not this build's/,
    );
    expect(emu.requests.mutating()).toEqual([]);
    expect((await stored('stale.raw.tar.gz')).generation).toBe(before.generation);
  });
});
