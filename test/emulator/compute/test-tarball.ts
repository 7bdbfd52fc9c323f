import { gzipSync } from 'node:zlib';

/**
 * Builds small image tarballs for tests, byte by byte, so each format GCE accepts or refuses can be made
 * without a `tar` binary: GNU / old-GNU (accepted), POSIX ustar (refused), GNU-sparse members, wrong names.
 */
export interface TarballSpec {
  /** Member name; GCE needs `disk.raw`. */
  name?: string;
  format?: 'gnu' | 'ustar';
  /** Bytes of the member's data (default 4 KiB of a pattern). */
  data?: Buffer;
  /** Make the member GNU-sparse (typeflag S) with this apparent size. */
  sparseSize?: number;
  /** Add a second member. */
  extraMember?: string;
  /** Skip gzip (to test a bare tar). */
  raw?: boolean;
}

export function makeImageTarball(spec: TarballSpec = {}): Buffer {
  const data = spec.data ?? Buffer.alloc(4096, 0xab);
  const parts: Buffer[] = [];
  parts.push(header(spec.name ?? 'disk.raw', data.length, spec.format ?? 'gnu', spec.sparseSize), pad(data));
  if (spec.extraMember) parts.push(header(spec.extraMember, 1, spec.format ?? 'gnu'), pad(Buffer.from('x')));
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return spec.raw ? tar : gzipSync(tar);
}

function header(name: string, size: number, format: 'gnu' | 'ustar', sparseSize?: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${octal(size, 11)}\0`, 124, 'latin1');
  h.write(`${octal(Math.floor(Date.now() / 1000), 11)}\0`, 136, 'latin1');
  h.write(sparseSize === undefined ? '0' : 'S', 156, 'latin1');
  if (format === 'gnu') h.write('ustar  \0', 257, 'latin1');
  else h.write('ustar\x0000', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  if (sparseSize !== undefined) {
    // One sparse map entry: the stored data sits at offset 0; the rest of the file is a hole.
    h.write(`${octal(0, 11)}\0`, 386, 'latin1');
    h.write(`${octal(size, 11)}\0`, 398, 'latin1');
    h[482] = 0;
    h.write(`${octal(sparseSize, 11)}\0`, 483, 'latin1');
  }
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 6)}\0 `, 148, 'latin1');
  return h;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width, '0');
}

function pad(b: Buffer): Buffer {
  const rem = b.length % 512;
  return rem ? Buffer.concat([b, Buffer.alloc(512 - rem)]) : b;
}
