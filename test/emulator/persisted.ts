import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Small JSON state that survives an emulator restart with the same data directory. Writes are atomic
 * (temp file + rename), so a kill mid-write never leaves a torn file.
 */
export class PersistedJson<T> {
  readonly path: string;
  value: T;

  constructor(dataDir: string, name: string, initial: () => T) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, `${name}.json`);
    this.value = this.load() ?? initial();
  }

  private load(): T | undefined {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.value));
    renameSync(tmp, this.path);
  }
}
