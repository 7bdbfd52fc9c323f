import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import { locateImageTarball, verifyImageTarball } from '../../src/nix/image-file.ts';
import { requireTool, tempDir } from './helpers.ts';

const GNU = 'ustar  \0';
const POSIX = 'ustar\u000000';

interface Header {
  name?: string;
  type?: string;
  magic?: string;
  mode?: number;
  size?: number;
  realSize?: number;
}

/** One 512-byte tar header, written field by field as GNU tar does, with a valid checksum. */
function header(h: Header): Buffer {
  const b = Buffer.alloc(512);
  const octal = (value: number, offset: number, width: number) =>
    b.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'latin1');
  b.write(h.name ?? 'disk.raw', 0, 100, 'utf8');
  octal(h.mode ?? 0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(h.size ?? 0, 124, 12);
  octal(0, 136, 12);
  b.write(h.type ?? '0', 156, 'latin1');
  b.write(h.magic ?? GNU, 257, 'latin1');
  if (h.realSize !== undefined) octal(h.realSize, 483, 12);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function data(text: string): Buffer {
  const b = Buffer.alloc(Math.ceil(text.length / 512) * 512);
  b.write(text, 0, 'utf8');
  return b;
}

function tarball(...blocks: Buffer[]): string {
  const path = join(tempDir('tar'), 'image.raw.tar.gz');
  writeFileSync(path, gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)])));
  return path;
}

async function refusal(path: string): Promise<string> {
  const err = await verifyImageTarball(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return (err as UserError).message;
}

describe('verifyImageTarball on hand-made headers', () => {
  it('accepts a regular disk.raw in GNU format', async () => {
    const path = tarball(header({ size: 5 }), data('hello'));
    expect(await verifyImageTarball(path)).toEqual({
      member: 'disk.raw',
      format: 'gnu',
      type: 'regular',
      size: 5,
    });
  });

  it('accepts old-GNU (file-type bits in the mode field) and a NUL typeflag', async () => {
    const path = tarball(header({ mode: 0o100644, type: '\0', size: 0 }));
    expect(await verifyImageTarball(path)).toMatchObject({ format: 'oldgnu', type: 'regular' });
  });

  it('accepts a GNU-sparse member and reports its real size', async () => {
    const path = tarball(header({ type: 'S', size: 0, realSize: 10 * 1024 * 1024 }));
    expect(await verifyImageTarball(path)).toEqual({
      member: 'disk.raw',
      format: 'gnu',
      type: 'gnu-sparse',
      size: 10 * 1024 * 1024,
    });
  });

  it('follows a GNU long-name entry to the real member name', async () => {
    const ok = tarball(
      header({ name: '././@LongLink', type: 'L', size: 9 }),
      data('disk.raw\0'),
      header({ name: 'disk.ra' }),
    );
    expect((await verifyImageTarball(ok)).member).toBe('disk.raw');
    const long = `${'x'.repeat(150)}.raw`;
    const bad = tarball(
      header({ name: '././@LongLink', type: 'L', size: long.length + 1 }),
      data(`${long}\0`),
      header({ name: long.slice(0, 100) }),
    );
    expect(await refusal(bad)).toContain(long);
  });

  it('refuses a wrong member name, naming the NixOS 24.11 pitfall', async () => {
    const message = await refusal(tarball(header({ name: 'nixos-image-google-compute.raw' })));
    expect(message).toContain('"nixos-image-google-compute.raw"');
    expect(message).toContain('disk.raw');
    expect(message).toContain('NixOS 24.11');
  });

  it("refuses POSIX/ustar and PAX with GCE's own words", async () => {
    expect(await refusal(tarball(header({ magic: POSIX })))).toContain(
      'Supported formats are: GNU and OLDGNU',
    );
    const pax = tarball(
      header({ name: 'PaxHeaders/disk.raw', type: 'x', magic: POSIX, size: 20 }),
      data('20 path=disk.raw\n'),
    );
    expect(await refusal(pax)).toContain('POSIX/PAX');
  });

  it('refuses a V7 tar without magic', async () => {
    expect(await refusal(tarball(header({ magic: '\0'.repeat(8) })))).toContain('not a GNU tar');
  });

  it('refuses a directory member', async () => {
    const message = await refusal(tarball(header({ type: '5', mode: 0o755 })));
    expect(message).toContain("type '5' (directory)");
  });

  it('refuses a file that is not gzip, a corrupt header, and an empty archive', async () => {
    const dir = tempDir('notgz');
    const plain = join(dir, 'plain.raw.tar.gz');
    writeFileSync(plain, Buffer.concat([header({}), Buffer.alloc(1024)]));
    expect(await refusal(plain)).toContain('not gzip-compressed');

    const corrupt = header({});
    corrupt[0] = 'D'.charCodeAt(0);
    expect(await refusal(tarball(corrupt))).toContain('checksum');

    expect(await refusal(tarball())).toContain('no tar member');
  });

  it('refuses gzip magic followed by garbage', async () => {
    const path = join(tempDir('badgz'), 'x.raw.tar.gz');
    writeFileSync(path, Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(await refusal(path)).toContain('not valid gzip data');
  });

  it('reads the whole stream: a valid head followed by corrupt deflate data is refused', async () => {
    // A valid head (header + 4 MiB of disk, sync-flushed) followed by corrupt deflate data: GCE would
    // read to the end and fail, so the check must too.
    const head = deflateRawSync(Buffer.concat([header({ size: 1 << 30 }), Buffer.alloc(4 << 20)]), {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    const path = join(tempDir('head'), 'x.raw.tar.gz');
    writeFileSync(path, Buffer.concat([gzipHeader, head, Buffer.alloc(4096, 0xff)]));
    expect(() => gunzipSync(readFileSync(path))).toThrow();
    expect(await refusal(path)).toContain('not valid gzip data or is truncated');
  });
});

describe('verifyImageTarball reads the whole archive (issue 17)', () => {
  /** Gzips the blocks as they are, without the end blocks tarball() adds. */
  function raw(...blocks: Buffer[]): string {
    const path = join(tempDir('tar'), 'image.raw.tar.gz');
    writeFileSync(path, gzipSync(Buffer.concat(blocks)));
    return path;
  }

  it('refuses a second member after disk.raw, naming it', async () => {
    const path = tarball(
      header({ size: 5 }),
      data('hello'),
      header({ name: 'extra.txt', size: 3 }),
      data('abc'),
    );
    const message = await refusal(path);
    expect(message).toContain('a second member "extra.txt"');
    expect(message).toContain('disk.raw as the only member');
  });

  it('refuses a second member that follows a GNU long name or an end block', async () => {
    const long = tarball(
      header({ size: 5 }),
      data('hello'),
      header({ name: '././@LongLink', type: 'L', size: 9 }),
      data('disk.raw\0'),
      header({ name: 'disk.raw', size: 0 }),
    );
    expect(await refusal(long)).toContain('a second member "././@LongLink"');
    const afterEnd = raw(
      header({ size: 5 }),
      data('hello'),
      Buffer.alloc(512),
      header({ name: 'b' }),
      Buffer.alloc(1024),
    );
    expect(await refusal(afterEnd)).toContain('a second member "b"');
  });

  it('refuses a second header with a bad checksum', async () => {
    const second = header({ name: 'extra.txt' });
    second[0] = 'X'.charCodeAt(0);
    const message = await refusal(tarball(header({ size: 5 }), data('hello'), second));
    expect(message).toContain('not a tar header');
  });

  it('refuses a truncated archive: member data cut short, or the end blocks missing', async () => {
    const short = raw(header({ size: 4096 }), data('only one block'));
    expect(await refusal(short)).toContain('is truncated (3584 bytes of disk.raw are missing)');
    const noEnd = raw(header({ size: 5 }), data('hello'));
    expect(await refusal(noEnd)).toContain('the two zero blocks that end a tar archive are missing');
    const oneEnd = raw(header({ size: 5 }), data('hello'), Buffer.alloc(512));
    expect(await refusal(oneEnd)).toContain('the two zero blocks');
    const midBlock = raw(header({ size: 5 }), data('hello'), Buffer.alloc(700));
    expect(await refusal(midBlock)).toContain('inside a 512-byte tar block');
  });

  it('refuses a gzip stream cut short', async () => {
    const whole = gzipSync(Buffer.concat([header({ size: 5 }), data('hello'), Buffer.alloc(1024)]));
    const path = join(tempDir('cut'), 'x.raw.tar.gz');
    writeFileSync(path, whole.subarray(0, whole.length - 12));
    expect(await refusal(path)).toContain('not valid gzip data or is truncated');
  });

  it('accepts the zero padding GNU tar adds up to its record size', async () => {
    const path = raw(header({ size: 5 }), data('hello'), Buffer.alloc(10240 - 1024));
    expect(await verifyImageTarball(path)).toMatchObject({ member: 'disk.raw', size: 5 });
  });

  it('skips a GNU-sparse member by its stored size, not its real size, and checks the map adds up', async () => {
    // Sparse map: one 512-byte chunk at offset 0 of a 1 GiB disk; the archive stores 512 bytes.
    const sparse = (stored: number, chunk: number) => {
      const h = header({ type: 'S', size: stored, realSize: 1 << 30 });
      h.write(`${(0).toString(8).padStart(11, '0')}\0`, 386, 'latin1');
      h.write(`${chunk.toString(8).padStart(11, '0')}\0`, 398, 'latin1');
      return withChecksum(h);
    };
    const ok = tarball(sparse(512, 512), data('x'.repeat(512)));
    expect(await verifyImageTarball(ok)).toMatchObject({ type: 'gnu-sparse', size: 1 << 30 });
    const second = tarball(sparse(512, 512), data('x'.repeat(512)), header({ name: 'extra' }));
    expect(await refusal(second)).toContain('a second member "extra"');
    const badMap = tarball(sparse(512, 1024), data('x'.repeat(512)));
    expect(await refusal(badMap)).toContain('corrupt sparse map');
  });
});

/** Recomputes a hand-edited header's checksum. */
function withChecksum(b: Buffer): Buffer {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

describe('verifyImageTarball on archives made by GNU tar', () => {
  function realTar(format: string, extraArgs: string[], prepare: (dir: string) => void): string {
    requireTool('tar', 'install GNU tar: apt-get install -y tar');
    const dir = tempDir('gnutar');
    prepare(dir);
    const out = join(dir, 'out.raw.tar.gz');
    execFileSync('sh', [
      '-c',
      `tar --format=${format} ${extraArgs.join(' ')} -C "${dir}" -cf - disk.raw | gzip -n > "${out}"`,
    ]);
    return out;
  }

  it('accepts --format=gnu and --format=oldgnu', async () => {
    // GNU tar 1.34 writes byte-identical headers for a plain file in both formats, so both read as 'gnu'.
    for (const format of ['gnu', 'oldgnu']) {
      const path = realTar(format, [], (d) => writeFileSync(join(d, 'disk.raw'), 'abc'));
      expect(await verifyImageTarball(path)).toEqual({
        member: 'disk.raw',
        format: 'gnu',
        type: 'regular',
        size: 3,
      });
    }
  });

  it('accepts a sparse disk written with tar -S, as nixpkgs does', async () => {
    const path = realTar('gnu', ['-S'], (d) => execFileSync('truncate', ['-s', '8M', join(d, 'disk.raw')]));
    expect(await verifyImageTarball(path)).toMatchObject({ type: 'gnu-sparse', size: 8 * 1024 * 1024 });
  });

  it('accepts a sparse disk with more than four data chunks (GNU sparse extension headers)', async () => {
    const path = realTar('gnu', ['-S'], (d) => {
      const disk = join(d, 'disk.raw');
      execFileSync('truncate', ['-s', '64M', disk]);
      // Ten data chunks 4 MiB apart: more than the four the main header's map holds.
      for (let i = 0; i < 10; i++)
        execFileSync(
          'dd',
          ['if=/dev/urandom', `of=${disk}`, 'bs=4096', 'count=1', `seek=${i * 1024}`, 'conv=notrunc'],
          { stdio: 'ignore' },
        );
    });
    expect(await verifyImageTarball(path)).toMatchObject({ type: 'gnu-sparse', size: 64 * 1024 * 1024 });
  });

  it('refuses a real GNU tar holding disk.raw and a second file', async () => {
    requireTool('tar', 'install GNU tar: apt-get install -y tar');
    const dir = tempDir('gnutar2');
    writeFileSync(join(dir, 'disk.raw'), 'disk');
    writeFileSync(join(dir, 'README'), 'second');
    const out = join(dir, 'out.raw.tar.gz');
    execFileSync('sh', ['-c', `tar --format=gnu -C "${dir}" -cf - disk.raw README | gzip -n > "${out}"`]);
    expect(await refusal(out)).toContain('a second member "README"');
  });

  it('refuses --format=posix and --format=ustar', async () => {
    for (const format of ['posix', 'ustar']) {
      const path = realTar(format, [], (d) => writeFileSync(join(d, 'disk.raw'), 'abc'));
      expect(await refusal(path)).toContain('Supported formats are: GNU and OLDGNU');
    }
  });
});

describe('locateImageTarball', () => {
  it('finds the single tarball at the top or two levels down, by glob', async () => {
    const top = tempDir('out');
    writeFileSync(join(top, 'nixos-image-google-compute-25.05.x86_64-linux.raw.tar.gz'), '');
    expect(await locateImageTarball(top)).toBe(
      join(top, 'nixos-image-google-compute-25.05.x86_64-linux.raw.tar.gz'),
    );

    const nested = tempDir('out');
    mkdirSync(join(nested, 'a', 'b'), { recursive: true });
    writeFileSync(join(nested, 'a', 'b', 'x.raw.tar.gz'), '');
    expect(await locateImageTarball(nested)).toBe(join(nested, 'a', 'b', 'x.raw.tar.gz'));
  });

  it('accepts an output that is itself the tarball', async () => {
    const file = join(tempDir('out'), 'image.raw.tar.gz');
    writeFileSync(file, '');
    expect(await locateImageTarball(file)).toBe(file);
  });

  it('refuses none, too deep, and more than one', async () => {
    const empty = tempDir('out');
    writeFileSync(join(empty, 'disk.raw'), '');
    await expect(locateImageTarball(empty)).rejects.toThrow(/holds no \*\.raw\.tar\.gz/);

    const deep = tempDir('out');
    mkdirSync(join(deep, 'a', 'b', 'c'), { recursive: true });
    writeFileSync(join(deep, 'a', 'b', 'c', 'x.raw.tar.gz'), '');
    await expect(locateImageTarball(deep)).rejects.toThrow(/holds no/);

    const two = tempDir('out');
    writeFileSync(join(two, 'a.raw.tar.gz'), '');
    writeFileSync(join(two, 'b.raw.tar.gz'), '');
    await expect(locateImageTarball(two)).rejects.toThrow(/holds 2 \*\.raw\.tar\.gz files/);

    await expect(locateImageTarball(join(two, 'missing'))).rejects.toThrow(/does not exist/);
  });
});
