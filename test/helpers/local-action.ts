import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

/**
 * Runs the action's `run()` (src/main.ts) under @github/local-action, which stubs @actions/core as the
 * runner would, with the inputs and GITHUB_* variables of a dotenv file. The parent's own CI, GitHub and
 * Google variables are dropped so they cannot leak into the run.
 */
export function localAction(envFile: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(REPO_ROOT, 'node_modules/.bin/local-action'),
      ['run', REPO_ROOT, 'src/main.ts', envFile],
      {
        cwd: REPO_ROOT,
        env: Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !/^(INPUT_|GITHUB_|GOOGLE_|CI$)/.test(k)),
        ),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** local-action prints each core.setOutput call as `::set-output name=N::V`. */
export function outputsOf(out: string): Record<string, string> {
  return Object.fromEntries(
    [...out.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
}

/** Inputs as the runner passes them to an action: `INPUT_<NAME>`, upper-cased, dashes kept. */
export function actionEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
}

/**
 * A dotenv file for `localAction`, written in `dir` as `<name>.env`: the inputs, GITHUB_WORKSPACE=`ws`
 * and an empty step summary (`<name>.md`), whose path it returns too.
 */
export function actionEnvFile(
  dir: string,
  inputs: Record<string, string>,
  ws: string,
  name = 'action',
): { file: string; summary: string } {
  const file = join(dir, `${name}.env`);
  const summary = join(dir, `${name}.md`);
  writeFileSync(summary, '');
  const vars = { ...actionEnv(inputs), GITHUB_WORKSPACE: ws, GITHUB_STEP_SUMMARY: summary };
  writeFileSync(
    file,
    `${Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  return { file, summary };
}
