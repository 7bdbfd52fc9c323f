import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUITE_LOG_ENV, type SuiteLogLine } from './suite-log.ts';

/**
 * The request-conformance replay over the whole suite. The emulator checks every call against Google's
 * definition of its method as it arrives and refuses a name the method does not define, so each test
 * already fails on such a call; this teardown also catches a refusal the caller swallowed, and counts the
 * distinct methods the suite exercised.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'ngr-api-log-'));
  process.env[SUITE_LOG_ENV] = dir;
  return () => {
    const lines: SuiteLogLine[] = [];
    for (const file of readdirSync(dir))
      for (const text of readFileSync(join(dir, file), 'utf8').split('\n'))
        if (text) lines.push(JSON.parse(text) as SuiteLogLine);
    rmSync(dir, { recursive: true, force: true });
    if (lines.length === 0) return;
    const methods = new Set(lines.map((l) => l.api));
    const unexpected = lines.filter((l) => l.refused && !l.expected);
    const onPurpose = lines.filter((l) => l.refused && l.expected).length;
    console.log(
      `API conformance: ${lines.length} requests to ${methods.size} distinct methods checked against Google's definitions (${[...methods].filter((m) => m.startsWith('compute.')).length} Compute, ${[...methods].filter((m) => m.startsWith('storage.')).length} Storage); ${onPurpose} refused on purpose, ${unexpected.length} otherwise.`,
    );
    if (unexpected.length > 0)
      throw new Error(
        `The emulator refused ${unexpected.length} request(s) for names their method does not define:\n${[
          ...new Set(unexpected.map((l) => `${l.api}: ${l.refused}`)),
        ].join('\n')}`,
      );
  };
}
