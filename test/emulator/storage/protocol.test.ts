import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { crc32c } from '@node-rs/crc32';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../index.ts';
import { crc32cBase64 } from './hashing.ts';

const Q = 256 * 1024;
const b64crc = (b: Buffer) => crc32cBase64(crc32c(b));
const b64md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

interface GoogleError {
  error: { code: number; message: string; errors: { reason: string }[] };
}

/** Raw wire-protocol checks: what Google accepts and rejects, independent of any client library. */
describe('Cloud Storage emulator wire protocol', () => {
  let dir: string;
  let emu: Emulator;
  const up = (q: string) => `${emu.url}/upload/storage/v1/b/wire/o?${q}`;
  const obj = (name: string, q = '') =>
    `${emu.url}/storage/v1/b/wire/o/${encodeURIComponent(name)}${q ? `?${q}` : ''}`;

  async function startSession(name: string, body: object = {}, query = ''): Promise<string> {
    const r = await fetch(up(`uploadType=resumable&name=${encodeURIComponent(name)}${query}`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(200);
    const loc = r.headers.get('location');
    expect(loc).toMatch(/\/upload\/storage\/v1\/b\/wire\/o\?uploadType=resumable&.*upload_id=/);
    return loc as string;
  }
  const put = (uri: string, range: string | undefined, body?: Buffer, headers: Record<string, string> = {}) =>
    fetch(uri, {
      method: 'PUT',
      headers: { ...(range ? { 'content-range': range } : {}), ...headers },
      ...(body ? { body } : {}),
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emu-wire-'));
    emu = await startEmulator({ dataDir: dir, resumableSessionTtlMs: 60_000 });
    emu.storage.createBucket('wire', 'p');
  });
  afterAll(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks every Content-Range form of a resumable session', async () => {
    const data = randomBytes(3 * Q + 1000);
    const uri = await startSession('forms.bin');
    // Nothing committed: 308 without a Range header.
    let r = await put(uri, 'bytes */*');
    expect(r.status).toBe(308);
    expect(r.headers.get('range')).toBeNull();
    // A non-final chunk of a whole 256 KiB.
    r = await put(uri, `bytes 0-${Q - 1}/*`, data.subarray(0, Q));
    expect(r.status).toBe(308);
    expect(r.headers.get('range')).toBe(`bytes=0-${Q - 1}`);
    // A non-final chunk that is not a 256 KiB multiple: only whole units are committed.
    r = await put(uri, `bytes ${Q}-${2 * Q + 99}/*`, data.subarray(Q, 2 * Q + 100));
    expect(r.status).toBe(308);
    expect(r.headers.get('range')).toBe(`bytes=0-${2 * Q - 1}`);
    // Re-sending bytes the session already has is fine: they are skipped.
    r = await put(uri, `bytes ${Q}-${3 * Q - 1}/*`, data.subarray(Q, 3 * Q));
    expect(r.headers.get('range')).toBe(`bytes=0-${3 * Q - 1}`);
    r = await put(uri, `bytes */${data.length}`);
    expect(r.status).toBe(308);
    // The final chunk with the total.
    r = await put(uri, `bytes ${3 * Q}-${data.length - 1}/${data.length}`, data.subarray(3 * Q));
    expect(r.status).toBe(200);
    const o = (await r.json()) as Record<string, unknown>;
    expect(o).toMatchObject({
      kind: 'storage#object',
      name: 'forms.bin',
      size: String(data.length),
      crc32c: b64crc(data),
      md5Hash: b64md5(data),
    });
    expect(o.generation).toMatch(/^\d+$/);
    expect(o.metageneration).toBe('1');
    // A finished session answers status queries with the object.
    r = await put(uri, 'bytes */*');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { generation: string }).generation).toBe(o.generation);
  });

  it('finalizes a streaming "bytes a-*/*" request and an empty "bytes */N" final request', async () => {
    const data = randomBytes(Q + 5);
    const uri = await startSession('stream.bin');
    const r1 = await put(uri, 'bytes 0-*/*', data);
    expect(r1.status).toBe(200);
    expect(await r1.json()).toMatchObject({ size: String(data.length), crc32c: b64crc(data) });

    const uri2 = await startSession('empty-final.bin');
    expect((await put(uri2, `bytes 0-${Q - 1}/*`, data.subarray(0, Q))).status).toBe(308);
    const r2 = await put(uri2, `bytes */${Q}`);
    expect(r2.status).toBe(200);
    expect(await r2.json()).toMatchObject({ size: String(Q), crc32c: b64crc(data.subarray(0, Q)) });
  });

  it('rejects malformed and impossible Content-Range headers with 400', async () => {
    const uri = await startSession('bad.bin');
    for (const range of ['bytes=0-9/10', 'bytes 5-2/10', 'bytes 0-10/10', 'items 0-1/2']) {
      const r = await put(uri, range, Buffer.alloc(1));
      expect(r.status, range).toBe(400);
      expect(((await r.json()) as GoogleError).error.errors[0]?.reason).toBe('invalid');
    }
    // Starting past the committed offset would leave a hole.
    expect((await put(uri, `bytes ${Q}-${2 * Q - 1}/*`, Buffer.alloc(Q))).status).toBe(400);
    // The body must be as long as the range says.
    expect((await put(uri, 'bytes 0-99/*', Buffer.alloc(50))).status).toBe(400);
  });

  it('answers 404 for an unknown session and 410 once a session has expired', async () => {
    expect((await put(up('uploadType=resumable&upload_id=nope'), 'bytes */*')).status).toBe(404);
    const short = await startEmulator({ dataDir: join(dir, 'ttl'), resumableSessionTtlMs: 50 });
    try {
      short.storage.createBucket('wire', 'p');
      const r = await fetch(`${short.url}/upload/storage/v1/b/wire/o?uploadType=resumable&name=x`, {
        method: 'POST',
      });
      const uri = r.headers.get('location') as string;
      await new Promise((res) => setTimeout(res, 80));
      const gone = await put(uri, 'bytes 0-*/*', Buffer.alloc(10));
      expect(gone.status).toBe(410);
      expect(((await gone.json()) as GoogleError).error.code).toBe(410);
    } finally {
      await short.stop();
    }
  });

  it('verifies client checksums (X-Goog-Hash, metadata crc32c/md5Hash) and rejects mismatches with 400', async () => {
    const data = randomBytes(1000);
    const bad = b64crc(Buffer.from('other'));
    let uri = await startSession('hash.bin');
    let r = await put(uri, 'bytes 0-*/*', data, { 'x-goog-hash': `crc32c=${bad},md5=${b64md5(data)}` });
    expect(r.status).toBe(400);
    expect(((await r.json()) as GoogleError).error.message).toMatch(/CRC32C/);
    uri = await startSession('hash.bin', { md5Hash: b64md5(Buffer.from('other')) });
    r = await put(uri, 'bytes 0-*/*', data);
    expect(r.status).toBe(400);
    uri = await startSession('hash.bin', { crc32c: b64crc(data) });
    r = await put(uri, 'bytes 0-*/*', data, { 'x-goog-hash': `crc32c=${b64crc(data)},md5=${b64md5(data)}` });
    expect(r.status).toBe(200);
  });

  it('enforces generation and metageneration preconditions with 412', async () => {
    const storage = new Storage({ apiEndpoint: emu.url, projectId: 'p' });
    const file = storage.bucket('wire').file('pre.txt');
    await file.save('v1', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    await expect(
      file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({ code: 412 });
    const [meta] = await file.getMetadata();
    const gen = String(meta.generation);
    // Resumable: the precondition from the init request is applied at finalize.
    const uri = await startSession('pre.txt', {}, '&ifGenerationMatch=0');
    const r = await put(uri, 'bytes 0-*/*', Buffer.from('v3'));
    expect(r.status).toBe(412);
    const body = (await r.json()) as GoogleError;
    expect(body.error).toMatchObject({
      code: 412,
      message: 'At least one of the pre-conditions you specified did not hold.',
    });
    expect(body.error.errors[0]?.reason).toBe('conditionNotMet');
    expect((await fetch(obj('pre.txt', `ifGenerationNotMatch=${gen}`))).status).toBe(412);
    expect((await fetch(obj('pre.txt', 'ifMetagenerationMatch=7'), { method: 'DELETE' })).status).toBe(412);
    expect((await fetch(obj('pre.txt', `ifGenerationMatch=${gen}`), { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(obj('pre.txt'))).status).toBe(404);
  });

  it("answers 404 with Google's error shape for unknown buckets and objects", async () => {
    const r = await fetch(obj('missing'));
    expect(r.status).toBe(404);
    expect(((await r.json()) as GoogleError).error.errors[0]?.reason).toBe('notFound');
    expect((await fetch(`${emu.url}/storage/v1/b/nobucket/o`)).status).toBe(404);
    expect(
      (
        await fetch(`${emu.url}/upload/storage/v1/b/nobucket/o?uploadType=media&name=x`, {
          method: 'POST',
          body: 'x',
        })
      ).status,
    ).toBe(404);
  });

  it('composes objects: CRC32C of the concatenation, componentCount, no MD5', async () => {
    const a = randomBytes(1000);
    const b = randomBytes(3000);
    for (const [name, data] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const r = await fetch(up(`uploadType=media&name=${name}`), {
        method: 'POST',
        body: data,
        headers: { 'content-type': 'application/x-test' },
      });
      expect(r.status).toBe(200);
    }
    const r = await fetch(`${obj('ab')}/compose`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sourceObjects: [{ name: 'a' }, { name: 'b' }],
        destination: { contentType: 'text/plain' },
      }),
    });
    expect(r.status).toBe(200);
    const o = (await r.json()) as Record<string, unknown>;
    expect(o).toMatchObject({
      size: '4000',
      crc32c: b64crc(Buffer.concat([a, b])),
      componentCount: 2,
      contentType: 'text/plain',
    });
    expect(o.md5Hash).toBeUndefined();
    const media = Buffer.from(await (await fetch(obj('ab', 'alt=media'))).arrayBuffer());
    expect(media.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('composes 32 sources, the most Google allows, with no Node warning (gcloud composes about 20)', async () => {
    const parts = Array.from({ length: 32 }, (_, i) => randomBytes(1000 + i));
    for (const [i, data] of parts.entries()) {
      const r = await fetch(up(`uploadType=media&name=part-${i}`), { method: 'POST', body: data });
      expect(r.status).toBe(200);
    }
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const r = await fetch(`${obj('all-parts')}/compose`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sourceObjects: parts.map((_, i) => ({ name: `part-${i}` })) }),
      });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({
        crc32c: b64crc(Buffer.concat(parts)),
        componentCount: 32,
      });
      // A warning is emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('reads multipart uploads with CRLF and with bare-LF framing (as gcloud sends)', async () => {
    for (const eol of ['\r\n', '\n']) {
      const media = Buffer.concat([randomBytes(200_000), Buffer.from(`${eol}--not-the-boundary`)]);
      const head = Buffer.from(
        `--BND${eol}Content-Type: application/json${eol}${eol}{"name":"mp${eol.length}","contentType":"application/x-mp","metadata":{"k":"v"}}${eol}--BND${eol}Content-Type: application/octet-stream${eol}${eol}`,
      );
      const r = await fetch(up('uploadType=multipart'), {
        method: 'POST',
        headers: { 'content-type': "multipart/related; boundary='BND'" },
        body: Buffer.concat([head, media, Buffer.from(`${eol}--BND--${eol}`)]),
      });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({
        name: `mp${eol.length}`,
        size: String(media.length),
        crc32c: b64crc(media),
        contentType: 'application/x-mp',
        metadata: { k: 'v' },
      });
    }
  });

  it('stores gzip content-encoding as is and transcodes only for clients that do not accept gzip', async () => {
    const plain = Buffer.from('hello gzip '.repeat(1000));
    const gz = gzipSync(plain);
    const uri = await startSession('page.txt', { contentType: 'text/plain', contentEncoding: 'gzip' });
    const r = await put(uri, 'bytes 0-*/*', gz);
    expect(await r.json()).toMatchObject({
      contentEncoding: 'gzip',
      size: String(gz.length),
      crc32c: b64crc(gz),
    });
    expect(emu.storage.getObject('wire', 'page.txt')).toMatchObject({
      contentEncoding: 'gzip',
      size: gz.length,
    });
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      get(obj('page.txt', 'alt=media'), { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
      }).on('error', reject);
    });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.headers['x-goog-stored-content-encoding']).toBe('gzip');
    expect(raw.body.equals(gz)).toBe(true);
    const transcoded = await new Promise<Buffer>((resolve, reject) => {
      get(obj('page.txt', 'alt=media'), { headers: { 'accept-encoding': 'identity' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve(Buffer.concat(parts)));
      }).on('error', reject);
    });
    expect(transcoded.equals(plain)).toBe(true);
    const stored: Buffer[] = [];
    for await (const chunk of emu.storage.openObject('wire', 'page.txt')) stored.push(chunk as Buffer);
    expect(Buffer.concat(stored).equals(gz)).toBe(true);
  });
});
