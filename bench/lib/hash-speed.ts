/**
 * CRC32C and MD5 throughput on one core: the library's JS CRC32C, hash-wasm (ours), @node-rs/crc32
 * (the emulator's) and Node's MD5 (the emulator also computes MD5 for every object, as Google does).
 * The emulator's ceiling is bounded by its native CRC32C plus MD5 per byte.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { wasmCrc32cGenerator } from '../../src/gcp/crc32c.ts';
import { MiB, median, mibps } from './stats.ts';

export interface HashSpeeds {
  library_js_crc32c: number;
  wasm_crc32c: number;
  native_crc32c: number;
  md5: number;
}

export async function hashSpeeds(runs = 3): Promise<HashSpeeds> {
  // 1 MiB pieces, as a stream delivers them; 128 MiB in all per run (the JS one gets 32 MiB: it is slow).
  const piece = randomFillSync(Buffer.allocUnsafe(MiB));
  const wasm = await wasmCrc32cGenerator(1);
  const measure = (total: number, fn: (n: number) => void) =>
    median(
      Array.from({ length: runs }, () => {
        const started = performance.now();
        fn(total / MiB);
        return mibps(total, (performance.now() - started) / 1000);
      }),
    );
  return {
    library_js_crc32c: measure(32 * MiB, (n) => {
      const c = new CRC32C();
      for (let i = 0; i < n; i++) c.update(piece);
      c.toString();
    }),
    wasm_crc32c: measure(128 * MiB, (n) => {
      const v = wasm();
      for (let i = 0; i < n; i++) v.update(piece);
      v.toString();
    }),
    native_crc32c: measure(128 * MiB, (n) => {
      let crc = 0;
      for (let i = 0; i < n; i++) crc = nativeCrc32c(piece, crc);
    }),
    md5: measure(128 * MiB, (n) => {
      const h = createHash('md5');
      for (let i = 0; i < n; i++) h.update(piece);
      h.digest();
    }),
  };
}
