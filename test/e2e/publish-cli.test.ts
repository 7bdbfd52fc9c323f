import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileCrc32c } from '../../src/gcp/crc32c.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { publishArgs, runCli } from '../helpers/cli.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir, workspace } from '../nix-stage/helpers.ts';

const PROJECT = 'e2e-project';
const BUCKET = 'e2e-images';
const FAMILY = 'e2e-runners';

interface Image {
  name: string;
  status: string;
  family: string;
  labels: Record<string, string>;
  guestOsFeatures: { type: string }[];
  architecture: string;
  selfLink: string;
  creationTimestamp: string;
}

describe('publish through the CLI against the emulator', () => {
  let emu: Emulator;
  let flake: string;
  let ws: string;

  beforeAll(async () => {
    requireNix();
    emu = await startEmulator({ dataDir: tempDir('e2e-emu-'), operationMs: 50 });
    await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    flake = fixtureRepo();
    ws = workspace({ 'runner.nix': '{ services.example.enable = true; }\n' });
  });
  afterAll(() => emu?.stop());

  const publish = (extra: string[] = []) =>
    runCli(
      publishArgs(
        { project: PROJECT, bucket: BUCKET, family: FAMILY, url: emu.url },
        ...['--flake', flake, '--extra-modules', 'runner.nix', '--labels', 'team=infra', '--json'],
        ...extra,
      ),
      { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
    );

  const images = async (): Promise<Image[]> => {
    const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images`);
    return (((await res.json()) as { items?: Image[] }).items ?? []).filter((i) => i.family === FAMILY);
  };

  let first: Record<string, string>;

  it('builds, uploads and creates a READY image with our labels and guest OS features', async () => {
    emu.requests.clear();
    const run = await publish(['--keep-object']);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code, run.stderr).toBe(0);
    first = JSON.parse(run.stdout) as Record<string, string>;
    expect(first.skipped).toBe(false);
    expect(first['store-path']).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/);
    expect(first['nix-hash']).toBe(first['store-path']?.slice(11, 43));
    expect(first['image-name']).toBe(`${FAMILY}-${first['nix-hash']}`);

    const [image] = await images();
    expect(image?.name).toBe(first['image-name']);
    expect(image?.status).toBe('READY');
    expect(image?.selfLink).toBe(first['image-self-link']);
    expect(image?.labels).toMatchObject({
      'managed-by': 'nix-glab-runner',
      'nix-hash': first['nix-hash'],
      team: 'infra',
    });
    expect(image?.guestOsFeatures.map((f) => f.type).sort()).toEqual(['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE']);
    expect(image?.architecture).toBe('X86_64');

    // The object the image came from holds exactly the local tarball's bytes.
    const objectName = (first['gcs-uri'] as string).replace(`gs://${BUCKET}/`, '');
    const [meta] = await new Storage({ apiEndpoint: emu.url, projectId: PROJECT })
      .bucket(BUCKET)
      .file(objectName)
      .getMetadata();
    const tarball = (await import('node:fs'))
      .readdirSync(first['store-path'] as string)
      .find((f) => f.endsWith('.raw.tar.gz'));
    expect(meta.crc32c).toBe(await fileCrc32c(join(first['store-path'] as string, tarball as string)));
    expect(meta.contentType).toBe('application/x-tar');
    expect(meta.contentEncoding).toBeUndefined();
  });

  it('uploads nothing and creates nothing when the build is unchanged', async () => {
    emu.requests.clear();
    const run = await publish();
    expect(run.code, run.stderr).toBe(0);
    const again = JSON.parse(run.stdout) as Record<string, string>;
    expect(again.skipped).toBe(true);
    expect(again['image-name']).toBe(first['image-name']);
    expect(emu.requests.mutating()).toEqual([]);
    expect(emu.requests.entries.length).toBeLessThanOrEqual(3);
    expect(await images()).toHaveLength(1);
  });

  it('gives an image-file inside the Nix store its store path as identity and output', async () => {
    const storePath = first['store-path'] as string;
    const tarball = (await import('node:fs')).readdirSync(storePath).find((f) => f.endsWith('.raw.tar.gz'));
    emu.requests.clear();
    const run = await runCli(
      [
        'publish',
        '--image-file',
        join(storePath, tarball as string),
        '--project',
        PROJECT,
        '--bucket',
        BUCKET,
        '--family',
        FAMILY,
        '--storage-endpoint',
        emu.url,
        '--compute-endpoint',
        emu.url,
        '--json',
      ],
      { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
    );
    expect(run.code, run.stderr).toBe(0);
    const prebuilt = JSON.parse(run.stdout) as Record<string, string>;
    expect(prebuilt['store-path']).toBe(storePath);
    expect(prebuilt['nix-hash']).toBe(first['nix-hash']);
    // The same build as the first run's, so its image is found and nothing is written.
    expect(prebuilt.skipped).toBe(true);
    expect(emu.requests.mutating()).toEqual([]);
  });

  it('publishes a second image when an extra module changes', async () => {
    writeFileSync(join(ws, 'runner.nix'), '{ services.example.enable = false; }\n');
    const run = await publish();
    expect(run.code, run.stderr).toBe(0);
    const changed = JSON.parse(run.stdout) as Record<string, string>;
    expect(changed['nix-hash']).not.toBe(first['nix-hash']);
    expect(changed.skipped).toBe(false);
    expect((await images()).map((i) => i.name).sort()).toEqual(
      [first['image-name'], changed['image-name']].sort(),
    );
    // Without keep-object the tarball is gone once the image is READY.
    const [exists] = await new Storage({ apiEndpoint: emu.url, projectId: PROJECT })
      .bucket(BUCKET)
      .file((changed['gcs-uri'] as string).replace(`gs://${BUCKET}/`, ''))
      .exists();
    expect(exists).toBe(false);
  });

  it('refuses to republish a rolled-back build, and makes it current again only when asked', async () => {
    const [newest] = (await images()).sort((a, b) => b.creationTimestamp.localeCompare(a.creationTimestamp));
    const older = (await images()).find((i) => i.name !== newest?.name);
    const rollback = await runCli(
      ['rollback', '--project', PROJECT, '--family', FAMILY, '--compute-endpoint', emu.url],
      { cwd: ws },
    );
    expect(rollback.code, rollback.stderr).toBe(0);
    const fromFamily = async () =>
      (
        (await (
          await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images/family/${FAMILY}`)
        ).json()) as Image
      ).name;
    await waitFor(async () => (await fromFamily()) === older?.name);

    emu.requests.clear();
    const refused = await publish();
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/rolled back \(DEPRECATED\); set "allow-rolled-back"/);
    const planned = await publish(['--allow-rolled-back', '--dry-run']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(emu.requests.mutating()).toEqual([]);

    const allowed = await publish(['--allow-rolled-back']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout)['image-name']).toBe(newest?.name);
    // Made current again, not uploaded and created a second time.
    expect(emu.requests.mutating().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /compute/v1/projects/${PROJECT}/global/images/${newest?.name}/setLabels`,
      `POST /compute/v1/projects/${PROJECT}/global/images/${newest?.name}/deprecate`,
    ]);
    await waitFor(async () => (await fromFamily()) === newest?.name);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
