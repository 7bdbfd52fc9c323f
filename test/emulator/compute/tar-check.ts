import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * Reads an image tarball the way GCE's importer judges it (docs/architecture.md, "Compute Engine images"): gzip-compressed, GNU or
 * old-GNU tar, exactly one member named `disk.raw`, regular or GNU-sparse. Streams through gunzip and
 * keeps only one 512-byte header in memory.
 */
export type TarVerdict = { ok: true; diskBytes: number } | { ok: false; code: string; message: string };

export const UNSUPPORTED_FORMAT =
  'The tar archive format is not supported. Supported formats are: GNU and OLDGNU.';

const BLOCK = 512;

export async function checkImageTarball(source: Readable): Promise<TarVerdict> {
  const gunzip = createGunzip();
  source.on('error', (e) => gunzip.destroy(e));
  source.pipe(gunzip);
  const reader = new BlockReader(gunzip);
  try {
    return await judge(reader);
  } catch (err) {
    const msg = (err as Error).message;
    if (/incorrect header check|unexpected end of file|invalid/i.test(msg)) {
      return {
        ok: false,
        code: 'INVALID_IMAGE_FILE',
        message: `The image archive is not a valid gzip file: ${msg}.`,
      };
    }
    return { ok: false, code: 'INVALID_IMAGE_FILE', message: `Unable to read the image archive: ${msg}.` };
  } finally {
    source.unpipe(gunzip);
    source.destroy();
    gunzip.destroy();
  }
}

async function judge(reader: BlockReader): Promise<TarVerdict> {
  let header = await reader.read(BLOCK);
  if (!header || header.length < BLOCK) return badFile('The image archive is empty or truncated.');
  let longName: string | undefined;
  // A GNU long-name record ('L') carries the member name in the following data blocks.
  if (String.fromCharCode(header[156] ?? 0) === 'L') {
    if (!isGnu(header)) return { ok: false, code: 'INVALID_IMAGE_FILE', message: UNSUPPORTED_FORMAT };
    const size = parseNumber(header.subarray(124, 136));
    const data = await reader.read(roundUp(size));
    if (!data) return badFile('The image archive is truncated.');
    longName = cString(data.subarray(0, size));
    header = await reader.read(BLOCK);
    if (!header || header.length < BLOCK) return badFile('The image archive is truncated.');
  }
  if (!isGnu(header)) return { ok: false, code: 'INVALID_IMAGE_FILE', message: UNSUPPORTED_FORMAT };
  if (!checksumOk(header)) return badFile('The tar header checksum is invalid.');
  const name = longName ?? cString(header.subarray(0, 100));
  const type = String.fromCharCode(header[156] ?? 0);
  if (name !== 'disk.raw') {
    return badFile(`The image archive must contain a single file named disk.raw; found '${name}'.`);
  }
  if (type !== '0' && type !== '\0' && type !== 'S') {
    return badFile('disk.raw in the image archive must be a regular file.');
  }
  const stored = parseNumber(header.subarray(124, 136));
  // Old-GNU sparse header: the real file size sits at offset 483.
  const diskBytes = type === 'S' ? parseNumber(header.subarray(483, 495)) : stored;
  let dataBytes = stored;
  if (type === 'S' && header[482] === 1) {
    // Extended sparse headers follow before the data; each is one block, chained by its last flag byte.
    for (;;) {
      const ext = await reader.read(BLOCK);
      if (!ext) return badFile('The image archive is truncated.');
      if (ext[504] !== 1) break;
    }
  }
  if (!(await reader.skip(roundUp(dataBytes)))) return badFile('The image archive is truncated.');
  dataBytes = 0;
  const next = await reader.read(BLOCK);
  if (next && next.length === BLOCK && next.some((b) => b !== 0)) {
    return badFile('The image archive must contain exactly one file, disk.raw.');
  }
  return { ok: true, diskBytes };
}

function badFile(message: string): TarVerdict {
  return { ok: false, code: 'INVALID_IMAGE_FILE', message };
}

/** GNU and old-GNU share the magic "ustar  \0"; POSIX ustar/PAX use "ustar\0" + "00"; v7 has none. */
function isGnu(h: Buffer): boolean {
  return h.subarray(257, 265).toString('latin1') === 'ustar  \0';
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
  return parseNumber(h.subarray(148, 156)) === sum;
}

/** Octal, or GNU base-256 when the high bit of the first byte is set. */
function parseNumber(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let n = (field[0] as number) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] as number);
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** Pulls exact byte counts out of a stream without buffering more than one chunk. */
class BlockReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private ended = false;

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    return true;
  }

  /** Exactly n bytes, or what is left (possibly undefined) at the end of the stream. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n) if (!(await this.fill())) break;
    if (this.buf.length === 0) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return Buffer.from(out);
  }

  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) return false;
      const take = Math.min(left, this.buf.length);
      this.buf = this.buf.subarray(take);
      left -= take;
    }
    return true;
  }
}
