import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A run still going: its process (to send signals to), its output so far, and its end. */
export interface RunningCli {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves once `pattern` appears in stdout or stderr; rejects if the process ends first. */
  waitForOutput(pattern: RegExp): Promise<void>;
  done: Promise<CliRun>;
}

type CliOptions = { cwd: string; env?: NodeJS.ProcessEnv; entry?: 'src' | 'dist'; timeoutMs?: number };

/**
 * Runs the CLI as a child process, as a user would, with Node 24 (the one npm scripts put first on PATH).
 * By default it runs the bundle in dist/, which is what users get and starts in a fraction of the time
 * tsx needs to compile src/; `entry: 'src'` runs the sources through tsx.
 */
export function runCli(args: string[], opts: CliOptions): Promise<CliRun> {
  return startCli(args, opts).done;
}

/** `runCli`, returning while the CLI runs, so a test can signal it. */
export function startCli(args: string[], opts: CliOptions): RunningCli {
  if (opts.entry !== 'src') assertBundleFresh();
  const entry =
    opts.entry !== 'src'
      ? [join(REPO_ROOT, 'dist/cli/index.js')]
      : [
          '--import',
          pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href,
          join(REPO_ROOT, 'src/cli/index.ts'),
        ];
  return startNode([...entry, ...args], {
    cwd: opts.cwd,
    env: { ...cleanEnv(), ...opts.env },
    timeoutMs: opts.timeoutMs,
  });
}

/**
 * Runs the bundled action as the runner does: `node dist/main/index.js`, with the inputs in INPUT_*
 * variables and CI/GITHUB_ACTIONS set. The parent's own CI, GitHub and Google variables are dropped.
 */
export function runBundledAction(env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 60_000): Promise<CliRun> {
  return startBundledAction(env, cwd, timeoutMs).done;
}

/** `runBundledAction`, returning while the action runs, so a test can signal it as GitHub does. */
export function startBundledAction(env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 60_000): RunningCli {
  assertBundleFresh();
  return startNode([join(REPO_ROOT, 'dist/main/index.js')], {
    cwd,
    env: { ...cleanEnv(), CI: 'true', GITHUB_ACTIONS: 'true', ...env },
    timeoutMs,
  });
}

/** Starts this Node (24) with the arguments and collects its output; it is killed after `timeoutMs`. */
function startNode(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number | undefined },
): RunningCli {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  const seen = () => {
    for (const w of watchers) w();
  };
  child.stdout.on('data', (d) => {
    stdout += d;
    seen();
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    seen();
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    done,
    output: () => stdout + stderr,
    waitForOutput: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stdout + stderr)) return;
          watchers.delete(check);
          resolve();
        };
        watchers.add(check);
        check();
        void done.then((run) => {
          if (!watchers.has(check)) return;
          watchers.delete(check);
          reject(new Error(`exited (${run.code}) before printing ${pattern}:\n${run.stdout}${run.stderr}`));
        });
      }),
  };
}

/**
 * `publish` with the flags naming where it publishes (each one only when given), `url` serving both the
 * Storage and the Compute API, then `extra`.
 */
export function publishArgs(
  to: { project?: string; bucket?: string; family?: string; url?: string },
  ...extra: string[]
): string[] {
  return [
    'publish',
    ...(to.project === undefined ? [] : ['--project', to.project]),
    ...(to.bucket === undefined ? [] : ['--bucket', to.bucket]),
    ...(to.family === undefined ? [] : ['--family', to.family]),
    ...(to.url === undefined ? [] : ['--storage-endpoint', to.url, '--compute-endpoint', to.url]),
    ...extra,
  ];
}

/** Checks stderr holds exactly one `error:` line and no stack trace; returns that line's message. */
export function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((x) => x.startsWith('error: '));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return (lines[0] as string).slice('error: '.length);
}

/** The parent's environment minus anything that would point the CLI at real Google or a real CI. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(GOOGLE_|CLOUDSDK_|GITHUB_|INPUT_|CI_)/.test(key) || key === 'CI') delete env[key];
  }
  return env;
}

/** Fails when a source file is newer than the bundle: the test would otherwise exercise old code. */
function assertBundleFresh(): void {
  const bundle = join(REPO_ROOT, 'dist/cli/index.js');
  let bundled: number;
  try {
    bundled = statSync(bundle).mtimeMs;
  } catch {
    throw new Error(
      'dist/cli/index.js is missing: run `npm run bundle` (the tests run the bundled CLI, as users do).',
    );
  }
  const newest = newestMtime(join(REPO_ROOT, 'src'));
  // A fresh clone writes every file within moments of each other; allow for that.
  if (newest.mtime > bundled + 2_000) {
    throw new Error(
      `dist/ is older than ${newest.path}: run \`npm run bundle\` (the tests run the bundled CLI, as users do).`,
    );
  }
}

function newestMtime(dir: string): { path: string; mtime: number } {
  let newest = { path: dir, mtime: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory() ? newestMtime(path) : { path, mtime: statSync(path).mtimeMs };
    if (found.mtime > newest.mtime) newest = found;
  }
  return newest;
}
