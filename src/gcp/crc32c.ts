import type { IHasher } from 'hash-wasm';
// hash-wasm's index carries every algorithm's WASM (~209 KiB in each bundle); ncc does not tree-shake its
// UMD build, so take the CRC32 file alone (8 KiB). Typed by the package's lib/crc32.d.ts.
// @ts-expect-error the per-algorithm UMD files ship no declarations of their own
import crc32Umd from 'hash-wasm/dist/crc32.umd.min.js';
import { readPieces } from '../read-pieces.ts';

const { createCRC32 } = crc32Umd as typeof import('hash-wasm/dist/lib/crc32');

/** CRC-32C (Castagnoli) polynomial, reversed, as hash-wasm takes it. */
const CASTAGNOLI = 0x82f63b78;

/**
 * The storage client's validator interface (`crc32cGenerator`), backed by WASM. The client's own JS
 * CRC32C runs at ~110 MiB/s and caps every upload; WASM runs an order of magnitude faster and bundles
 * cleanly with ncc on every platform, unlike a native addon.
 */
export interface Crc32cValidator {
  update(data: Buffer): void;
  toString(): string;
  validate(value: string): boolean;
}

/**
 * Returns a synchronous generator as the storage client expects. hash-wasm hashers are created
 * asynchronously, so a pool is prepared up front; the client asks for one validator per upload stream.
 */
export async function wasmCrc32cGenerator(poolSize = 4): Promise<() => Crc32cValidator> {
  const pool: IHasher[] = [];
  for (let i = 0; i < poolSize; i++) pool.push(await createCRC32(CASTAGNOLI));
  let next = 0;
  return () => {
    const hasher = pool[next++ % pool.length] as IHasher;
    hasher.init();
    let digest: string | undefined;
    return {
      update: (data) => {
        digest = undefined;
        hasher.update(data);
      },
      toString: () => {
        digest ??= Buffer.from(hasher.digest('binary')).toString('base64');
        return digest;
      },
      validate(value) {
        return this.toString() === value;
      },
    };
  };
}

/** The base64 big-endian CRC32C of a file, as Cloud Storage reports it. */
export async function fileCrc32c(path: string, signal?: AbortSignal): Promise<string> {
  const hasher = await createCRC32(CASTAGNOLI);
  hasher.init();
  await readPieces(path, (piece) => hasher.update(piece), signal);
  return Buffer.from(hasher.digest('binary')).toString('base64');
}
