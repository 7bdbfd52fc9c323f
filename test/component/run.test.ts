/**
 * The component's job, run by gitlab-ci-local on this host (--force-shell-executor, so `job-image` is not
 * used): it publishes the fixture flake's image to the emulator with the working tree's CLI as the tool,
 * and writes the dotenv report. Stub tools check the KVM guard and the workload identity credentials.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir } from '../nix-stage/helpers.ts';
import {
  componentProject,
  includeComponent,
  PUBLISH_JOB as JOB,
  plain,
  runPublishJob,
  WORKING_TREE_CLI,
} from './helpers.ts';

const PROJECT = 'component-project';
const BUCKET = 'component-images';
const FAMILY = 'component-runners';

const runJob = (dir: string, variables: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) =>
  runPublishJob(dir, { variables, env });

function dotenv(dir: string): Record<string, string> {
  const file = join(dir, '.gitlab-ci-local/artifacts', JOB, '.gitlab-ci-reports/dotenv/nix-glab-runner.env');
  const text = readFileSync(file, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('the job publishes against the emulator', () => {
  let emu: Emulator;

  beforeAll(async () => {
    requireNix();
    emu = await startEmulator({ dataDir: tempDir('component-emu'), operationMs: 50 });
    await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
  });
  afterAll(() => emu?.stop());

  it('builds the fixture flake, creates a READY image and reports its outputs as dotenv', async () => {
    const flake = fixtureRepo();
    const { dir } = componentProject({
      'runner.nix': '{ services.example.enable = true; }\n',
      '.gitlab-ci.yml': includeComponent({
        'tool-command': WORKING_TREE_CLI,
        kvm: 'optional',
        flake,
        'extra-modules': 'runner.nix',
        project: PROJECT,
        bucket: BUCKET,
        family: FAMILY,
        'storage-endpoint': emu.url,
        'compute-endpoint': emu.url,
        labels: 'team=infra',
      }),
    });
    const run = await runJob(dir, {}, { NIX_CONFIG: TEST_NIX_CONFIG });
    const log = plain(run.stdout + run.stderr);
    expect(run.code, log).toBe(0);
    expect(log).toMatch(/nix-glab-runner component \S+ at commit [0-9a-f]{40}/);

    const outputs = dotenv(dir);
    expect(Object.keys(outputs).every((key) => /^[A-Za-z0-9_]+$/.test(key))).toBe(true);
    expect(outputs.SKIPPED).toBe('false');
    expect(outputs.IMAGE_FAMILY).toBe(FAMILY);
    expect(outputs.NIX_HASH).toMatch(/^[0-9a-z]{32}$/);
    expect(outputs.IMAGE_NAME).toBe(`${FAMILY}-${outputs.NIX_HASH}`);
    expect(outputs.STORE_PATH).toBe(`/nix/store/${outputs.NIX_HASH}${outputs.STORE_PATH?.slice(43)}`);
    expect(outputs.GCS_URI).toMatch(new RegExp(`^gs://${BUCKET}/`));

    const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images/${outputs.IMAGE_NAME}`);
    const image = (await res.json()) as { status: string; selfLink: string; labels: Record<string, string> };
    expect(image.status).toBe('READY');
    expect(image.selfLink).toBe(outputs.IMAGE_SELF_LINK);
    expect(image.labels).toMatchObject({ team: 'infra', 'nix-hash': outputs.NIX_HASH });
  });
});

/** A stand-in tool: records its arguments and the credential files, prints outputs like the CLI. */
const STUB_TOOL = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$@" > "$STUB_OUT/args"
if [ -n "\${GOOGLE_APPLICATION_CREDENTIALS:-}" ]; then
  cp "$GOOGLE_APPLICATION_CREDENTIALS" "$STUB_OUT/credentials.json"
  stat -c %a "$GOOGLE_APPLICATION_CREDENTIALS" > "$STUB_OUT/credentials.mode"
  token_file=$(sed -n 's/.*"file": "\\([^"]*\\)".*/\\1/p' "$GOOGLE_APPLICATION_CREDENTIALS")
  cp "$token_file" "$STUB_OUT/token"
  echo "$GOOGLE_APPLICATION_CREDENTIALS" > "$STUB_OUT/credentials.path"
fi
echo '{"image-name":"stub-image","image-self-link":"https://compute.example/stub-image","image-family":"stub","gcs-uri":"","store-path":"","nix-hash":"0123","skipped":"true","plan":"[{\\"action\\":\\"create\\"}]","drain-timeouts":""}'
`;

describe.concurrent('the job around the tool', () => {
  const provider = 'projects/123456789/locations/global/workloadIdentityPools/gitlab/providers/gitlab-com';

  const stubProject = (inputs: Record<string, unknown>) =>
    componentProject({
      'stub-tool': STUB_TOOL,
      '.gitlab-ci.yml': includeComponent({ 'tool-command': './stub-tool', bucket: 'b', ...inputs }),
    });

  it('writes an external_account file outside the project from the ID token, passes inputs intact', async () => {
    const out = tempDir('component-stub');
    const { dir } = stubProject({
      kvm: 'optional',
      'workload-identity-provider': provider,
      'service-account': 'publisher@my-project.iam.gserviceaccount.com',
      description: `it's "quoted"; rm -rf / && echo pwned`,
      'extra-modules': 'a.nix\nb.nix',
    });
    chmodSync(join(dir, 'stub-tool'), 0o755);
    // GitLab leaves component.version empty for a SHA include (gitlab-ci-local fills in the SHA); the job
    // pins the tool by sha and only logs the version.
    const run = await runJob(dir, { GCP_ID_TOKEN: 'header.payload.signature' }, { STUB_OUT: out });
    expect(run.code, plain(run.stdout + run.stderr)).toBe(0);
    expect(plain(run.stdout)).toMatch(/nix-glab-runner component \S+ at commit [0-9a-f]{40}/);

    const credentials = JSON.parse(readFileSync(join(out, 'credentials.json'), 'utf8'));
    expect(credentials).toMatchObject({
      type: 'external_account',
      audience: `//iam.googleapis.com/${provider}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://sts.googleapis.com/v1/token',
      service_account_impersonation_url:
        'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/publisher@my-project.iam.gserviceaccount.com:generateAccessToken',
    });
    expect(readFileSync(join(out, 'token'), 'utf8')).toBe('header.payload.signature');
    expect(readFileSync(join(out, 'credentials.mode'), 'utf8').trim()).toBe('600');
    const path = readFileSync(join(out, 'credentials.path'), 'utf8').trim();
    expect(path.startsWith(dir)).toBe(false);
    expect(existsSync(path), 'the credentials are removed when the job ends').toBe(false);

    const args = readFileSync(join(out, 'args'), 'utf8').split('\n');
    expect(args[0]).toBe('publish');
    expect(args).toContain(`--description=it's "quoted"; rm -rf / && echo pwned`);
    expect(args).toContain('--bucket=b');
    expect(args).toContain('--keep-object=false');
    expect(args).toContain('--json');
    expect(args.some((a) => a.startsWith('--flake='))).toBe(false);
    // The list value keeps its newline inside the one argument.
    expect(readFileSync(join(out, 'args'), 'utf8')).toContain('--extra-modules=a.nix\nb.nix\n');

    expect(dotenv(dir)).toEqual({
      IMAGE_NAME: 'stub-image',
      IMAGE_SELF_LINK: 'https://compute.example/stub-image',
      IMAGE_FAMILY: 'stub',
      GCS_URI: '',
      STORE_PATH: '',
      NIX_HASH: '0123',
      SKIPPED: 'true',
      DRAIN_TIMEOUTS: '',
    });
    // A JSON-valued output (the dry-run plan) stays out of the dotenv report, in the JSON artifact.
    const json = readFileSync(join(dir, '.gitlab-ci-local/artifacts', JOB, 'nix-glab-runner.json'), 'utf8');
    expect(JSON.parse(json)).toMatchObject({ 'image-name': 'stub-image', plan: '[{"action":"create"}]' });
  });

  it('refuses workload identity without an ID token', async () => {
    const { dir } = stubProject({ kvm: 'optional', 'workload-identity-provider': provider });
    chmodSync(join(dir, 'stub-tool'), 0o755);
    const run = await runJob(dir, {}, { STUB_OUT: tempDir('component-stub') });
    expect(run.code).not.toBe(0);
    expect(plain(run.stdout + run.stderr)).toContain('no GitLab ID token in GCP_ID_TOKEN');
  });

  it('with kvm: required, stops at once on a host without a usable /dev/kvm', async () => {
    const out = tempDir('component-stub');
    const { dir } = stubProject({});
    chmodSync(join(dir, 'stub-tool'), 0o755);
    const run = await runJob(dir, {}, { STUB_OUT: out });
    const log = plain(run.stdout + run.stderr).replace(/\s+/g, ' ');
    let usable = false;
    try {
      usable = statSync('/dev/kvm').isCharacterDevice();
    } catch {}
    if (usable) {
      // A KVM host (such as a CI runner with KVM enabled) passes the guard and reaches the tool.
      expect(run.code, log).toBe(0);
      expect(existsSync(join(out, 'args'))).toBe(true);
    } else {
      expect(run.code).not.toBe(0);
      expect(log).toContain('error: /dev/kvm is missing or not read-writable in this job');
      expect(log).toContain('set the input kvm: optional');
      expect(existsSync(join(out, 'args')), 'the tool never ran').toBe(false);
    }
  });
});
