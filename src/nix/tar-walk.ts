import { UserError } from '../errors.ts';

/** What the check found: the one member of an image tarball. */
export interface TarballCheck {
  member: string;
  format: 'gnu' | 'oldgnu';
  type: 'regular' | 'gnu-sparse';
  /** Size of disk.raw in bytes (the real size for a GNU-sparse member). */
  size: number;
}

const BLOCK = 512;
/** GNU long names are short in practice; a huge one means a corrupt or hostile file. */
const MAX_LONG_NAME = 64 * 1024;
const GNU_MAGIC = 'ustar  \0';
type WalkState =
  | { kind: 'header' }
  | { kind: 'long-name'; typeflag: string; left: number }
  | { kind: 'sparse-extension' }
  | { kind: 'data'; left: number }
  | { kind: 'trailer' };

/**
 * A streaming walk over the decompressed tar of an image tarball, judged as GCE judges it (GNU or old-GNU,
 * one member disk.raw, regular or GNU-sparse): it is fed the bytes in pieces and keeps only one 512-byte
 * block (or a long name) at a time. Member data is skipped by counting, never copied.
 */
export class TarWalker {
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
