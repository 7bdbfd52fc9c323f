/**
 * docs/getting-started.md as the tests see it: its marked blocks, the variables block with the test's
 * names, and bash to run blocks in. The marks (HTML comments before a fenced block) say what happens:
 * - `variables`: the shell variables every command uses;
 * - `run`: executed as written against the emulator (getting-started-run.test.ts);
 * - `not run (…)`: IAM, Secret Manager, workload identity, Service Usage: checked with `gcloud … --help`;
 * - `runner module`, `action inputs`, `component inputs`: checked against the module's options, action.yml
 *   and the component's spec (getting-started.test.ts).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.ts';
import { type Block, fencedBlocks, marked } from './marked-blocks.ts';

export const DOC = join(REPO_ROOT, 'docs/getting-started.md');
export const blocks: Block[] = fencedBlocks(readFileSync(DOC, 'utf8'), 'getting-started');

/** The one block with this mark. */
export function one(mark: string): Block {
  const found = marked(blocks, mark);
  if (found.length !== 1) throw new Error(`expected one "${mark}" block in ${DOC}, found ${found.length}`);
  return found[0] as Block;
}

/** The names the tests give the project, region and bucket instead of the page's. */
export const TEST_NAMES = { PROJECT_ID: 'doc-project', REGION: 'us-east4', BUCKET: 'doc-project-images' };

/** A variable as the page sets it, e.g. `REGION` → `europe-west1`. */
export function pageValue(name: keyof typeof TEST_NAMES): string {
  const value = new RegExp(`^${name}=(\\S+)`, 'm').exec(one('variables').body)?.[1];
  if (!value) throw new Error(`the variables block does not set ${name}`);
  return value;
}

/** The page's variables block with only the project and names changed. */
export function testVariables(): string {
  let body = one('variables').body;
  for (const [name, value] of Object.entries(TEST_NAMES)) {
    pageValue(name as keyof typeof TEST_NAMES);
    body = body.replace(new RegExp(`^${name}=\\S+`, 'm'), `${name}=${value}`);
  }
  return body;
}

export interface BashRun {
  code: number | null;
  output: string;
}

/**
 * Runs a script with bash, stdout and stderr together. When the output matches `stopOn`, the script and
 * everything it started get SIGTERM, so a run that has gone wrong fails at once instead of at its timeout.
 */
export function bash(
  script: string,
  opts: { cwd: string; env: NodeJS.ProcessEnv; stopOn?: RegExp },
): Promise<BashRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const collect = (d: Buffer) => {
      output += d;
      if (opts.stopOn?.test(output) && child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The environment minus anything pointing at real Google or a real CI, as test/helpers/cli.ts does. */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(GOOGLE_|CLOUDSDK_|GITHUB_|INPUT_|CI_)/.test(key) || key === 'CI') delete env[key];
  }
  return { ...env, ...extra };
}
