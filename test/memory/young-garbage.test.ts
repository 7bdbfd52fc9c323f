import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectYoungGarbage } from '../../src/young-garbage.ts';

const MB = 1e6;

// V8 frees a collected Buffer's memory on a background thread by default; freeing it during the
// collection makes process.memoryUsage() exact right after it, with no waiting on another thread.
beforeAll(() => setFlagsFromString('--no-concurrent-array-buffer-sweeping'));
afterAll(() => setFlagsFromString('--concurrent-array-buffer-sweeping'));

/** 32 MiB of 16 KiB Buffers, each dropped at once: gunzip's output pieces, as the identity pass sees them. */
function litter(): number {
  let bytes = 0;
  for (let i = 0; i < 2048; i++) bytes += Buffer.allocUnsafe(16 * 1024).length;
  return bytes;
}

describe('collectYoungGarbage', () => {
  it('frees dropped Buffers that V8 alone would keep until about 64 MB had piled up', () => {
    const before = process.memoryUsage().arrayBuffers;
    const dropped = litter();
    const littered = process.memoryUsage().arrayBuffers;
    // The pile is there to free: nothing collected it while it was made.
    expect(littered - before).toBeGreaterThan(dropped / 2);
    collectYoungGarbage();
    const after = process.memoryUsage().arrayBuffers;
    expect(
      after,
      `${((littered - before) / MB).toFixed(1)} MB of dropped Buffers, ${((after - before) / MB).toFixed(1)} MB still held`,
    ).toBeLessThanOrEqual(before + 8 * MB);
  });

  it('leaves no gc function behind, in this context or in new ones', () => {
    collectYoungGarbage();
    collectYoungGarbage();
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
