import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { crc32c } from '@node-rs/crc32';
import { crc32cBase64 } from './hashing.ts';

const MiB = 1024 * 1024;

export interface TestFile {
  path: string;
  size: number;
  crc32c: string;
  md5Hash: string;
}

/**
 * Writes `size` bytes fast: one random MiB repeated, each copy stamped with its index so no two MiB
 * are equal (a misplaced chunk changes the checksums). Returns Google-style base64 checksums.
 */
export async function writeTestFile(path: string, size: number): Promise<TestFile> {
  const block = randomBytes(MiB);
  const out = createWriteStream(path, { highWaterMark: 4 * MiB });
  const md5 = createHash('md5');
  let crc = 0;
  for (let off = 0, i = 0; off < size; off += MiB, i++) {
    const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - off)));
    if (chunk.length >= 8) chunk.writeBigUInt64BE(BigInt(i));
    crc = crc32c(chunk, crc);
    md5.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return { path, size, crc32c: crc32cBase64(crc), md5Hash: md5.digest('base64') };
}

/** Base64 MD5 and CRC32C of a stream, consumed chunk by chunk. */
export async function hashStream(
  stream: NodeJS.ReadableStream,
): Promise<{ crc32c: string; md5Hash: string; size: number }> {
  const md5 = createHash('md5');
  let crc = 0;
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    crc = crc32c(b, crc);
    md5.update(b);
    size += b.length;
  }
  return { crc32c: crc32cBase64(crc), md5Hash: md5.digest('base64'), size };
}

export const hashFileOnDisk = (path: string) =>
  hashStream(createReadStream(path, { highWaterMark: 4 * MiB }));
