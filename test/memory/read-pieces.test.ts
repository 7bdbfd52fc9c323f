import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSha256, readPieces } from '../../src/read-pieces.ts';

const MiB = 1024 * 1024;

function fileOf(bytes: number): { path: string; data: Buffer } {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 2654435761) >>> 24;
  const path = join(mkdtempSync(join(tmpdir(), 'pieces-')), 'f');
  writeFileSync(path, data);
  return { path, data };
}

describe('readPieces', () => {
  it('hands over every byte in order, across several pieces, through one reused buffer', async () => {
    const { path, data } = fileOf(9 * MiB + 3);
    const hash = createHash('sha256');
    const sizes: number[] = [];
    const buffers = new Set<ArrayBufferLike>();
    await readPieces(path, (piece) => {
      hash.update(piece);
      sizes.push(piece.length);
      buffers.add(piece.buffer);
    });
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(sizes).toEqual([4 * MiB, 4 * MiB, MiB + 3]);
    expect(buffers.size).toBe(1);
  });

  it('gives the SHA-256 of the whole file', async () => {
    const { path, data } = fileOf(9 * MiB + 3);
    expect(await fileSha256(path)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('hands over nothing for an empty file', async () => {
    const { path } = fileOf(0);
    const sizes: number[] = [];
    await readPieces(path, (piece) => sizes.push(piece.length));
    expect(sizes).toEqual([]);
  });

  it('stops at an aborted signal, with its reason', async () => {
    const { path } = fileOf(9 * MiB);
    const controller = new AbortController();
    let pieces = 0;
    const reading = readPieces(
      path,
      () => {
        pieces++;
        controller.abort(new Error('interrupted'));
      },
      controller.signal,
    );
    await expect(reading).rejects.toThrow('interrupted');
    expect(pieces).toBe(1);
  });
});
