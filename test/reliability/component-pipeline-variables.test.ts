/**
 * The GitLab component against a hostile pipeline: values that try to become part of the credentials file,
 * and pipeline variables (which outrank a job's own variables) that try to swap the tool or make the job
 * run code. Each case runs the real component job under gitlab-ci-local with a stand-in tool.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentProject, includeComponent, plain, runPublishJob } from '../component/helpers.ts';
import { tempDir } from '../nix-stage/helpers.ts';

const PROVIDER = 'projects/123456789/locations/global/workloadIdentityPools/gitlab/providers/gitlab-com';

/** Records that it ran and the credentials file it was given, and prints outputs like the CLI. */
const STUB_TOOL = `#!/usr/bin/env bash
set -euo pipefail
touch "$STUB_OUT/ran"
if [ -n "\${GOOGLE_APPLICATION_CREDENTIALS:-}" ]; then cp "$GOOGLE_APPLICATION_CREDENTIALS" "$STUB_OUT/credentials.json"; fi
echo '{"image-name":"stub-image","skipped":true}'
`;

/** What a hostile pipeline variable would run instead of the tool. */
const EVIL_TOOL = `#!/usr/bin/env bash
touch "$STUB_OUT/evil-ran"
echo '{"image-name":"evil"}'
`;

function project(inputs: Record<string, unknown>) {
  const { dir } = componentProject({
    'stub-tool': STUB_TOOL,
    'evil-tool': EVIL_TOOL,
    '.gitlab-ci.yml': includeComponent({
      'tool-command': './stub-tool',
      kvm: 'optional',
      bucket: 'b',
      ...inputs,
    }),
  });
  chmodSync(join(dir, 'stub-tool'), 0o755);
  chmodSync(join(dir, 'evil-tool'), 0o755);
  return dir;
}

/** Runs the job with `variables` as pipeline variables (gitlab-ci-local's --variable). */
async function runJob(dir: string, variables: Record<string, string>, out: string) {
  const run = await runPublishJob(dir, { variables, env: { STUB_OUT: out }, timeoutMs: 120_000 });
  return { ...run, log: plain(run.stdout + run.stderr) };
}

/** Closes the JSON string and adds a token_url of its own: the GitLab ID token would be sent there. */
const INJECTION = 'x@y.iam.gserviceaccount.com","token_url":"http://127.0.0.1:9/steal';

describe('6. Hostile input and ownership', () => {
  describe('component: credentials file', () => {
    it('a service-account input with a quote is refused when the component is included', async () => {
      const out = tempDir('hostile-sa');
      const dir = project({ 'workload-identity-provider': PROVIDER, 'service-account': INJECTION });
      const run = await runJob(dir, { GCP_ID_TOKEN: 'header.payload.signature' }, out);
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toMatch(/service-account.*does not match required regex/);
      expect(existsSync(join(out, 'ran')), 'the tool never ran').toBe(false);
    });

    it('a service account named by $VARIABLE is validated after expansion; the file keeps Google token_url', async () => {
      const out = tempDir('hostile-sa-var');
      const dir = project({ 'workload-identity-provider': PROVIDER, 'service-account': '$PUBLISHER_SA' });
      const run = await runJob(
        dir,
        { GCP_ID_TOKEN: 'header.payload.signature', PUBLISHER_SA: INJECTION },
        out,
      );
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toContain('error: input service-account must be a service account email');
      expect(existsSync(join(out, 'ran')), 'the tool never ran').toBe(false);
    });

    it('a valid service account named by $VARIABLE reaches the credentials file as one JSON string', async () => {
      const out = tempDir('hostile-sa-ok');
      const dir = project({ 'workload-identity-provider': PROVIDER, 'service-account': '$PUBLISHER_SA' });
      const account = 'publisher@my-project.iam.gserviceaccount.com';
      const run = await runJob(dir, { GCP_ID_TOKEN: 'header.payload.signature', PUBLISHER_SA: account }, out);
      expect(run.code, run.log).toBe(0);
      const credentials = JSON.parse(readFileSync(join(out, 'credentials.json'), 'utf8'));
      expect(credentials.token_url).toBe('https://sts.googleapis.com/v1/token');
      expect(credentials.service_account_impersonation_url).toBe(
        `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${account}:generateAccessToken`,
      );
    });
  });

  describe('component: variable references', () => {
    it('a $ in tool-source other than a plain variable reference is refused, not evaluated', async () => {
      const out = tempDir('hostile-source');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JS template
      const dir = project({ 'tool-command': '', 'tool-source': 'github:evil/${X:-fork}' });
      const run = await runJob(dir, {}, out);
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toMatch(/may use \$NAME or \$\{NAME\} references to CI\/CD variables, nothing else/);
    });
  });

  describe('component: pipeline variables', () => {
    it('a pipeline variable cannot replace the tool the component was included with', async () => {
      const out = tempDir('hostile-tool');
      const dir = project({});
      const run = await runJob(
        dir,
        { NGR_TOOL_COMMAND: './evil-tool', NGR_TOOL_SOURCE: 'github:evil/fork' },
        out,
      );
      expect(run.code, run.log).toBe(0);
      expect(existsSync(join(out, 'evil-ran')), 'the pipeline variable swapped the tool').toBe(false);
      expect(existsSync(join(out, 'ran'))).toBe(true);
    });

    it('a pipeline variable cannot pin the tool to another commit', async () => {
      const out = tempDir('hostile-sha');
      const dir = project({});
      const run = await runJob(dir, { NGR_COMPONENT_SHA: 'f'.repeat(40) }, out);
      expect(run.code, run.log).toBe(0);
      expect(run.log).not.toContain('f'.repeat(40));
    });

    it('a pipeline variable cannot make the job expand and run what a variable name hides', async () => {
      const out = tempDir('hostile-names');
      const dir = project({});
      // A subscript in an indirectly expanded name is evaluated by bash, command substitution included.
      const run = await runJob(
        dir,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JS template
        { NGR_INPUT_NAMES: 'bucket A[$(${EVIL})]', EVIL: `touch ${join(out, 'pwned')}` },
        out,
      );
      expect(existsSync(join(out, 'pwned')), run.log).toBe(false);
      expect(run.code, run.log).toBe(0);
    });
  });
});
