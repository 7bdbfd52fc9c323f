import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where every emulator of a test run notes the API calls it answered, one JSON line each, when the run
 * asks for it (vitest's global setup sets the variable; see global-setup.ts). Emulators run inside test
 * workers and as child processes, so each process writes its own file.
 */
export const SUITE_LOG_ENV = 'NGR_EMULATOR_API_LOG';

export interface SuiteLogLine {
  api: string;
  /** The refusal, when the emulator refused a name the method does not define. */
  refused?: string;
  /** The request said it sends such a name on purpose (`x-emulator-expect-refusal`), to test the refusal. */
  expected?: boolean;
}

export function noteApiCall(line: SuiteLogLine): void {
  const dir = process.env[SUITE_LOG_ENV];
  if (dir) appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
}
