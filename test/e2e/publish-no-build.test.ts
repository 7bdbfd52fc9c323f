import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { publishArgs, runCli } from '../helpers/cli.ts';
import {
  commitAll,
  fixtureRepo,
  requireNix,
  TEST_NIX_CONFIG,
  tempDir,
  workspace,
} from '../nix-stage/helpers.ts';

const PROJECT = 'no-build-project';
const BUCKET = 'no-build-images';

/**
 * Issue 15 §1: the image's identity comes from evaluation, so an unchanged publish builds nothing. The
 * proof is the local store: the image's output path is deleted after the first publish, and is still
 * absent after the next one. Every build here is of a fixture copy with its own nonce, so no other test
 * running at the same time holds the paths this one deletes.
 */
describe('publish decides from evaluation, before any build', () => {
  let emu: Emulator;
  let flake: string;
  let ws: string;

  beforeAll(async () => {
    requireNix();
    emu = await startEmulator({ dataDir: tempDir('no-build-emu-'), operationMs: 50 });
    await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    flake = fixtureRepo();
    // A nonce in the builder script changes every output path of this copy.
    appendFileSync(join(flake, 'build.sh'), `# nonce ${randomBytes(8).toString('hex')}\n`);
    commitAll(flake, 'build.sh');
    ws = workspace({ 'runner.nix': `{ } # ${randomBytes(8).toString('hex')}\n` });
  });
  afterAll(() => emu?.stop());

  const publish = (family: string, mode: string[], extra: string[] = []) =>
    runCli(
      publishArgs(
        { project: PROJECT, bucket: BUCKET, family, url: emu.url },
        ...['--flake', flake, ...mode, '--json', ...extra],
      ),
      { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
    );

  const deleteFromStore = (path: string) => {
    execFileSync('nix-store', ['--delete', path], { stdio: 'ignore' });
    expect(existsSync(path)).toBe(false);
  };

  const modes: [string, string[]][] = [
    ['the builder interface', ['--extra-modules', 'runner.nix']],
    ['a flake-attr derivation', ['--flake-attr', 'packages.x86_64-linux.image']],
    ['nixosConfigurations', ['--flake-attr', 'nixosConfigurations.fixture', '--extra-modules', 'runner.nix']],
  ];

  /** The output path of each mode's first publish, deleted from the store since. */
  const storePaths: string[] = [];

  modes.forEach(([mode, args], i) => {
    it(`${mode}: an unchanged publish with the output deleted from the store builds nothing`, async () => {
      const family = `no-build-${i}`;
      const first = await publish(family, args);
      expect(first.code, first.stderr).toBe(0);
      const published = JSON.parse(first.stdout) as Record<string, unknown>;
      expect(published.skipped).toBe(false);
      const storePath = published['store-path'] as string;
      storePaths[i] = storePath;
      // The build produced exactly the evaluated output path, which names the image.
      expect(published['nix-hash']).toBe(storePath.slice(11, 43));
      expect(first.stderr).toContain('Build image with Nix');

      deleteFromStore(storePath);
      emu.requests.clear();
      const again = await publish(family, args);
      expect(again.code, again.stderr).toBe(0);
      const skipped = JSON.parse(again.stdout) as Record<string, unknown>;
      expect(skipped).toMatchObject({
        skipped: true,
        'store-path': storePath,
        'nix-hash': published['nix-hash'],
        'image-name': published['image-name'],
        'image-self-link': published['image-self-link'],
      });
      expect(existsSync(storePath)).toBe(false);
      expect(again.stderr).not.toContain('Build image with Nix');
      expect(again.stderr).toContain(`Evaluated ${storePath}`);
      expect(emu.requests.mutating()).toEqual([]);
    });
  });

  it('stops a rolled-back build with exit 5 before building it', async () => {
    const family = 'no-build-0';
    const [image] = await familyImages(family);
    // As rollback does: the rolled-back mark first (a deprecation alone may be retention's), then deprecate.
    const imageUrl = `${emu.url}/compute/v1/projects/${PROJECT}/global/images/${image?.name}`;
    const current = (await (await fetch(imageUrl)).json()) as {
      labels: Record<string, string>;
      labelFingerprint: string;
    };
    const mark = await fetch(`${imageUrl}/setLabels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        labels: { ...current.labels, 'nix-glab-runner-rolled-back': '20261204t000000z' },
        labelFingerprint: current.labelFingerprint,
      }),
    });
    expect(mark.status).toBe(200);
    const deprecate = await fetch(
      `${emu.url}/compute/v1/projects/${PROJECT}/global/images/${image?.name}/deprecate`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"state":"DEPRECATED"}' },
    );
    expect(deprecate.status).toBe(200);
    const storePath = storePaths[0] as string;
    expect(storePath).toContain(image?.labels['nix-hash']);
    expect(existsSync(storePath)).toBe(false);

    const refused = await publish(family, modes[0]?.[1] ?? []);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toMatch(/later rolled back/);
    expect(refused.stderr).not.toContain('Build image with Nix');
    expect(existsSync(storePath)).toBe(false);
  });

  it('--dry-run of a new build plans it without building it', async () => {
    appendFileSync(join(ws, 'runner.nix'), '# changed\n');
    emu.requests.clear();
    const planned = await publish('no-build-dry', modes[0]?.[1] ?? [], ['--dry-run']);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as Record<string, string>;
    const storePath = plan['store-path'] as string;
    expect(storePath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-fixture-gce-image$/);
    expect(existsSync(storePath)).toBe(false);
    expect(plan['image-name']).toBe(`no-build-dry-${plan['nix-hash']}`);
    expect(planned.stderr).toMatch(/Dry run: would build \/nix\/store\/\S+\.drv .*nothing was built/);
    expect(emu.requests.mutating()).toEqual([]);
    // {nixos} comes from the built image's facts file: without a build that name is not known yet.
    const withNixos = await publish('no-build-dry', modes[0]?.[1] ?? [], [
      '--dry-run',
      '--image-name',
      '{family}-{nixos}-{hash}',
    ]);
    expect(withNixos.code, withNixos.stderr).toBe(0);
    expect(JSON.parse(withNixos.stdout)['image-name']).toBe('');
    expect(withNixos.stderr).toContain('its {nixos} part is read from the build');
    expect(existsSync(storePath)).toBe(false);

    // Publishing it for real builds that very output path.
    const real = await publish('no-build-dry', modes[0]?.[1] ?? []);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)['store-path']).toBe(storePath);
    expect(existsSync(storePath)).toBe(true);
  });

  async function familyImages(family: string): Promise<{ name: string; labels: Record<string, string> }[]> {
    const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images`);
    const items = (
      (await res.json()) as { items?: { name: string; family: string; labels: Record<string, string> }[] }
    ).items;
    return (items ?? []).filter((i) => i.family === family);
  }
});
