import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { UserError } from '../errors.ts';

/** What the first tar header of an image tarball says. */
export interface TarballCheck {
  member: string;
  format: 'gnu' | 'oldgnu';
  type: 'regular' | 'gnu-sparse';
  /** Size of disk.raw in bytes (the real size for a GNU-sparse member). */
  size: number;
}

const TARBALL_SUFFIX = '.raw.tar.gz';
/** How deep below the output directory to look (nixpkgs puts it at the top; some builders nest it). */
const SEARCH_DEPTH = 2;

/**
 * Finds the single `*.raw.tar.gz` in a build output. The name is globbed, never parsed: it includes
 * `google-compute` since NixOS 24.11 (FACTS.md, "Image modules").
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

const BLOCK = 512;
/** GNU long names are short in practice; a huge one means a corrupt or hostile file. */
const MAX_LONG_NAME = 64 * 1024;
const GNU_MAGIC = 'ustar  \0';
/** The one pass over the file reads into this many reused buffers of this size. */
const READ_CHUNK = 1024 * 1024;
const READ_BUFFERS = 4;
/** Size of gunzip's output pieces: Node's default. 64 KiB and up left garbage for the GC to find late (about 40 MB more peak RSS). */
const INFLATE_CHUNK = 16 * 1024;

export interface ImageTarballPass {
  check: TarballCheck;
  /** SHA-256 of the compressed file (hex), when asked for. */
  sha256?: string;
}

/**
 * Checks the whole image tarball against what GCE accepts (FACTS.md, "Tarball"): gzip, then a GNU or
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
 * The one read: the file goes through READ_BUFFERS reused buffers (a fresh buffer per read would leave
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
  gunzip.on('data', (chunk: Buffer) => {
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
  const buffers = Array.from({ length: READ_BUFFERS }, () => Buffer.allocUnsafe(READ_CHUNK));
  const consumed: Promise<unknown>[] = buffers.map(() => Promise.resolve());
  try {
    for (let i = 0, position = 0; ; i++) {
      const slot = i % READ_BUFFERS;
      await Promise.race([consumed[slot], closed]);
      if (failure !== undefined) break;
      signal?.throwIfAborted();
      const buffer = buffers[slot] as Buffer;
      const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, position);
      if (bytesRead === 0) break;
      const piece = buffer.subarray(0, bytesRead);
      hash?.update(piece);
      position += bytesRead;
      consumed[slot] = new Promise((resolve) => gunzip.write(piece, resolve));
    }
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

type WalkState =
  | { kind: 'header' }
  | { kind: 'long-name'; typeflag: string; left: number }
  | { kind: 'sparse-extension' }
  | { kind: 'data'; left: number }
  | { kind: 'trailer' };

/**
 * A streaming walk over the decompressed tar: it is fed the bytes in pieces and keeps only one 512-byte
 * block (or a long name) at a time. Member data is skipped by counting, never copied.
 */
class TarWalker {
  private state: WalkState = { kind: 'header' };
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  private longName: Buffer[] = [];
  private pendingName: string | undefined;
  private member: TarballCheck | undefined;
  /** For a GNU-sparse member: the sum of its map's chunk sizes, which must equal its stored size. */
  private sparseStored = 0;
  private storedSize = 0;
  private zeroBlocks = 0;

  constructor(private readonly path: string) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const state = this.state;
      if (state.kind === 'data') {
        const take = Math.min(state.left, chunk.length - at);
        state.left -= take;
        at += take;
        if (state.left === 0) this.state = { kind: 'trailer' };
        continue;
      }
      const take = Math.min(BLOCK - this.filled, chunk.length - at);
      chunk.copy(this.block, this.filled, at, at + take);
      this.filled += take;
      at += take;
      if (this.filled < BLOCK) return;
      this.filled = 0;
      this.onBlock(this.block);
    }
  }

  /** Called when the stream ended: the archive must be complete. */
  end(): TarballCheck {
    const truncated = (what: string) =>
      new UserError(`The image tarball ${this.path} is truncated (${what}); rebuild it or copy it again.`);
    if (this.filled !== 0) throw truncated('it ends inside a 512-byte tar block');
    switch (this.state.kind) {
      case 'header':
        if (this.member === undefined && this.pendingName === undefined)
          throw new UserError(
            `The image tarball ${this.path} holds no tar member; GCE needs one member named disk.raw.`,
          );
        throw truncated('it ends after a GNU long-name entry');
      case 'long-name':
        throw truncated('it ends inside a GNU long-name entry');
      case 'sparse-extension':
        throw truncated('it ends inside the sparse map of disk.raw');
      case 'data':
        throw truncated(`${this.state.left} bytes of disk.raw are missing`);
      case 'trailer':
        if (this.zeroBlocks < 2) throw truncated('the two zero blocks that end a tar archive are missing');
        return this.member as TarballCheck;
    }
  }

  private onBlock(block: Buffer): void {
    const state = this.state;
    switch (state.kind) {
      case 'trailer':
        if (!isZero(block)) throw this.secondMember(block);
        this.zeroBlocks++;
        return;
      case 'long-name':
        this.longName.push(Buffer.from(block.subarray(0, Math.min(BLOCK, state.left))));
        state.left -= Math.min(BLOCK, state.left);
        if (state.left === 0) {
          if (state.typeflag === 'L') this.pendingName = cString(Buffer.concat(this.longName));
          this.longName = [];
          this.state = { kind: 'header' };
        }
        return;
      case 'sparse-extension':
        for (let i = 0; i < 21; i++) this.sparseStored += readNumber(block, i * 24 + 12, 12);
        if (block[504] === 0) this.startData();
        return;
      case 'header':
        this.onHeader(block);
        return;
      case 'data':
        return; // push() skips data without calling here
    }
  }

  private onHeader(header: Buffer): void {
    const path = this.path;
    if (isZero(header)) {
      if (this.pendingName !== undefined)
        throw new UserError(`The image tarball ${path} is truncated (a GNU long name without its member).`);
      throw new UserError(
        `The image tarball ${path} holds no tar member; GCE needs one member named disk.raw.`,
      );
    }
    checkHeaderChecksum(path, header);
    const magic = header.subarray(257, 265).toString('latin1');
    if (magic.startsWith('ustar\0')) {
      throw new UserError(
        `The image tarball ${path} is a POSIX/PAX tar, which GCE refuses ("Supported formats are: GNU and OLDGNU"); create it with tar --format=gnu.`,
      );
    }
    if (magic !== GNU_MAGIC) {
      throw new UserError(
        `The image tarball ${path} is not a GNU tar (no "ustar  " magic), which GCE refuses ("Supported formats are: GNU and OLDGNU"); create it with tar --format=gnu.`,
      );
    }
    const typeflag = String.fromCharCode(header[156] ?? 0);
    if (typeflag === 'L' || typeflag === 'K') {
      // A GNU long-name (or long-link) entry: its data blocks hold the name of the next member.
      const size = readNumber(header, 124, 12);
      if (size > MAX_LONG_NAME) {
        throw new UserError(
          `The image tarball ${path} has a ${size}-byte GNU long name, which is not a disk image.`,
        );
      }
      this.state = size === 0 ? { kind: 'header' } : { kind: 'long-name', typeflag, left: size };
      return;
    }
    const member = this.pendingName ?? cString(header.subarray(0, 100));
    this.pendingName = undefined;
    if (member !== 'disk.raw') {
      throw new UserError(
        `The image tarball ${path} holds "${member}" where GCE needs a member named exactly disk.raw (the NixOS 24.11 image module briefly wrote other names); fix or update the image builder.`,
      );
    }
    let type: TarballCheck['type'];
    if (typeflag === '0' || typeflag === '\0') type = 'regular';
    else if (typeflag === 'S') type = 'gnu-sparse';
    else {
      throw new UserError(
        `The image tarball ${path} stores disk.raw as tar type '${typeflag}' (${describeType(typeflag)}); GCE needs a regular or GNU-sparse file.`,
      );
    }
    // GNU tar sets the file-type bits in the mode field only in the old-GNU format (tar's list.c).
    const format = readNumber(header, 100, 8) > 0o7777 ? 'oldgnu' : 'gnu';
    // For a GNU-sparse member the size field is what the archive stores (the map's chunks); the real
    // size of the disk is in the old-GNU header's realsize field.
    this.storedSize = readNumber(header, 124, 12);
    const size = type === 'gnu-sparse' ? readNumber(header, 483, 12) : this.storedSize;
    this.member = { member, format, type, size };
    if (type === 'gnu-sparse') {
      for (let i = 0; i < 4; i++) this.sparseStored += readNumber(header, 386 + i * 24 + 12, 12);
      if (header[482] !== 0) {
        this.state = { kind: 'sparse-extension' };
        return;
      }
    }
    this.startData();
  }

  private startData(): void {
    if (this.member?.type === 'gnu-sparse' && this.sparseStored !== this.storedSize) {
      throw new UserError(
        `The image tarball ${this.path} has a corrupt sparse map for disk.raw (its chunks add up to ${this.sparseStored} bytes, the header says ${this.storedSize}).`,
      );
    }
    const padded = Math.ceil(this.storedSize / BLOCK) * BLOCK;
    this.state = padded === 0 ? { kind: 'trailer' } : { kind: 'data', left: padded };
  }

  /** A non-zero block after disk.raw: a second member (named when its header is one), or garbage. */
  private secondMember(block: Buffer): UserError {
    const looksLikeHeader = headerChecksumOk(block);
    const what = looksLikeHeader
      ? `a second member "${cString(block.subarray(0, 100))}"`
      : this.zeroBlocks === 0
        ? 'data after disk.raw that is not a tar header (a corrupt header, or disk.raw longer than its header says)'
        : 'data after the end of the archive';
    return new UserError(
      `The image tarball ${this.path} holds ${what}; GCE needs disk.raw as the only member. Rebuild the tarball with disk.raw alone.`,
    );
  }
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
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

function checkHeaderChecksum(path: string, header: Buffer): void {
  if (!headerChecksumOk(header))
    throw new UserError(`The image tarball ${path} has a corrupt tar header (checksum mismatch).`);
}

/** The header checksum, summed over unsigned bytes (or signed, as some old tars did) with the field as spaces. */
function headerChecksumOk(header: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const stored = readNumber(header, 148, 8);
  return stored === unsigned || stored === signed;
}

/** A tar numeric field: NUL/space-terminated octal, or GNU base-256 when the high bit is set. */
function readNumber(buf: Buffer, offset: number, length: number): number {
  const field = buf.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = field
    .toString('latin1')
    .replace(/^ +/, '')
    .replace(/[\0 ].*$/s, '');
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

function describeType(flag: string): string {
  const names: Record<string, string> = {
    '1': 'hard link',
    '2': 'symlink',
    '3': 'character device',
    '4': 'block device',
    '5': 'directory',
    '6': 'FIFO',
    '7': 'contiguous file',
    x: 'PAX extended header',
    g: 'PAX global header',
  };
  return names[flag] ?? 'not a regular file';
}
