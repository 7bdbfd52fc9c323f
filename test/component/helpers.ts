/**
 * Running the GitLab component under gitlab-ci-local (a devDependency, run with the Node 24 that runs the
 * tests). A component project is a throwaway git repository whose origin looks like a GitLab project, so
 * `component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/gitlab-ci@$CI_COMMIT_SHA` resolves to its own working tree
 * offline, as it does for this repository's self-test in GitLab.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/cli.ts';
import { requireTool } from '../nix-stage/helpers.ts';

export { requireTool };

export const TEMPLATE = join(REPO_ROOT, 'templates', 'gitlab-ci', 'template.yml');
const GITLAB_CI_LOCAL = join(REPO_ROOT, 'node_modules', 'gitlab-ci-local', 'dist', 'index.js');

/** The include line of a project testing its own component (docs/architecture.md, "GitLab components and runners"). */
export const SELF_INCLUDE = '$CI_SERVER_FQDN/$CI_PROJECT_PATH/gitlab-ci@$CI_COMMIT_SHA';

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=test@example.invalid', '-c', 'user.name=test', '-C', dir, ...args],
    { encoding: 'utf8' },
  ).trim();
}

/**
 * A git repository holding the component (copied from the working tree) and the given files, committed,
 * with an origin on gitlab.example.com. Returns its directory and commit.
 */
export function componentProject(files: Record<string, string>): { dir: string; sha: string } {
  requireTool('git', 'apt-get install -y git');
  const dir = mkdtempSync(join(tmpdir(), 'ngr-test-component-'));
  mkdirSync(join(dir, 'templates', 'gitlab-ci'), { recursive: true });
  cpSync(TEMPLATE, join(dir, 'templates', 'gitlab-ci', 'template.yml'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'remote', 'add', 'origin', 'git@gitlab.example.com:pcboy/nix-glab-runner.git');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'component project');
  // gitlab-ci-local asks for the remote's default branch; a local ref answers without a fetch.
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  git(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  return { dir, sha: git(dir, 'rev-parse', 'HEAD') };
}

/** A .gitlab-ci.yml that includes the component by SHA with the given inputs (JSON is valid YAML). */
export function includeComponent(inputs: Record<string, unknown>, extra = ''): string {
  return `include:\n  - component: ${SELF_INCLUDE}\n    inputs: ${JSON.stringify(inputs)}\n${extra}`;
}

export interface GclRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment minus anything that would point a job at real Google, a real CI or a real GitLab. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(GOOGLE_|CLOUDSDK_|GITHUB_|INPUT_|CI_|GCL_|NGR_)/.test(key) || key === 'CI') delete env[key];
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs gitlab-ci-local in `cwd` with Node 24. */
export function gitlabCiLocal(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<GclRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GITLAB_CI_LOCAL, ...args], {
      cwd: opts.cwd,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface PreviewJob {
  stage: string;
  image?: { name: string };
  rules?: unknown[];
  resource_group?: string;
  id_tokens?: Record<string, { aud: string | string[] }>;
  variables: Record<string, string>;
  script: string[];
  artifacts?: { reports?: { dotenv?: string } };
  [key: string]: unknown;
}

/** The component's publish job. */
export const PUBLISH_JOB = 'nix-glab-runner-publish';

/** The working tree's CLI, run from source with the Node 24 running this test: a `tool-command`. */
export const WORKING_TREE_CLI = [
  process.execPath,
  '--import',
  pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href,
  join(REPO_ROOT, 'src/cli/index.ts'),
].join(' ');

/**
 * Runs the publish job of the component project in `dir` on this host, as a scheduled pipeline, with
 * `variables` as pipeline variables (gitlab-ci-local's --variable) and `env` for the job's environment.
 */
export function runPublishJob(
  dir: string,
  opts: { variables?: Record<string, string>; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<GclRun> {
  requireTool('rsync', 'gitlab-ci-local copies artifacts with it: apt-get install -y rsync');
  const args = ['--force-shell-executor', '--variable', 'CI_PIPELINE_SOURCE=schedule'];
  for (const [key, value] of Object.entries(opts.variables ?? {})) args.push('--variable', `${key}=${value}`);
  return gitlabCiLocal([...args, PUBLISH_JOB], {
    cwd: dir,
    env: opts.env ?? {},
    timeoutMs: opts.timeoutMs ?? 240_000,
  });
}

/** `gitlab-ci-local --preview`: the merged pipeline, after gitlab-ci-local's schema validation. */
export async function preview(cwd: string): Promise<Record<string, PreviewJob>> {
  const run = await gitlabCiLocal(['--preview'], { cwd });
  if (run.code !== 0)
    throw new Error(`gitlab-ci-local --preview failed (${run.code}):\n${run.stderr}\n${run.stdout}`);
  if (!/json schema validated/.test(run.stderr))
    throw new Error(`no schema validation reported:\n${run.stderr}`);
  return parse(run.stdout) as Record<string, PreviewJob>;
}

/** Text without ANSI colour codes or line wrapping, for matching gitlab-ci-local's messages. */
export function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

export function readTemplate(): string {
  return readFileSync(TEMPLATE, 'utf8');
}

/** The job's own settings, written into its script as `name='value'` when the component is included. */
export function scriptSettings(job: { script?: string[] } | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const m of (job?.script ?? []).join('\n').matchAll(/^\s*([a-z_]+)='([^'\n]*)'$/gm))
    settings[m[1] as string] = m[2] as string;
  return settings;
}

/** The input names the job passes on, from the `input_names=( … )` list in its script. */
export function scriptInputNames(job: { script?: string[] } | undefined): string[] {
  const m = /input_names=\(([^)]*)\)/.exec((job?.script ?? []).join('\n'));
  return m ? (m[1] as string).split(/\s+/).filter(Boolean) : [];
}
