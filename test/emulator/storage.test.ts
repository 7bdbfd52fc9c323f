import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmCrc32cGenerator } from '../../src/gcp/crc32c.ts';
import { type Emulator, startEmulator } from './index.ts';
import { hashStream, type TestFile, writeTestFile } from './storage/test-files.ts';

const MiB = 1024 * 1024;
const KiB256 = 256 * 1024;
const project = 'emu-project';

/**
 * The unmodified client against a custom endpoint, as docs/architecture.md prescribes (no STORAGE_EMULATOR_HOST). Its
 * documented `crc32cGenerator` hook gets the WASM CRC32C our publisher uses (test/gcp/crc32c.test.ts shows it
 * equals the library's own): the library's JS one made the 300 MiB cases take minutes on a loaded machine.
 */
const client = async (emu: Emulator) =>
  new Storage({ apiEndpoint: emu.url, projectId: project, crc32cGenerator: await wasmCrc32cGenerator() });

/**
 * The object's bytes, by a plain media GET. The library's `createReadStream` has node-fetch, teeny-request
 * and the library each pipe the one response body, which makes Node warn of 11 listeners on it (harmless,
 * and not our code); its ranged `download()` is covered by the byte-range test below.
 */
async function mediaStream(emu: Emulator, name: string): Promise<NodeJS.ReadableStream> {
  const res = await fetch(`${emu.url}/storage/v1/b/uploads/o/${encodeURIComponent(name)}?alt=media`);
  if (!res.ok || !res.body) throw new Error(`media GET of ${name}: HTTP ${res.status}`);
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
}

async function expectStatus(p: Promise<unknown>, code: number): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

describe('Cloud Storage emulator with @google-cloud/storage', () => {
  let dir: string;
  let emu: Emulator;
  let small: TestFile;
  let large: TestFile;
  let storage: Storage;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emu-storage-'));
    emu = await startEmulator({ dataDir: join(dir, 'data') });
    storage = await client(emu);
    small = await writeTestFile(join(dir, 'small.bin'), 1 * MiB);
    large = await writeTestFile(join(dir, 'large.bin'), 300 * MiB);
    await storage.createBucket('uploads');
  });
  afterAll(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, gets, lists and deletes buckets with Google status codes', async () => {
    const [bucket] = await storage.createBucket('scratch-b');
    expect(bucket.metadata).toMatchObject({
      kind: 'storage#bucket',
      name: 'scratch-b',
      storageClass: 'STANDARD',
    });
    expect(bucket.metadata.projectNumber).toMatch(/^\d+$/);
    await expectStatus(storage.createBucket('scratch-b'), 409);
    await expectStatus(storage.bucket('no-such-bucket').getMetadata(), 404);
    await expectStatus(storage.createBucket('Bad_Name!'), 400);
    const [buckets] = await storage.getBuckets();
    expect(buckets.map((b) => b.name)).toEqual(expect.arrayContaining(['scratch-b', 'uploads']));
    await storage.bucket('scratch-b').file('x').save('x', { resumable: false });
    await expectStatus(storage.bucket('scratch-b').delete(), 409);
    await storage.bucket('scratch-b').file('x').delete();
    await storage.bucket('scratch-b').delete();
    await expectStatus(storage.bucket('scratch-b').getMetadata(), 404);
  });

  const cases: [string, () => TestFile, number | undefined][] = [
    ['1 MiB, single request', () => small, undefined],
    ['1 MiB, chunked', () => small, KiB256],
    ['300 MiB, single request', () => large, undefined],
    ['300 MiB, chunked', () => large, 32 * MiB],
  ];
  for (const [label, file, chunkSize] of cases) {
    it(`uploads ${label} resumably with crc32c validation and downloads it byte-identical`, async () => {
      const f = file();
      const name = `files/${label.replace(/[^a-z0-9]+/gi, '-')}.bin`;
      const [uploaded] = await storage.bucket('uploads').upload(f.path, {
        destination: name,
        resumable: true,
        validation: 'crc32c',
        ...(chunkSize ? { chunkSize } : {}),
      });
      expect(uploaded.metadata).toMatchObject({
        size: f.size,
        crc32c: f.crc32c,
        md5Hash: f.md5Hash,
        name,
        bucket: 'uploads',
      });
      const puts = emu.requests
        .matching(/^PUT \/upload\/storage\/v1\/b\/uploads\/o$/)
        .filter((r) => r.query.includes('upload_id'));
      expect(puts.length).toBeGreaterThan(0);
      const download = await hashStream(await mediaStream(emu, name));
      expect(download).toEqual({ size: f.size, crc32c: f.crc32c, md5Hash: f.md5Hash });
    }, 60_000);
  }

  it('sent the chunked uploads as several PUTs of whole 256 KiB multiples', () => {
    const chunked = emu.storage.uploadEvents.filter((e) => /^bytes \d+-\d+\/\*$/.test(e.contentRange ?? ''));
    expect(chunked.length).toBeGreaterThanOrEqual(3 + 9);
    for (const e of chunked) expect(e.bodyBytes % KiB256).toBe(0);
  });

  it('lists with prefix, delimiter and paging', async () => {
    const [files] = await storage.bucket('uploads').getFiles({ prefix: 'files/' });
    expect(files.map((f) => f.name).sort()).toEqual([
      'files/1-MiB-chunked.bin',
      'files/1-MiB-single-request.bin',
      'files/300-MiB-chunked.bin',
      'files/300-MiB-single-request.bin',
    ]);
    expect(files.find((f) => f.name === 'files/300-MiB-chunked.bin')?.metadata.size).toBe(String(300 * MiB));
    const [, , top] = await storage.bucket('uploads').getFiles({ delimiter: '/', autoPaginate: false });
    expect((top as { prefixes?: string[] }).prefixes).toEqual(['files/']);
    const [page1, next] = await storage
      .bucket('uploads')
      .getFiles({ prefix: 'files/', maxResults: 3, autoPaginate: false });
    expect(page1).toHaveLength(3);
    expect(next).toMatchObject({ pageToken: expect.any(String) });
    const [page2] = await storage.bucket('uploads').getFiles({ ...(next as object), autoPaginate: false });
    expect(page2.map((f) => f.name)).toEqual(['files/300-MiB-single-request.bin']);
  });

  it('serves byte ranges with 206 and Content-Range', async () => {
    const url = `${emu.url}/storage/v1/b/uploads/o/${encodeURIComponent('files/1-MiB-chunked.bin')}?alt=media`;
    const res = await fetch(url, { headers: { range: 'bytes=8-15' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 8-15/${MiB}`);
    expect(Buffer.from(await res.arrayBuffer()).length).toBe(8);
    const [bytes] = await storage
      .bucket('uploads')
      .file('files/1-MiB-chunked.bin')
      .download({ start: 0, end: 7 });
    expect(bytes.readBigUInt64BE()).toBe(0n); // the generator stamps MiB #0
    expect((await fetch(url, { headers: { range: `bytes=${MiB}-` } })).status).toBe(416);
  });

  it('makes the client throw FILE_NO_UPLOAD when the finalize response carries a corrupted checksum', async () => {
    emu.faults.add({ method: 'PUT', path: '^/upload/storage/v1/', corruptChecksum: true, count: 1 });
    const err = await storage
      .bucket('uploads')
      .upload(small.path, { destination: 'corrupt.bin', resumable: true, validation: 'crc32c' })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
    expect(err?.code).toBe('FILE_NO_UPLOAD');
    expect(err?.message).toMatch(/did not match the data from the server/);
  });

  it("resumes a chunked upload after a reset through the client's own retry, from the committed offset", async () => {
    emu.storage.uploadEvents.length = 0;
    emu.requests.clear();
    const f = await writeTestFile(join(dir, 'ten.bin'), 10 * MiB);
    emu.faults.add({
      method: 'PUT',
      path: '^/upload/storage/v1/b/uploads/o$',
      resetAfterBytes: 3 * MiB + 1000,
      count: 1,
    });
    // A fresh client: the library lowers maxRetries to 0 on its shared retryOptions after any upload
    // without a generation precondition, so an instance that did such uploads never retries again.
    const [uploaded] = await (await client(emu)).bucket('uploads').upload(f.path, {
      destination: 'retried.bin',
      chunkSize: 4 * MiB,
      validation: 'crc32c',
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    expect(uploaded.metadata).toMatchObject({ crc32c: f.crc32c, md5Hash: f.md5Hash, size: f.size });
    const events = emu.storage.uploadEvents;
    const resetAt = events.findIndex((e) => e.outcome === 'reset');
    expect(events[resetAt]).toMatchObject({ committedBefore: 0, committedAfter: 3 * MiB });
    const after = events.slice(resetAt + 1);
    expect(after[0]).toMatchObject({ outcome: 'query', contentRange: 'bytes */*' });
    // The next PUT starts at the committed offset, not at zero.
    expect(after[1]?.contentRange).toMatch(new RegExp(`^bytes ${3 * MiB}-`));
    expect(emu.requests.entries.some((r) => r.method === 'PUT' && !r.mutating)).toBe(true);
    const total = events.reduce((n, e) => n + e.bodyBytes, 0);
    expect(total).toBeLessThan(f.size + 4 * MiB); // at most the broken chunk's tail was sent twice
  }, 60_000);

  it('resumes a single-request upload from a saved session URI after a reset (status query + fast-forward)', async () => {
    emu.storage.uploadEvents.length = 0;
    const f = await writeTestFile(join(dir, 'eight.bin'), 8 * MiB);
    const file = storage.bucket('uploads').file('resumed.bin');
    const [uri] = await file.createResumableUpload();
    emu.faults.add({
      method: 'PUT',
      path: '^/upload/storage/v1/b/uploads/o$',
      resetAfterBytes: 5 * MiB + 77,
      count: 1,
    });
    // offset 0: start sending at once (without it the client first asks the session for its offset).
    await expect(
      pipeline(createReadStream(f.path), file.createWriteStream({ uri, offset: 0, validation: 'crc32c' })),
    ).rejects.toThrow();
    const status = await fetch(uri, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    expect(status.status).toBe(308);
    // The broken PUT kept what arrived, cut back to a 256 KiB multiple as Google commits.
    expect(emu.storage.uploadEvents.at(-2)).toMatchObject({ outcome: 'reset', committedAfter: 5 * MiB });
    expect(status.headers.get('range')).toBe(`bytes=0-${5 * MiB - 1}`);
    // A new stream on the same URI: the client asks the session where it stands and skips what is there.
    await pipeline(createReadStream(f.path), file.createWriteStream({ uri, validation: 'crc32c' }));
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ crc32c: f.crc32c, md5Hash: f.md5Hash, size: String(f.size) });
    const last = emu.storage.uploadEvents.at(-1);
    expect(last).toMatchObject({ outcome: 'finalized', committedBefore: 5 * MiB, bodyBytes: 3 * MiB });
  }, 60_000);
});
