import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
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

const BLOCK = 512;
/** GNU long names are short in practice; a huge one means a corrupt or hostile file. */
const MAX_LONG_NAME = 64 * 1024;
const GNU_MAGIC = 'ustar  \0';

/**
 * Checks the first tar header of an image tarball against what GCE accepts (docs/architecture.md, "Compute Engine images"):
 * member `disk.raw`, GNU or old-GNU format, regular or GNU-sparse. Reads only the first header
 * blocks through a streaming gunzip, never the whole disk.
 */
export async function verifyImageTarball(path: string): Promise<TarballCheck> {
  const bytes = await readTarHead(path);
  let offset = 0;
  let longName: string | undefined;
  for (;;) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.length < BLOCK || header.every((b) => b === 0)) {
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
      const data = bytes.subarray(offset + BLOCK, offset + BLOCK + size);
      if (typeflag === 'L') longName = cString(data);
      offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      continue;
    }
    const member = longName ?? cString(header.subarray(0, 100));
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
    const size = type === 'gnu-sparse' ? readNumber(header, 483, 12) : readNumber(header, 124, 12);
    return { member, format, type, size };
  }
}

/** Reads the decompressed head of the file: enough for a long-name entry plus one header. */
async function readTarHead(path: string): Promise<Buffer> {
  const want = BLOCK * 2 + MAX_LONG_NAME + BLOCK;
  const magic = await readFirstBytes(path, 2);
  if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
    throw new UserError(
      `The image tarball ${path} is not gzip-compressed; GCE needs a gzip'd GNU tar holding disk.raw.`,
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const file = createReadStream(path);
    const gunzip = createGunzip();
    const finish = () => {
      file.destroy();
      gunzip.destroy();
      resolve(Buffer.concat(chunks, length));
    };
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      // Stop as soon as the first header (and any long name it announces) is in hand.
      if (length >= want || headerComplete(Buffer.concat(chunks, length))) finish();
    });
    gunzip.on('end', finish);
    gunzip.on('error', (err) => {
      file.destroy();
      reject(new UserError(`The image tarball ${path} is not valid gzip data (${err.message}).`));
    });
    file.on('error', (err) =>
      reject(new UserError(`Cannot read the image tarball ${path}: ${err.message}.`)),
    );
    file.pipe(gunzip);
  });
}

/** True when `bytes` holds the first real member header (after any long-name entries). */
function headerComplete(bytes: Buffer): boolean {
  let offset = 0;
  while (bytes.length >= offset + BLOCK) {
    const typeflag = String.fromCharCode(bytes[offset + 156] ?? 0);
    if (typeflag !== 'L' && typeflag !== 'K') return true;
    offset += BLOCK + Math.ceil(readNumber(bytes.subarray(offset), 124, 12) / BLOCK) * BLOCK;
  }
  return false;
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
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  if (readNumber(header, 148, 8) !== sum) {
    throw new UserError(`The image tarball ${path} has a corrupt tar header (checksum mismatch).`);
  }
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
