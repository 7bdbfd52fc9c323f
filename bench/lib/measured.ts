/**
 * Runs a command under GNU time, which reports the command's own peak RSS (`%M`): `time` is a small
 * process, so what its child inherits through fork and exec is small too. `process.resourceUsage().maxRSS`
 * read inside a child of this bench would carry the bench runner's own peak instead (Linux keeps the
 * larger of the old and new image's high-water mark across exec), so it is not used.
 * Every stderr line is timestamped, for the stage shares of a publish.
 */
import { execFileSync, spawn } from 'node:child_process';

export interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Seconds since the start, for each stderr line (GNU time's own line excluded). */
  lines: { t: number; line: string }[];
  seconds: number;
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

export function runMeasured(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(TIME, ['-f', `${MARK} %M %U %S`, cmd, ...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: Measured['lines'] = [];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      const t = (performance.now() - started) / 1000;
      stderr += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ t, line });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const m = new RegExp(`${MARK} (\\d+) ([\\d.]+) ([\\d.]+)`).exec(stderr);
      if (!m) return reject(new Error(`${TIME} printed no figures: ${stderr.slice(-500)}`));
      resolve({
        code,
        stdout,
        stderr: stderr.replace(m[0], ''),
        lines: lines.filter((l) => !l.line.startsWith(MARK)),
        seconds,
        peakRssMb: (Number(m[1]) * 1024) / 1e6,
        cpuSeconds: Number(m[2]) + Number(m[3]),
      });
    });
  });
}
