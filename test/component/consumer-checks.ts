/**
 * The checks a consumer's pipeline, workflow and flake must pass, wherever the files come from: examples/,
 * or a repository that `nix flake init -t` wrote from flake-templates/consumer.
 */
import { execFileSync } from 'node:child_process';
import { validateWorkflow } from '@action-validator/core';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { INPUTS, OUTPUTS, VERSION } from '../../src/config.ts';
import { componentProject, preview, requireTool, SELF_INCLUDE, scriptSettings } from './helpers.ts';

const DOTENV_KEYS = OUTPUTS.map((o) => o.name.replaceAll('-', '_').toUpperCase());

/** The component include at the current release, then the pipeline rendered by gitlab-ci-local. */
export async function checkGitlabPipeline(text: string, runnerModule: string): Promise<void> {
  const include = (parse(text) as { include: { component: string }[] }).include[0];
  expect(include?.component).toBe(`$CI_SERVER_FQDN/pcboy/nix-glab-runner/gitlab-ci@v${VERSION}`);

  // The released component cannot be fetched here, so the same inputs include the working tree's.
  const local = text.replace(/component: \S+/, `component: ${SELF_INCLUDE}`);
  const { dir } = componentProject({ '.gitlab-ci.yml': local, 'runner.nix': runnerModule });
  const pipeline = await preview(dir);
  const job = pipeline['nix-glab-runner-publish'];
  expect(job?.tags).toEqual(['kvm']);
  expect(job?.timeout).toBe('3h');
  expect(job?.id_tokens).toEqual({ GCP_ID_TOKEN: { aud: '$CI_SERVER_URL' } });
  expect(scriptSettings(job)).toMatchObject({
    provider_input: '$GCP_WORKLOAD_IDENTITY_PROVIDER',
    service_account_input: '$GCP_SERVICE_ACCOUNT',
  });
  // The project's own flake and flake.lock, as on GitHub; empty would build nix-glab-runner's flake.
  expect(job?.variables).toMatchObject({
    NGR_INPUT_FLAKE: '.',
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
}

export interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  id?: string;
  with?: Record<string, string>;
}
export interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress': boolean };
  jobs: Record<string, { steps: Step[] }>;
}

/** Errors of the GitHub workflow schema (@action-validator/core, SchemaStore's schema in WebAssembly). */
export function schemaErrors(text: string): string[] {
  return validateWorkflow(text).errors.map(
    (e) => `${'path' in e ? e.path : ''} ${e.title} ${e.detail ?? ''}`,
  );
}

/**
 * A rebuild: the schema, then what the workflow must do and in which order. It runs when main changes what
 * the image is built from (the lock moves by the pull request of update-lock.yml) and on demand.
 */
export function checkRebuildWorkflow(text: string): void {
  expect(schemaErrors(text)).toEqual([]);
  const workflow = parse(text) as Workflow;
  const steps = Object.values(workflow.jobs)[0]?.steps ?? [];
  const index = (test: (s: Step) => boolean) => steps.findIndex(test);

  // On lock changes and on demand, one run at a time, with an OIDC token.
  expect(workflow.on.push).toEqual({
    branches: ['main'],
    paths: ['flake.lock', 'flake.nix', 'runner.nix'],
  });
  expect(workflow.on).toHaveProperty('workflow_dispatch');
  expect(workflow.concurrency['cancel-in-progress']).toBe(false);
  expect(workflow.concurrency.group).toBeTruthy();
  expect(workflow.permissions['id-token']).toBe('write');

  // Frees disk without removing gcloud, checks flake.lock, authenticates, then publishes and rolls.
  const freeDisk = index((s) => /rm -rf/.test(s.run ?? ''));
  expect(freeDisk).toBeGreaterThanOrEqual(0);
  expect(steps[freeDisk]?.run).not.toMatch(/google-cloud-sdk|gcloud|\/usr\/lib\b|\/usr\/local\/lib\/?\s/);
  for (const step of steps) expect(step.uses ?? '').not.toMatch(/free-disk-space/);

  const lock = index((s) => /nix flake metadata --no-update-lock-file/.test(s.run ?? ''));
  const auth = index((s) => s.uses?.startsWith('google-github-actions/auth@') === true);
  const publish = index((s) => s.uses === `pcboy/nix-glab-runner@v${VERSION.split('.')[0]}`);
  expect(lock).toBeGreaterThan(freeDisk);
  expect(auth).toBeGreaterThan(lock);
  expect(publish).toBeGreaterThan(auth);
  expect(steps[auth]?.with?.workload_identity_provider).toBeTruthy();

  const inputs = steps[publish]?.with ?? {};
  expect(inputs.flake).toBe('.');
  expect(inputs['extra-modules']).toBe('runner.nix');
  expect(inputs.roll).toBe('mig');
  expect(inputs['instance-group']).toBeTruthy();
  const names = INPUTS.map((s) => s.name);
  for (const key of Object.keys(inputs)) expect(names, key).toContain(key);
}

/** The weekly lock update: the schema, and a weekly schedule. */
export function checkUpdateLockWorkflow(text: string): void {
  expect(schemaErrors(text)).toEqual([]);
  const workflow = parse(text) as Workflow;
  expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \* \* [0-6]$/) }]);
}

/** The flake that `flake: .` builds: it parses and re-exports the builders. */
export function checkConsumerFlake(path: string, text: string): void {
  requireTool('nix-instantiate', 'apt-get install -y nix-bin');
  execFileSync('nix-instantiate', ['--parse', path], { stdio: 'pipe' });
  expect(text).toContain('inherit (nix-glab-runner) builders;');
}
