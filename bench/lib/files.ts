import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { MiB } from './stats.ts';

/**
 * Writes `size` incompressible bytes. Fresh random bytes for every block up to `fresh` bytes, then that
 * random prefix repeated: a 64 MiB repeat period is far beyond any compressor's window, and it keeps a
 * 4 GiB file from costing a minute of random generation.
 */
export async function writeRandomFile(path: string, size: number, fresh = size): Promise<void> {
  const block = Buffer.allocUnsafe(16 * MiB);
  const prefix: Buffer[] = [];
  const fh = await open(path, 'w');
  try {
    for (let written = 0, i = 0; written < size; i++) {
      let chunk: Buffer;
      if (written < fresh) {
        chunk = randomFillSync(Buffer.allocUnsafe(Math.min(block.length, size - written)));
        if (prefix.length * block.length < 64 * MiB) prefix.push(chunk);
      } else {
        chunk = (prefix[i % prefix.length] as Buffer).subarray(0, size - written);
      }
      await fh.write(chunk, 0, chunk.length, written);
      written += chunk.length;
    }
  } finally {
    await fh.close();
  }
}
