/**
 * One identity pass over a tarball in a process of its own, so GNU time can take its peak RSS from
 * outside, with its wall time: `pass-worker.mjs <variant> <file>`.
 * - `ours`: `inspectImageTarball` with SHA-256, what a publish of a prebuilt tarball runs.
 * - `stream-1mib`: the same check through `createReadStream` (a fresh 1 MiB buffer per read) and gunzip
 *   pieces of 1 MiB, the first version of the whole-tarball check.
 * - `sha256-only`: the identity pass before the whole-tarball check (`fileIdentityHash`).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { fileIdentityHash } from '../src/identity.ts';
import { inspectImageTarball } from '../src/nix/image-file.ts';

const [variant, file] = process.argv.slice(2) as [string, string];
if (variant === 'ours') await inspectImageTarball(file, { sha256: true });
else if (variant === 'sha256-only') await fileIdentityHash(file);
else if (variant === 'stream-1mib') {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createGunzip({ chunkSize: 1024 * 1024 }),
    async (source: AsyncIterable<Buffer>) => {
      // The tar walk costs no allocation; counting stands in for it here.
      for await (const chunk of source) bytes += chunk.length;
    },
  );
  hash.digest('hex');
  if (bytes === 0) throw new Error('nothing inflated');
} else throw new Error(`unknown variant ${variant}`);
