import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { MiB } from './stats.ts';

/** Fresh random bytes this far, then repeated: far beyond any compressor's window. */
export const REPEAT_PERIOD = 64 * MiB;

/**
 * `size` incompressible bytes in 16 MiB chunks: fresh random bytes for the first `fresh` bytes, then that
 * prefix repeated, which keeps a 4 GiB file from costing a minute of random generation.
 */
export function* incompressibleChunks(size: number, fresh: number): Generator<Buffer> {
  const prefix: Buffer[] = [];
  for (let written = 0, i = 0; written < size; i++) {
    const n = Math.min(16 * MiB, size - written);
    let chunk: Buffer;
    if (written < fresh) {
      chunk = randomFillSync(Buffer.allocUnsafe(n));
      prefix.push(chunk);
    } else chunk = (prefix[i % prefix.length] as Buffer).subarray(0, n);
    yield chunk;
    written += n;
  }
}

/** Writes `size` fresh random bytes: the upload files, whose figures were always taken on such bytes. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    let written = 0;
    for (const chunk of incompressibleChunks(size, size)) {
      await fh.write(chunk, 0, chunk.length, written);
      written += chunk.length;
    }
  } finally {
    await fh.close();
  }
}
