/**
 * Issue 13, item 12 (e): Nix's installer runs as root, so a nix-version whose installer hash this tool
 * does not pin needs the hash as an input (nix-sha256); without it the run is bad input, refused before
 * anything is built or sent. The install itself (cache, hash before every run, tokens kept out of nix.conf)
 * is tested in test/nix-stage/installer-cache.test.ts.
 */
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { runBundledAction, runCli } from '../helpers/cli.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir, workspace } from '../nix-stage/helpers.ts';

const PROJECT = 'supply-chain-project';
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
        [
          'publish',
          ...['--project', PROJECT, '--bucket', BUCKET, '--flake', flake],
          ...['--storage-endpoint', emu.url, '--compute-endpoint', emu.url],
          ...['--nix-version', '2.99.0'],
        ],
        { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
      );
      const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(run.code, run.stderr).toBe(2);
      expect(errors, run.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(/Nix 2\.99\.0 is not a release this tool pins.*set nix-sha256/);
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
});
