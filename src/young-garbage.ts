import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A minor (young-generation) garbage collection, for a loop that makes many short-lived Buffers it
 * cannot reuse, such as gunzip's output pieces. A Buffer's memory is freed only when V8 collects the
 * Buffer object, and V8 starts a collection for such memory only once about 64 MB of it has piled up:
 * that pile was a third of a whole publish's peak RSS. A minor collection of a small young generation
 * is cheap: with one every 8 MiB, the identity pass got no slower (bench/README.md, §2c).
 *
 * V8's `gc` function is taken from a fresh context with --expose-gc set only for that moment, so no
 * `gc` global appears in this process. Where V8 refuses the flag, this does nothing.
 */
export function collectYoungGarbage(): void {
  minorGc ??= takeMinorGc();
  minorGc();
}

let minorGc: (() => void) | undefined;

function takeMinorGc(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as ((options: { type: 'minor' }) => void) | undefined;
    if (typeof gc === 'function') return () => gc({ type: 'minor' });
  } catch {
    // Fall through: collecting early is an optimisation, never a requirement.
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return () => {};
}
