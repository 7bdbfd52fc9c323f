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
import { VERSION } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import {
  checkConsumerFlake,
  checkGitlabPipeline,
  checkRebuildWorkflow,
  checkUpdateLockWorkflow,
  schemaErrors,
  type Workflow,
} from './consumer-checks.ts';
import { componentProject, gitlabCiLocal, plain, preview, SELF_INCLUDE, scriptSettings } from './helpers.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

describe('examples/gitlab: a consumer pipeline', () => {
  it('includes the component at the current release and renders with its inputs, workload identity, the KVM runner override and a dotenv consumer', async () => {
    await checkGitlabPipeline(read('examples/gitlab/.gitlab-ci.yml'), read('examples/gitlab/runner.nix'));
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
    expect(scriptSettings(job).tool_source).toBe('git+$CI_SERVER_URL/$CI_PROJECT_PATH');
    expect(job?.variables).toMatchObject({ NGR_INPUT_DRY_RUN: 'true' });
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

describe('examples/github: a weekly rebuild workflow and its consumer flake', () => {
  it('passes the GitHub workflow schema, runs on lock changes and on demand, one at a time, then checks the lock, authenticates, publishes and rolls', () => {
    checkRebuildWorkflow(read('examples/github/rebuild.yml'));
  });

  it('comes with update-lock.yml, which passes the schema and runs weekly', () => {
    checkUpdateLockWorkflow(read('examples/github/update-lock.yml'));
  });

  it('comes with a consumer flake that parses and re-exports the builders', () => {
    checkConsumerFlake(join(REPO_ROOT, 'examples/github/flake.nix'), read('examples/github/flake.nix'));
  });
});

describe('.github/workflows/release.yml', () => {
  const text = read('.github/workflows/release.yml');
  const workflow = parse(text) as Workflow;

  it('passes the GitHub workflow schema', () => {
    expect(schemaErrors(text)).toEqual([]);
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
