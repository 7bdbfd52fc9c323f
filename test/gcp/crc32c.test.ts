import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRC32C } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import { fileCrc32c, wasmCrc32cGenerator } from '../../src/gcp/crc32c.ts';

// The storage library's own JS implementation is the reference: our WASM one must agree with it.
describe('WASM CRC32C', () => {
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;

  it('matches the storage library over chunked updates', async () => {
    const reference = new CRC32C();
    reference.update(data);
    const ours = (await wasmCrc32cGenerator(1))();
    for (let i = 0; i < data.length; i += 65536) ours.update(data.subarray(i, i + 65536));
    expect(ours.toString()).toBe(reference.toString());
    expect(ours.validate(reference.toString())).toBe(true);
    expect(ours.validate('AAAAAA==')).toBe(false);
  });

  it('gives the documented value for "data"', async () => {
    const v = (await wasmCrc32cGenerator(1))();
    v.update(Buffer.from('data'));
    expect(v.toString()).toBe('rth90Q==');
  });

  it('hashes a file the same way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crc-'));
    writeFileSync(join(dir, 'f'), data);
    const reference = new CRC32C();
    reference.update(data);
    expect(await fileCrc32c(join(dir, 'f'))).toBe(reference.toString());
  });

  it('restarts cleanly when a pooled hasher is reused', async () => {
    const gen = await wasmCrc32cGenerator(1);
    const first = gen();
    first.update(Buffer.from('garbage'));
    const second = gen();
    second.update(Buffer.from('data'));
    expect(second.toString()).toBe('rth90Q==');
  });
});
