import { type ChildProcess, spawn } from 'node:child_process';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Seconds since the start, for each stderr line (for the stage shares of a publish). */
  lines: { t: number; line: string }[];
  seconds: number;
}

/** Runs a command to completion with a hard timeout (bounded: a hung client must not hang the bench). */
export function runTimed(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: Ran['lines'] = [];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      const t = (performance.now() - started) / 1000;
      stderr += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ t, line });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lines, seconds: (performance.now() - started) / 1000 });
    });
  });
}

export function mustSucceed<T extends Ran>(ran: T, what: string): T {
  if (ran.code !== 0)
    throw new Error(`${what} exited ${ran.code}:\n${ran.stderr.slice(-2000)}\n${ran.stdout.slice(-1000)}`);
  return ran;
}

/** A long-lived child that prints a line matching `ready`; resolves with the first capture group. */
export function startService(
  cmd: string,
  args: string[],
  ready: RegExp,
  env?: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; value: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: env ?? process.env });
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${cmd} ${args.join(' ')} did not start: ${seen}`)),
      60_000,
    );
    child.stdout?.on('data', (d) => {
      seen += d;
      const m = ready.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ child, value: m[1] as string });
      }
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code} before it was ready: ${seen}`)));
  });
}

/** Stops a child we started, by its own pid, and waits for it. */
export function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}
