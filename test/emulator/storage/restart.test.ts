import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../index.ts';
import { crc32cBase64 } from './hashing.ts';

const Q = 256 * 1024;

describe('Cloud Storage emulator restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-restart-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps buckets, objects and an unfinished resumable session across a restart with the same data dir', async () => {
    const stored = randomBytes(100_000);
    const data = randomBytes(3 * Q + 123);
    const first = await startEmulator({ dataDir: dir });
    first.storage.createBucket('keep', 'p');
    const up = await fetch(`${first.url}/upload/storage/v1/b/keep/o?uploadType=media&name=a%2Fstored.bin`, {
      method: 'POST',
      body: stored,
    });
    expect(up.status).toBe(200);
    const init = await fetch(
      `${first.url}/upload/storage/v1/b/keep/o?uploadType=resumable&name=pending.bin`,
      { method: 'POST' },
    );
    const uri = new URL(init.headers.get('location') as string);
    const chunk = await fetch(uri, {
      method: 'PUT',
      headers: { 'content-range': `bytes 0-${2 * Q - 1}/*` },
      body: data.subarray(0, 2 * Q),
    });
    expect(chunk.status).toBe(308);
    await first.stop();

    // Same directory, new process state (and a new port): the session URI's path and query still work.
    const second = await startEmulator({ dataDir: dir });
    try {
      const got = await fetch(`${second.url}/storage/v1/b/keep/o/a%2Fstored.bin?alt=media`);
      expect(Buffer.from(await got.arrayBuffer()).equals(stored)).toBe(true);
      expect(second.storage.getObject('keep', 'a/stored.bin')).toMatchObject({
        size: stored.length,
        crc32c: crc32cBase64(crc32c(stored)),
      });
      const session = `${second.url}${uri.pathname}${uri.search}`;
      const status = await fetch(session, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
      expect(status.status).toBe(308);
      expect(status.headers.get('range')).toBe(`bytes=0-${2 * Q - 1}`);
      const rest = await fetch(session, {
        method: 'PUT',
        headers: { 'content-range': `bytes ${2 * Q}-${data.length - 1}/${data.length}` },
        body: data.subarray(2 * Q),
      });
      expect(rest.status).toBe(200);
      // MD5 state does not survive a restart; it is rebuilt from the session's part file.
      expect(await rest.json()).toMatchObject({
        size: String(data.length),
        crc32c: crc32cBase64(crc32c(data)),
        md5Hash: createHash('md5').update(data).digest('base64'),
      });
    } finally {
      await second.stop();
    }
  });
});
