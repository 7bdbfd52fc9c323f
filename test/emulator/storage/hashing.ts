import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { crc32c } from '@node-rs/crc32';

/** Google's encodings: CRC32C as base64 of the big-endian uint32, MD5 as base64 of the digest. */
export function crc32cBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

/** Running CRC32C + MD5 over a byte sequence. */
export class RunningHash {
  constructor(
    public crc = 0,
    public md5: Hash = createHash('md5'),
    public length = 0,
  ) {}

  update(chunk: Buffer): void {
    this.crc = crc32c(chunk, this.crc);
    this.md5.update(chunk);
    this.length += chunk.length;
  }

  copy(): RunningHash {
    return new RunningHash(this.crc, this.md5.copy(), this.length);
  }

  /** Base64 digests without consuming the running state. */
  digests(): { crc32c: string; md5Hash: string } {
    return { crc32c: crc32cBase64(this.crc), md5Hash: this.md5.copy().digest('base64') };
  }
}

/** Hashes the first `length` bytes of a file, streaming (used after a restart, when MD5 state is gone). */
export async function hashFile(path: string, length: number): Promise<RunningHash> {
  const h = new RunningHash();
  if (length === 0) return h;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
  }
  return h;
}

/** Parses `X-Goog-Hash: crc32c=...,md5=...` (one header or several). */
export function parseGoogHash(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const pair of value.split(',')) {
      const i = pair.indexOf('=');
      if (i < 0) continue;
      const key = pair.slice(0, i).trim().toLowerCase();
      const v = pair.slice(i + 1).trim();
      if (key === 'crc32c') out.crc32c = v;
      else if (key === 'md5') out.md5 = v;
    }
  }
  return out;
}
