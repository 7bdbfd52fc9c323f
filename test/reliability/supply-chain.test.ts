/**
 * Issue 13, item 12.
 * (e) Nix's installer runs as root, so a nix-version whose installer hash this tool does not pin needs the
 * hash as an input (nix-sha256); without it the run is bad input, refused before anything is built or
 * sent. The install itself (cache, hash before every run, tokens kept out of nix.conf) is tested in
 * test/nix-stage/installer-cache.test.ts.
 * (c) The component hands github-token and extra-nix-config to the tool in its environment, never on its
 * command line, which every local user can read in /proc/<pid>/cmdline: the real component job runs under
 * gitlab-ci-local with a stand-in tool that records its own /proc/<pid>/cmdline and environment.
 * (a) Every third-party action in our workflows, and in the workflow examples users copy (examples/github,
 * the README), is pinned by full commit SHA with the release in a comment: a tag can be moved to other code.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { componentProject, includeComponent, runPublishJob } from '../component/helpers.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { errorLine, publishArgs, REPO_ROOT, runBundledAction, runCli } from '../helpers/cli.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir, workspace } from '../nix-stage/helpers.ts';

const PROJECT = 'supply-chain-project';

/** The nix on PATH, which the test wraps. */
function realNix(): string {
  return execFileSync('sh', ['-c', 'command -v nix'], { encoding: 'utf8' }).trim();
}
const BUCKET = 'supply-chain-images';

describe('6. Hostile input and ownership', () => {
  describe('nix-version without a pinned installer hash', () => {
    let emu: Emulator;
    let ws: string;
    let flake: string;

    beforeAll(async () => {
      requireNix();
      emu = await startEmulator({ dataDir: tempDir('supply-emu') });
      await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
      flake = fixtureRepo();
      ws = workspace({});
    });
    afterAll(() => emu?.stop());

    it('the CLI refuses it as bad input (exit 2), naming nix-sha256, and changes nothing', async () => {
      emu.requests.clear();
      const run = await runCli(
        publishArgs(
          { project: PROJECT, bucket: BUCKET, url: emu.url },
          '--flake',
          flake,
          '--nix-version',
          '2.99.0',
        ),
        { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
      );
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(/Nix 2\.99\.0 is not a release this tool pins.*set nix-sha256/);
      expect(emu.requests.mutating()).toEqual([]);
    });

    it('the action refuses it the same way', async () => {
      emu.requests.clear();
      const run = await runBundledAction(
        {
          INPUT_FLAKE: flake,
          INPUT_PROJECT: PROJECT,
          INPUT_BUCKET: BUCKET,
          'INPUT_STORAGE-ENDPOINT': emu.url,
          'INPUT_COMPUTE-ENDPOINT': emu.url,
          'INPUT_NIX-VERSION': '2.99.0',
          GITHUB_WORKSPACE: ws,
          NIX_CONFIG: TEST_NIX_CONFIG,
        },
        ws,
      );
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout).toMatch(/::error.*Nix 2\.99\.0 is not a release this tool pins.*set nix-sha256/);
      expect(emu.requests.mutating()).toEqual([]);
    });

    it('a given hash that is not 64 hex digits is refused too', async () => {
      emu.requests.clear();
      const run = await runCli(
        ['publish', '--bucket', BUCKET, '--storage-endpoint', emu.url, '--nix-sha256', 'abc'],
        { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
      );
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^error: .*"nix-sha256".*64 hex digits/m);
      expect(emu.requests.mutating()).toEqual([]);
    });
  });

  describe('CLI: secret inputs from the environment', () => {
    let emu: Emulator;
    beforeAll(async () => {
      requireNix();
      emu = await startEmulator({ dataDir: tempDir('supply-env-emu') });
      await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    });
    afterAll(() => emu?.stop());

    it('reads github-token from NGR_INPUT_GITHUB_TOKEN (a value no token has is refused, hidden)', async () => {
      emu.requests.clear();
      const run = await runCli(
        publishArgs({ project: PROJECT, bucket: BUCKET, url: emu.url }, '--flake', fixtureRepo()),
        {
          cwd: workspace({}),
          env: { NIX_CONFIG: TEST_NIX_CONFIG, NGR_INPUT_GITHUB_TOKEN: 'ghp_env canary' },
        },
      );
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^error: The github-token input contains whitespace/m);
      expect(run.stderr + run.stdout).not.toContain('ghp_env');
      expect(emu.requests.mutating()).toEqual([]);
    });
  });

  describe('CLI: nix gets the token in its environment, not its command line', () => {
    let emu: Emulator;
    beforeAll(async () => {
      requireNix();
      emu = await startEmulator({ dataDir: tempDir('supply-nix-emu') });
      await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    });
    afterAll(() => emu?.stop());

    it('every nix the publish runs is a real child whose /proc/<pid>/cmdline holds no token', async () => {
      const token = 'ghp_nixChildCanary0123456789';
      const rec = tempDir('nix-argv');
      const bin = tempDir('nix-wrapper');
      // Records each nix (and nix-store, which builds the evaluated derivation) process's own command line
      // and whether its NIX_CONFIG carries the token, then becomes the real program (exec keeps the pid, so
      // what it recorded is that process).
      for (const tool of ['nix', 'nix-store']) {
        writeFileSync(
          join(bin, tool),
          `#!/bin/sh
tr '\\0' ' ' < /proc/$$/cmdline >> "${rec}/argv"
echo >> "${rec}/argv"
case "$NIX_CONFIG" in *"access-tokens = github.com=${token}"*) echo yes ;; *) echo no ;; esac >> "${rec}/env"
exec ${join(dirname(realNix()), tool)} "$@"
`,
          { mode: 0o755 },
        );
      }
      const run = await runCli(
        publishArgs({ project: PROJECT, bucket: BUCKET, url: emu.url }, '--flake', fixtureRepo()),
        {
          cwd: workspace({}),
          env: {
            NIX_CONFIG: TEST_NIX_CONFIG,
            NGR_INPUT_GITHUB_TOKEN: token,
            PATH: `${bin}:${process.env.PATH}`,
          },
          timeoutMs: 240_000,
        },
      );
      expect(run.code, run.stderr).toBe(0);
      const argv = readFileSync(join(rec, 'argv'), 'utf8')
        .trim()
        .split('\n')
        .map((a) => a.trim());
      // --version probes, flake metadata, the evaluation and the build: several real processes ran.
      expect(argv.length).toBeGreaterThan(2);
      expect(
        argv.some((a) => / eval /.test(a)) && argv.some((a) => / --realise /.test(a)),
        argv.join('\n'),
      ).toBe(true);
      for (const line of argv) expect(line).not.toContain(token);
      // All but the --version probe, which runs before the settings are made, had it in their environment.
      expect(readFileSync(join(rec, 'env'), 'utf8').trim().split('\n')).toEqual(
        argv.map((a) => (a.endsWith(' --version') ? 'no' : 'yes')),
      );
    }, 300_000);
  });

  describe('component: secrets in the environment, not on the command line', () => {
    /** Records its own command line (from /proc, as another user would read it) and the two variables. */
    const RECORDING_TOOL = `#!/usr/bin/env bash
set -euo pipefail
tr '\\0' '\\n' < /proc/$$/cmdline > "$STUB_OUT/cmdline"
printf '%s' "\${NGR_INPUT_GITHUB_TOKEN:-}" > "$STUB_OUT/token"
printf '%s' "\${NGR_INPUT_EXTRA_NIX_CONFIG:-}" > "$STUB_OUT/extra"
echo '{"image-name":"stub-image","skipped":true}'
`;
    const TOKEN = 'ghp_componentCanary0123456789';

    it('github-token and extra-nix-config reach the tool as variables only', async () => {
      const { dir } = componentProject({
        'recording-tool': RECORDING_TOOL,
        '.gitlab-ci.yml': includeComponent({
          'tool-command': './recording-tool',
          kvm: 'optional',
          bucket: 'b',
          'github-token': TOKEN,
          'extra-nix-config': `access-tokens = github.com=${TOKEN}x`,
        }),
      });
      chmodSync(join(dir, 'recording-tool'), 0o755);
      const out = tempDir('component-argv');
      const run = await runPublishJob(dir, { env: { STUB_OUT: out }, timeoutMs: 120_000 });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const argv = readFileSync(join(out, 'cmdline'), 'utf8');
      expect(argv).toContain('publish');
      expect(argv).toContain('--bucket=b');
      expect(argv).not.toContain(TOKEN);
      expect(argv).not.toMatch(/--github-token|--extra-nix-config/);
      expect(readFileSync(join(out, 'token'), 'utf8')).toBe(TOKEN);
      expect(readFileSync(join(out, 'extra'), 'utf8')).toBe(`access-tokens = github.com=${TOKEN}x`);
    }, 150_000);
  });

  describe('third-party actions pinned by commit', () => {
    /** Our own action: examples show its release tag, which users pin as they choose. */
    const OWN_ACTION = /^pcboy\/nix-glab-runner@/;
    /** `owner/repo[/path]@<40 hex>`, and the line carries a `# v…` comment naming the release. */
    const PINNED = /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@[0-9a-f]{40}$/;

    /** Every `uses:` of a workflow file: steps' actions and jobs' reusable workflows. */
    function usesOf(file: string): string[] {
      const doc = parse(readFileSync(file, 'utf8')) as {
        jobs?: Record<string, { uses?: string; steps?: { uses?: string }[] }>;
      };
      const found: string[] = [];
      for (const job of Object.values(doc.jobs ?? {})) {
        if (job.uses) found.push(job.uses);
        for (const step of job.steps ?? []) if (step.uses) found.push(step.uses);
      }
      return found;
    }
    const yamlFiles = (dir: string) =>
      readdirSync(join(REPO_ROOT, dir))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(REPO_ROOT, dir, f));

    for (const dir of ['.github/workflows', 'examples/github']) {
      it(`every action in ${dir} is a local one or pinned by commit SHA with its release`, () => {
        const files = yamlFiles(dir);
        expect(files.length).toBeGreaterThan(0);
        for (const file of files) {
          const text = readFileSync(file, 'utf8');
          const uses = usesOf(file);
          expect(uses.length, file).toBeGreaterThan(0);
          for (const ref of uses) {
            if (ref.startsWith('./') || OWN_ACTION.test(ref)) continue;
            expect(ref, `${file}: ${ref}`).toMatch(PINNED);
            const line = text.split('\n').find((l) => l.includes(ref)) ?? '';
            expect(line, `${file}: ${ref}`).toMatch(/@[0-9a-f]{40} # v\d+(\.\d+)*$/);
          }
        }
      });
    }

    it("so is every action in the README's workflow snippets", () => {
      const uses = [
        ...readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/^\s*-?\s*uses:\s*(\S+)(.*)$/gm),
      ];
      expect(uses.length).toBeGreaterThan(0);
      for (const [, ref = '', rest = ''] of uses) {
        if (OWN_ACTION.test(ref)) continue;
        expect(ref).toMatch(PINNED);
        expect(rest).toMatch(/^ # v\d+(\.\d+)*$/);
      }
    });
  });
});
