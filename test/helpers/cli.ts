import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI from source as a child process, as a user would run it, with Node 24 (the one npm
 * scripts put first on PATH). `entry: 'dist'` runs the committed bundle instead.
 */
export function runCli(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; entry?: 'src' | 'dist'; timeoutMs?: number },
): Promise<CliRun> {
  const entry = opts.entry === 'dist' ? [join(REPO_ROOT, 'dist/cli/index.js')] : ['--import', pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href, join(REPO_ROOT, 'src/cli/index.ts')];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: opts.cwd,
      env: { ...cleanEnv(), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The parent's environment minus anything that would point the CLI at real Google or a real CI. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(GOOGLE_|CLOUDSDK_|GITHUB_|INPUT_|CI_)/.test(key) || key === 'CI') delete env[key];
  }
  return env;
}
