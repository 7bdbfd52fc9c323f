/**
 * Issue 7, section 5: a random canary is planted in the credentials (a gha-creds-<canary>.json in the
 * workspace, pointed at by the variables google-github-actions/auth and gcloud read), in the environment
 * (an unrelated SECRET_TOKEN, access-token variables) and in the inputs (github-token, extra-nix-config,
 * an endpoint with credentials). A full publish through the bundled action, a CLI publish and a roll run
 * against the emulator; the canary must show up nowhere they write: stdout, stderr, the job summary, the
 * GITHUB_OUTPUT file, error messages, object metadata and contents, image labels and descriptions, instance
 * templates and groups, the emulator's request log, and the store paths the Nix build added.
 *
 * The runner module's own guard, that no token path is in the Nix store, is an assertion in
 * nix/modules/runner.nix (tested by test/nix/options.test.ts); it is not repeated here.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { errorLine, publishArgs, runBundledAction, runCli } from '../helpers/cli.ts';
import { BUCKET, FAMILY, type Lab, lab, PROJECT, template, ZONE } from '../lifecycle/helpers.ts';
import {
  filesContaining,
  fixtureRepo,
  requireNix,
  storePathsAddedSince,
  TEST_NIX_CONFIG,
  tempDir,
} from '../nix-stage/helpers.ts';

const CANARY = `canary${randomBytes(12).toString('hex')}`;
const CREDS = `gha-creds-${CANARY}.json`;

/** Credentials and unrelated secrets, as a CI job would have them; none applies to a loopback endpoint. */
function secretEnv(ws: string): NodeJS.ProcessEnv {
  const creds = join(ws, CREDS);
  return {
    GOOGLE_APPLICATION_CREDENTIALS: creds,
    GOOGLE_GHA_CREDS_PATH: creds,
    CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: creds,
    CLOUDSDK_AUTH_ACCESS_TOKEN: CANARY,
    GOOGLE_OAUTH_ACCESS_TOKEN: CANARY,
    SECRET_TOKEN: CANARY,
    CI_JOB_TOKEN: CANARY,
  };
}

/** Lines of the output that hold the canary, leaving out `::add-mask::`, the runner's masking command. */
function leaks(text: string): string[] {
  return text.split('\n').filter((line) => line.includes(CANARY) && !line.startsWith('::add-mask::'));
}

describe('5. Secrets', () => {
  it('the action masks the tokens in an extra-nix-config access-tokens line', async () => {
    const ws = tempDir('secrets-mask');
    const gitlab = `glpat${randomBytes(8).toString('hex')}`;
    // No bucket: the run fails at its configuration, after the masking.
    const run = await runBundledAction(
      {
        'INPUT_EXTRA-NIX-CONFIG': `substituters = https://cache.nixos.org\naccess-tokens = github.com=${CANARY} gitlab.com=PAT:${gitlab}`,
        GITHUB_WORKSPACE: ws,
      },
      ws,
    );
    const masks = `${run.stdout}\n${run.stderr}`
      .split('\n')
      .filter((line) => line.startsWith('::add-mask::'));
    expect(masks).toEqual([`::add-mask::${CANARY}`, `::add-mask::${gitlab}`]);
  });

  describe('canary in credentials, environment and inputs', () => {
    let l: Lab;
    let flake: string;
    const storeBefore = new Set<string>();

    const api = async (path: string): Promise<string> => {
      const res = await fetch(`${l.emu.url}${path}`);
      expect(res.status, path).toBe(200);
      return await res.text();
    };
    /** Every bucket, object and object's metadata the emulator holds, as JSON text. */
    const storageDump = async () => {
      const buckets = JSON.parse(await api(`/storage/v1/b?project=${PROJECT}`)) as {
        items?: { name: string }[];
      };
      const objects: { bucket: string; name: string; metadata?: Record<string, string> }[] = [];
      for (const b of buckets.items ?? []) {
        const list = JSON.parse(await api(`/storage/v1/b/${b.name}/o`)) as { items?: typeof objects };
        objects.push(...(list.items ?? []));
      }
      return { text: JSON.stringify({ buckets, objects }), objects };
    };
    const computeDump = async () =>
      [
        await api(`/compute/v1/projects/${PROJECT}/global/images`),
        await api(`/compute/v1/projects/${PROJECT}/global/instanceTemplates`),
        await api(`/compute/v1/projects/${PROJECT}/zones/${ZONE}/instanceGroupManagers`),
      ].join('\n');
    const requestLog = () => JSON.stringify(l.emu.requests.entries);

    beforeAll(async () => {
      requireNix();
      l = await lab();
      flake = fixtureRepo();
      // A fresh module per run, so the build really builds and the store scan sees what it added.
      writeFileSync(
        join(l.ws, 'runner.nix'),
        `{ networking.hostName = "canary-ws"; } # ${randomBytes(6).toString('hex')}\n`,
      );
      writeFileSync(
        join(l.ws, CREDS),
        JSON.stringify({ type: 'external_account', audience: CANARY, credential_source: { file: CANARY } }),
      );
      for (const entry of readdirSync('/nix/store')) storeBefore.add(entry);
    }, 60_000);
    afterAll(() => l?.stop());

    it('a full publish through the action', async () => {
      const dir = tempDir('secrets-action');
      const summary = join(dir, 'summary.md');
      const output = join(dir, 'output');
      writeFileSync(summary, '');
      writeFileSync(output, '');
      const run = await runBundledAction(
        {
          ...secretEnv(l.ws),
          'INPUT_GITHUB-TOKEN': CANARY,
          'INPUT_EXTRA-NIX-CONFIG': `access-tokens = github.com=${CANARY}`,
          INPUT_FLAKE: flake,
          'INPUT_EXTRA-MODULES': 'runner.nix',
          INPUT_PROJECT: PROJECT,
          INPUT_BUCKET: BUCKET,
          INPUT_FAMILY: FAMILY,
          'INPUT_KEEP-OBJECT': 'true',
          'INPUT_STORAGE-ENDPOINT': l.emu.url,
          'INPUT_COMPUTE-ENDPOINT': l.emu.url,
          GITHUB_WORKSPACE: l.ws,
          GITHUB_STEP_SUMMARY: summary,
          GITHUB_OUTPUT: output,
          GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
          NIX_CONFIG: TEST_NIX_CONFIG,
        },
        l.ws,
        240_000,
      );
      const all = `${run.stdout}\n${run.stderr}`;
      expect(run.code, all).toBe(0);
      // The token input is masked before anything else is printed; that command is the only mention.
      expect(all.split('\n').filter((line) => line.startsWith('::add-mask::'))).toEqual([
        `::add-mask::${CANARY}`,
      ]);
      expect(leaks(all)).toEqual([]);
      const md = readFileSync(summary, 'utf8');
      expect(md).toMatch(/Published/);
      expect(md).not.toContain(CANARY);
      const outputs = readFileSync(output, 'utf8');
      expect(outputs).toMatch(/store-path/);
      expect(outputs).not.toContain(CANARY);

      // Object metadata and contents; only the tarball was uploaded, never a credentials file.
      const storage = await storageDump();
      expect(storage.text).not.toContain(CANARY);
      expect(storage.objects.map((o) => o.name)).toEqual([expect.stringMatching(/\.raw\.tar\.gz$/)]);
      expect(storage.objects.map((o) => o.name).filter((n) => /creds|\.json$/.test(n))).toEqual([]);
      for (const o of storage.objects) {
        const media = await fetch(
          `${l.emu.url}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(o.name)}?alt=media`,
        );
        const bytes = gunzipSync(Buffer.from(await media.arrayBuffer()));
        expect(bytes.includes('canary-ws'), 'the module went into the image').toBe(true);
        expect(bytes.includes(CANARY)).toBe(false);
      }
      // Image labels and description.
      const images = await computeDump();
      expect(images).toMatch(/"description"/);
      expect(images).not.toContain(CANARY);
      expect(requestLog()).not.toContain(CANARY);

      // The Nix store: the build's closure and every path added since the test began (the wrapper flake's
      // copied sources among them). The hostname proves the scan would see a planted file.
      const storePath = /store-path<<(\S+)\n(\S+)\n/.exec(outputs)?.[2] ?? '';
      expect(storePath).toMatch(/^\/nix\/store\//);
      const drv = execFileSync('nix-store', ['-qd', storePath], { encoding: 'utf8' }).trim();
      const closure = execFileSync('nix-store', ['-qR', drv], { encoding: 'utf8' }).trim().split('\n');
      const added = storePathsAddedSince(storeBefore);
      expect(filesContaining([...closure, ...added], 'canary-ws').length).toBeGreaterThan(0);
      expect(filesContaining([...closure, ...added, storePath], CANARY)).toEqual([]);
    }, 240_000);

    it('a CLI publish with --github-token, and its JSON', async () => {
      const tarball = join(l.ws, 'prebuilt.raw.tar.gz');
      // A second, distinct image for the roll below: publish a tarball the lab makes, through the CLI.
      await l.publish(2);
      const src = readdirSync(l.ws).find((f) => f.startsWith('image-2'));
      writeFileSync(tarball, readFileSync(join(l.ws, src as string)));
      for (const json of [[], ['--json']]) {
        const run = await runCli(
          publishArgs(
            { project: PROJECT, bucket: BUCKET, family: FAMILY, url: l.emu.url },
            ...['--github-token', CANARY, '--image-file', 'prebuilt.raw.tar.gz', ...json],
          ),
          { cwd: l.ws, env: secretEnv(l.ws) },
        );
        expect(run.code, run.stderr).toBe(0);
        expect(leaks(`${run.stdout}\n${run.stderr}`)).toEqual([]);
      }
      expect((await storageDump()).text).not.toContain(CANARY);
      expect(await computeDump()).not.toContain(CANARY);
    }, 60_000);

    it('a roll, and the instance templates it writes', async () => {
      const images = JSON.parse(await api(`/compute/v1/projects/${PROJECT}/global/images`)) as {
        items: { name: string; creationTimestamp: string }[];
      };
      const oldest = [...images.items].sort((a, b) =>
        a.creationTimestamp.localeCompare(b.creationTimestamp),
      )[0];
      l.emu.compute.admin.createTemplate(template('secret-tpl', oldest?.name as string), {
        project: PROJECT,
      });
      l.emu.compute.admin.createGroup({
        project: PROJECT,
        zone: ZONE,
        name: 'secret-runners',
        template: 'secret-tpl',
        targetSize: 2,
        ready: true,
      });
      const run = await runCli(
        [
          'roll',
          '--project',
          PROJECT,
          '--family',
          FAMILY,
          '--instance-group',
          `zones/${ZONE}/instanceGroupManagers/secret-runners`,
          '--drain=false',
          '--compute-endpoint',
          l.emu.url,
        ],
        { cwd: l.ws, env: secretEnv(l.ws) },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/instance-template/);
      expect(leaks(`${run.stdout}\n${run.stderr}`)).toEqual([]);
      const compute = await computeDump();
      expect(compute).toMatch(/secret-tpl/);
      expect(compute).not.toContain(CANARY);
      expect(requestLog()).not.toContain(CANARY);
    }, 60_000);

    it('error messages: a failing publish, and credentials in an endpoint', async () => {
      const failing = await runBundledAction(
        {
          ...secretEnv(l.ws),
          'INPUT_GITHUB-TOKEN': CANARY,
          INPUT_PROJECT: PROJECT,
          INPUT_BUCKET: 'no-such-bucket',
          'INPUT_IMAGE-FILE': 'prebuilt.raw.tar.gz',
          'INPUT_STORAGE-ENDPOINT': l.emu.url,
          'INPUT_COMPUTE-ENDPOINT': l.emu.url,
          GITHUB_WORKSPACE: l.ws,
        },
        l.ws,
        240_000,
      );
      const failed = `${failing.stdout}\n${failing.stderr}`;
      expect(failing.code, failed).not.toBe(0);
      expect(failed).toMatch(/^::error::.*no-such-bucket/m);
      expect(leaks(failed)).toEqual([]);

      // A password or a key in an endpoint URL is refused, and the refusal shows it hidden, not repeated.
      const withPassword = new URL(l.emu.url);
      withPassword.username = 'user';
      withPassword.password = CANARY;
      const withKey = new URL(l.emu.url);
      withKey.search = `?key=${CANARY}`;
      const endpoints: [string, string, RegExp][] = [
        ['--storage-endpoint', withPassword.href, /must not contain credentials \(got "http:\/\/\*\*\*@127/],
        ['--compute-endpoint', withPassword.href, /must not contain credentials \(got "http:\/\/\*\*\*@127/],
        [
          '--compute-endpoint',
          withKey.href,
          /must not contain a query or fragment \(got "http:.*\/\?\*\*\*"\)/,
        ],
      ];
      for (const [flag, url, message] of endpoints) {
        const run = await runCli(
          [
            'publish',
            '--project',
            PROJECT,
            '--bucket',
            BUCKET,
            '--image-file',
            'prebuilt.raw.tar.gz',
            flag,
            url,
          ],
          { cwd: l.ws, env: secretEnv(l.ws) },
        );
        expect(run.code).not.toBe(0);
        const error = errorLine(run.stderr);
        expect(error).toMatch(new RegExp(`^Input "${flag.slice(2)}" `));
        expect(error).toMatch(message);
        expect(leaks(`${run.stdout}\n${run.stderr}`)).toEqual([]);
      }
    }, 60_000);

    it('error messages: a flake URL with credentials is refused without repeating them', async () => {
      for (const flake of [
        `git+https://user:${CANARY}@127.0.0.1:1/runner.git`,
        `git+https://${CANARY}@127.0.0.1:1/runner.git`,
        `tarball+https://oauth2:${CANARY}@127.0.0.1:1/runner.tar.gz`,
      ]) {
        l.emu.requests.clear();
        const run = await runCli(
          [
            'publish',
            '--project',
            PROJECT,
            '--bucket',
            BUCKET,
            '--flake',
            flake,
            '--compute-endpoint',
            l.emu.url,
          ],
          { cwd: l.ws, env: { ...secretEnv(l.ws), NIX_CONFIG: TEST_NIX_CONFIG } },
        );
        expect(run.code).not.toBe(0);
        expect(errorLine(run.stderr)).toMatch(
          /^Input "flake" must not contain credentials.*\(got ".*\/\/\*\*\*@127\.0\.0\.1:1\//,
        );
        expect(leaks(`${run.stdout}\n${run.stderr}`)).toEqual([]);
        expect(l.emu.requests.entries).toEqual([]);
      }
      // A user name alone over ssh is how git addresses a host, not a secret: still accepted.
      expect(
        parseConfig({ flake: 'git+ssh://git@github.com/o/r', bucket: BUCKET }, { workspace: l.ws, ci: false })
          .flake,
      ).toBe('git+ssh://git@github.com/o/r');
    });
  });
});
