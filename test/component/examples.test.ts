/**
 * The example pipelines and workflows, and this repository's own GitLab pipeline and release workflow:
 * GitLab ones rendered by gitlab-ci-local, GitHub ones validated against the workflow schema
 * (@action-validator/core, SchemaStore's schema compiled to WebAssembly) plus what the issue asks of them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUTS, OUTPUTS, VERSION } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { componentProject, gitlabCiLocal, plain, preview, requireTool, SELF_INCLUDE } from './helpers.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const DOTENV_KEYS = OUTPUTS.map((o) => o.name.replaceAll('-', '_').toUpperCase());

describe('examples/gitlab: a consumer pipeline', () => {
  const text = read('examples/gitlab/.gitlab-ci.yml');

  it('includes the component at the current release', () => {
    const include = (parse(text) as { include: { component: string }[] }).include[0];
    expect(include?.component).toBe(`$CI_SERVER_FQDN/pcboy/nix-glab-runner/gitlab-ci@v${VERSION}`);
  });

  it('renders with its inputs, workload identity, the KVM runner override and a dotenv consumer', async () => {
    // The released component cannot be fetched here, so the same inputs include the working tree's.
    const local = text.replace(/component: \S+/, `component: ${SELF_INCLUDE}`);
    const { dir } = componentProject({
      '.gitlab-ci.yml': local,
      'runner.nix': read('examples/gitlab/runner.nix'),
    });
    const pipeline = await preview(dir);
    const job = pipeline['nix-glab-runner-publish'];
    expect(job?.tags).toEqual(['kvm']);
    expect(job?.timeout).toBe('3h');
    expect(job?.id_tokens).toEqual({ GCP_ID_TOKEN: { aud: '$CI_SERVER_URL' } });
    expect(job?.variables).toMatchObject({
      NGR_WORKLOAD_IDENTITY_PROVIDER: '$GCP_WORKLOAD_IDENTITY_PROVIDER',
      NGR_SERVICE_ACCOUNT: '$GCP_SERVICE_ACCOUNT',
      NGR_INPUT_PROJECT: '$GCP_PROJECT',
      NGR_INPUT_BUCKET: '$GCP_BUCKET',
      NGR_INPUT_EXTRA_MODULES: 'runner.nix',
      NGR_INPUT_ROLL: 'mig',
      NGR_INPUT_INSTANCE_GROUP: '$RUNNER_GROUP',
      NGR_INPUT_KEEP: '4',
    });
    // The default rules: schedules and pipelines run from the UI.
    expect(job?.rules).toEqual([
      { if: '$CI_PIPELINE_SOURCE == "schedule"' },
      { if: '$CI_PIPELINE_SOURCE == "web"' },
    ]);

    const announce = pipeline['announce-image'];
    expect(announce?.needs).toEqual([expect.objectContaining({ job: 'nix-glab-runner-publish' })]);
    const used = announce?.script.join('\n').match(/\$[A-Z_]+/g) ?? [];
    for (const variable of used) expect(DOTENV_KEYS).toContain(variable.slice(1));
  });
});

describe("this repository's .gitlab-ci.yml", () => {
  const text = read('.gitlab-ci.yml');
  const project = () => componentProject({ '.gitlab-ci.yml': text, 'package.json': read('package.json') });

  it('includes the component by its own SHA, and the job appears with the self-test inputs', async () => {
    expect(text).toContain(`component: ${SELF_INCLUDE}`);
    const pipeline = await preview(project().dir);
    const job = pipeline['selftest-publish'];
    expect(job?.stage).toBe('test');
    expect(job?.rules).toEqual([
      { if: '$CI_COMMIT_BRANCH || $CI_COMMIT_TAG', when: 'manual', allow_failure: true },
    ]);
    expect(job?.variables).toMatchObject({
      NGR_TOOL_SOURCE: 'git+$CI_SERVER_URL/$CI_PROJECT_PATH',
      NGR_INPUT_DRY_RUN: 'true',
    });
    expect(pipeline['component-tests']?.script.join('\n')).toContain('npx vitest run test/component');

    const release = pipeline['catalog-release'];
    expect(release?.stage).toBe('release');
    expect(release?.release).toMatchObject({ tag_name: '$CI_COMMIT_TAG' });
    const rule = ((release?.rules ?? []) as { if: string }[])[0]?.if ?? '';
    const pattern = new RegExp(rule.replace(/^\$CI_COMMIT_TAG =~ \/(.*)\/$/, '$1'));
    expect(pattern.test(`v${VERSION}`)).toBe(true);
    for (const tag of ['v1', '1.2.3', 'v1.2.3-rc1', 'v1.2']) expect(pattern.test(tag), tag).toBe(false);
  });

  it('releases only the tag that is package.json version', async () => {
    const { dir } = project();
    const run = (tag: string) =>
      gitlabCiLocal(['--force-shell-executor', '--variable', `CI_COMMIT_TAG=${tag}`, 'catalog-release'], {
        cwd: dir,
      });
    const [good, bad] = await Promise.all([run(`v${VERSION}`), run('v9.9.99')]);
    expect(good.code, plain(good.stdout + good.stderr)).toBe(0);
    expect(bad.code).not.toBe(0);
    expect(plain(bad.stdout + bad.stderr)).toContain(
      `Tag v9.9.99 is not package.json's version v${VERSION}.`,
    );
  });
});

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  id?: string;
  with?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress': boolean };
  jobs: Record<string, { steps: Step[] }>;
}

function schemaErrors(path: string): string[] {
  const state = validateWorkflow(read(path));
  return state.errors.map((e) => `${'path' in e ? e.path : ''} ${e.title} ${e.detail ?? ''}`);
}

describe('examples/github/rebuild.yml', () => {
  const workflow = parse(read('examples/github/rebuild.yml')) as Workflow;
  const steps = Object.values(workflow.jobs)[0]?.steps ?? [];
  const index = (test: (s: Step) => boolean) => steps.findIndex(test);

  it('passes the GitHub workflow schema', () => {
    expect(schemaErrors('examples/github/rebuild.yml')).toEqual([]);
  });

  it('runs weekly and on demand, one run at a time, with an OIDC token', () => {
    expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \* \* [0-6]$/) }]);
    expect(workflow.on).toHaveProperty('workflow_dispatch');
    expect(workflow.concurrency['cancel-in-progress']).toBe(false);
    expect(workflow.concurrency.group).toBeTruthy();
    expect(workflow.permissions['id-token']).toBe('write');
  });

  it('frees disk without removing gcloud, updates flake.lock, authenticates, then publishes and rolls', () => {
    const freeDisk = index((s) => /rm -rf/.test(s.run ?? ''));
    expect(freeDisk).toBeGreaterThanOrEqual(0);
    expect(steps[freeDisk]?.run).not.toMatch(/google-cloud-sdk|gcloud|\/usr\/lib\b|\/usr\/local\/lib\/?\s/);
    for (const step of steps) expect(step.uses ?? '').not.toMatch(/free-disk-space/);

    const update = index((s) => /nix flake update/.test(s.run ?? ''));
    const auth = index((s) => s.uses?.startsWith('google-github-actions/auth@') === true);
    const publish = index((s) => s.uses === `pcboy/nix-glab-runner@v${VERSION.split('.')[0]}`);
    expect(update).toBeGreaterThan(freeDisk);
    expect(auth).toBeGreaterThan(update);
    expect(publish).toBeGreaterThan(auth);
    expect(steps[auth]?.with?.workload_identity_provider).toBeTruthy();

    const inputs = steps[publish]?.with ?? {};
    expect(inputs.roll).toBe('mig');
    expect(inputs['instance-group']).toBeTruthy();
    const names = INPUTS.map((s) => s.name);
    for (const key of Object.keys(inputs)) expect(names, key).toContain(key);
  });

  it('comes with a consumer flake that parses', () => {
    requireTool('nix-instantiate', 'apt-get install -y nix-bin');
    execFileSync('nix-instantiate', ['--parse', join(REPO_ROOT, 'examples/github/flake.nix')], {
      stdio: 'pipe',
    });
    expect(read('examples/github/flake.nix')).toContain('builders');
  });
});

describe('.github/workflows/release.yml', () => {
  const text = read('.github/workflows/release.yml');
  const workflow = parse(text) as Workflow;

  it('passes the GitHub workflow schema', () => {
    expect(schemaErrors('.github/workflows/release.yml')).toEqual([]);
  });

  it('runs on vX.Y.Z tags, checks the version and moves the major tag', () => {
    expect(workflow.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } });
    expect(workflow.permissions.contents).toBe('write');
    expect(text).toContain('require("./package.json").version');
    expect(text).toContain('gen-component.ts --check');
    // The major tag of v1.2.3 is v1, as the shell computes it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JS template
    const major = execFileSync('bash', ['-c', 'tag=v1.2.3; echo "${tag%%.*}"'], { encoding: 'utf8' }).trim();
    expect(major).toBe('v1');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JS template
    expect(text).toContain('major="${GITHUB_REF_NAME%%.*}"');
  });

  it('schema validation does catch a broken workflow', () => {
    expect(validateWorkflow('on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n').errors).not.toEqual([]);
  });
});
