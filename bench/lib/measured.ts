/**
 * Runs a command under GNU time, which reports the command's own peak RSS (`%M`): `time` is a small
 * process, so what its child inherits through fork and exec is small too. `process.resourceUsage().maxRSS`
 * read inside a child of this bench would carry the bench runner's own peak instead (Linux keeps the
 * larger of the old and new image's high-water mark across exec), so it is not used.
 */
import { execFileSync } from 'node:child_process';
import { type Ran, runTimed } from './proc.ts';

/** A run under GNU time; its `lines` leave out GNU time's own. */
export interface Measured extends Ran {
  peakRssMb: number;
  cpuSeconds: number;
}

const TIME = '/usr/bin/time';
const MARK = 'GNU-TIME-PEAK';

/** Fails, saying what to install, when GNU time is missing (busybox or the shell keyword do not do %M). */
export function requireGnuTime(): void {
  try {
    execFileSync(TIME, ['-f', '%M', 'true'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${TIME} (GNU time) is required for peak RSS: apt-get install -y time`);
  }
}

/** `cmd` under GNU time: its wall time and stderr lines as runTimed gives them, plus peak RSS and CPU. */
export async function runMeasured(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Measured> {
  const ran = await runTimed(TIME, ['-f', `${MARK} %M %U %S`, cmd, ...args], { timeoutMs: 600_000, ...opts });
  const m = new RegExp(`${MARK} (\\d+) ([\\d.]+) ([\\d.]+)`).exec(ran.stderr);
  if (!m) throw new Error(`${TIME} printed no figures: ${ran.stderr.slice(-500)}`);
  return {
    ...ran,
    stderr: ran.stderr.replace(m[0], ''),
    lines: ran.lines.filter((l) => !l.line.startsWith(MARK)),
    peakRssMb: (Number(m[1]) * 1024) / 1e6,
    cpuSeconds: Number(m[2]) + Number(m[3]),
  };
}
