/**
 * Writes generated files, or with `--check` only reports the stale ones; shared by the generators so that
 * CI's drift check reads the same everywhere.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Returns the exit code: 1 when `check` found a file that differs from its generated text. */
export function writeOrCheck(
  files: readonly { file: string; text: string }[],
  check: boolean,
  regenerate: string,
): number {
  let stale = 0;
  for (const { file, text } of files) {
    const relative = path.relative(ROOT, file);
    if (read(file) === text) continue;
    if (check) {
      stale++;
      console.error(`${relative} is out of date with src/config.ts; run: ${regenerate}`);
    } else {
      writeFileSync(file, text);
      console.log(`wrote ${relative}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
