import { spawn } from 'node:child_process';
import { ExitCode, UserError } from '../errors.ts';

export interface RunResult {
  code: number;
  stdout: string;
  /** The last lines of stderr, for error messages. */
  stderrTail: string[];
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for each stderr line as it arrives (the build log with -L). */
  onStderrLine?: (line: string) => void;
  signal?: AbortSignal;
  /** How many stderr lines to keep for the tail. */
  tailLines?: number;
}

/** Grace period between SIGINT (nix stops its builders cleanly) and SIGKILL. */
const KILL_GRACE_MS = 3000;

/**
 * Runs a child process, collecting stdout and streaming stderr line by line. An abort sends SIGINT at
 * once and SIGKILL after a short grace, then rejects with an Interrupted UserError.
 */
export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const tailLines = opts.tailLines ?? 40;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(interrupted(command));
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const tail: string[] = [];
    let partial = '';
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pushLine = (line: string) => {
      tail.push(line);
      if (tail.length > tailLines) tail.shift();
      opts.onStderrLine?.(line);
    };
    const onAbort = () => {
      aborted = true;
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) pushLine(line);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(
        err.code === 'ENOENT'
          ? new UserError(
              `Cannot run ${command}: it is not installed or not on PATH.`,
              undefined,
              ExitCode.NixFailed,
            )
          : err,
      );
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (partial) pushLine(partial);
      if (aborted) return reject(interrupted(command));
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderrTail: tail,
      });
    });
  });
}

function interrupted(command: string): UserError {
  return new UserError(`Interrupted: ${command} was stopped.`, undefined, ExitCode.Interrupted);
}

/** Quotes argv for a copy-pasteable shell command. */
export function shellQuote(argv: string[]): string {
  return argv
    .map((a) => (/^[A-Za-z0-9_@%+=:,./#-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}
