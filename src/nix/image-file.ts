import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { UserError } from '../errors.ts';
import { readAhead } from '../read-pieces.ts';
import { collectYoungGarbage } from '../young-garbage.ts';
import { type TarballCheck, TarWalker } from './tar-walk.ts';

export type { TarballCheck } from './tar-walk.ts';

const TARBALL_SUFFIX = '.raw.tar.gz';
/** How deep below the output directory to look (nixpkgs puts it at the top; some builders nest it). */
const SEARCH_DEPTH = 2;

/**
 * Finds the single `*.raw.tar.gz` in a build output. The name is globbed, never parsed: it includes
 * `google-compute` since NixOS 24.11 (docs/architecture.md, "The NixOS runner image").
 */
export async function locateImageTarball(storePath: string): Promise<string> {
  const info = await stat(storePath).catch(() => undefined);
  if (!info) throw new UserError(`The build output ${storePath} does not exist.`);
  if (info.isFile()) {
    if (storePath.endsWith(TARBALL_SUFFIX)) return storePath;
    throw new UserError(`The build output ${storePath} is a file, not a *${TARBALL_SUFFIX} image tarball.`);
  }
  const found = await findTarballs(storePath, SEARCH_DEPTH);
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length === 0) {
    throw new UserError(
      `The build output ${storePath} holds no *${TARBALL_SUFFIX} file (searched ${SEARCH_DEPTH} levels deep); the builder must produce a GCE image tarball.`,
    );
  }
  throw new UserError(
    `The build output ${storePath} holds ${found.length} *${TARBALL_SUFFIX} files (${found.join(', ')}); the builder must produce exactly one.`,
  );
}

async function findTarballs(dir: string, depth: number): Promise<string[]> {
  const found: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    const path = join(dir, entry);
    const info = await stat(path).catch(() => undefined); // follows symlinks, as nixpkgs outputs may use them
    if (!info) continue;
    if (info.isFile() && entry.endsWith(TARBALL_SUFFIX)) found.push(path);
    else if (info.isDirectory() && depth > 0) found.push(...(await findTarballs(path, depth - 1)));
  }
  return found;
}

/**
 * Size of gunzip's output pieces. Each piece is a round trip to the thread pool: at Node's default of
 * 16 KiB the pass took several times as long as at 1 MiB (bench/README.md, §2c).
 */
const INFLATE_CHUNK = 1024 * 1024;
/**
 * gunzip makes a fresh buffer for every output piece; a minor collection after each this many inflated
 * bytes frees them, where V8 on its own waits for about 64 MB of them (bench/README.md, §2).
 */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

export interface ImageTarballPass {
  check: TarballCheck;
  /** SHA-256 of the compressed file (hex), when asked for. */
  sha256?: string;
}

/**
 * Checks the whole image tarball against what GCE accepts: gzip, then a GNU or
 * old-GNU tar whose only member is `disk.raw` (regular or GNU-sparse, after any GNU long-name entry),
 * every header checksum right, the member's data complete, and the two zero end blocks with nothing but
 * zeros after them. One read of the file; `sha256` hashes the same bytes on the way, so the identity of
 * a prebuilt tarball costs no second pass. A wrong first header fails at once, without reading on.
 */
export async function inspectImageTarball(
  path: string,
  opts: { sha256?: boolean; signal?: AbortSignal } = {},
): Promise<ImageTarballPass> {
  const magic = await readFirstBytes(path, 2);
  if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
    throw new UserError(
      `The image tarball ${path} is not gzip-compressed; GCE needs a gzip'd GNU tar holding disk.raw.`,
    );
  }
  const hash = opts.sha256 ? createHash('sha256') : undefined;
  const walker = new TarWalker(path);
  try {
    await readThroughGunzip(path, hash, walker, opts.signal);
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as Error).name === 'AbortError') throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_'))
      throw new UserError(
        `The image tarball ${path} is not valid gzip data or is truncated (${(err as Error).message}).`,
      );
    throw new UserError(`Cannot read the image tarball ${path}: ${(err as Error).message}.`);
  }
  const check = walker.end();
  return hash ? { check, sha256: hash.digest('hex') } : { check };
}

/**
 * The one read: the file goes through readAhead's reused buffers (a fresh buffer per read would leave
 * garbage that the GC collects late, which showed as tens of MB of peak RSS), each hashed and handed to
 * gunzip; a buffer is read into again only once zlib has consumed it. zlib inflates on the thread pool
 * while the next buffer is read and hashed here.
 */
async function readThroughGunzip(
  path: string,
  hash: Hash | undefined,
  walker: TarWalker,
  signal: AbortSignal | undefined,
): Promise<void> {
  const file = await open(path, 'r');
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
    gunzip.destroy();
  };
  let inflatedSinceCollect = 0;
  gunzip.on('data', (chunk: Buffer) => {
    inflatedSinceCollect += chunk.length;
    if (inflatedSinceCollect >= COLLECT_EVERY_BYTES) {
      inflatedSinceCollect = 0;
      collectYoungGarbage();
    }
    if (failure === undefined) {
      try {
        walker.push(chunk);
      } catch (err) {
        fail(err);
      }
    }
  });
  gunzip.on('error', fail);
  const closed = new Promise<void>((resolve) => gunzip.once('close', resolve));
  try {
    await readAhead(
      file,
      { from: 0 },
      (piece) => {
        hash?.update(piece);
        // A gunzip that failed and closed never calls back: the close frees the buffer then.
        return Promise.race([new Promise((resolve) => gunzip.write(piece, resolve)), closed]);
      },
      () => {
        if (failure !== undefined) return true;
        signal?.throwIfAborted();
        return false;
      },
    );
    if (failure === undefined) gunzip.end();
    await closed;
  } finally {
    gunzip.destroy();
    await file.close();
  }
  if (failure !== undefined) throw failure;
}

/** The check alone (see inspectImageTarball). */
export async function verifyImageTarball(path: string, signal?: AbortSignal): Promise<TarballCheck> {
  return (await inspectImageTarball(path, { signal })).check;
}

async function readFirstBytes(path: string, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of createReadStream(path, { start: 0, end: n - 1 })) chunks.push(chunk as Buffer);
  } catch (err) {
    throw new UserError(`Cannot read the image tarball ${path}: ${(err as Error).message}.`);
  }
  return Buffer.concat(chunks);
}
