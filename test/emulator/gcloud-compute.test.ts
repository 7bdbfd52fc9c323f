import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcloudTarget, gcloud, gcloudOk, requireGcloud } from '../helpers/gcloud.ts';
import { makeImageTarball } from './compute/test-tarball.ts';
import { type Emulator, startEmulator } from './index.ts';

const project = 'p';
const bucket = 'gcloud-images';

describe('gcloud compute against the emulator (endpoint override + auth/disable_credentials only)', () => {
  let emu: Emulator;
  let target: GcloudTarget;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'emu-gcloud-compute-'));
    emu = await startEmulator({
      dataDir,
      operationMs: 50,
      waitMaxMs: 500,
      instanceStepMs: 20,
    });
    requireGcloud();
    target = { emulatorUrl: emu.url, project };
    const storage = new Storage({ apiEndpoint: emu.url, projectId: project });
    await storage.createBucket(bucket);
    await storage
      .bucket(bucket)
      .file('nixos.raw.tar.gz')
      .save(makeImageTarball(), { resumable: false, contentType: 'application/x-tar' });
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('images create | describe | describe-from-family | list | deprecate | delete', async () => {
    const create = (name: string) =>
      gcloudOk(
        [
          'compute',
          'images',
          'create',
          name,
          '--source-uri',
          `gs://${bucket}/nixos.raw.tar.gz`,
          '--family',
          'gc-fam',
          '--labels',
          'managed-by=test',
        ],
        target,
      );
    await create('gc-one');
    await create('gc-two');
    const [describeOut, familyOut] = await Promise.all([
      gcloudOk(['compute', 'images', 'describe', 'gc-one', '--format=json'], target),
      gcloudOk(['compute', 'images', 'describe-from-family', 'gc-fam', '--format=value(name)'], target),
    ]);
    const described = JSON.parse(describeOut) as {
      status: string;
      family: string;
      rawDisk: { source: string };
    };
    expect(described.status).toBe('READY');
    expect(described.family).toBe('gc-fam');
    // With the storage endpoint overridden, gcloud sends <override>/b/B/o/O (docs/architecture.md).
    expect(described.rawDisk.source).toBe(`${emu.url}/b/${bucket}/o/nixos.raw.tar.gz`);
    expect(familyOut.trim()).toBe('gc-two');

    emu.requests.clear();
    const listed = await gcloudOk(
      ['compute', 'images', 'list', '--filter=family=gc-fam', '--format=value(name)'],
      target,
    );
    expect(listed.trim().split('\n').sort()).toEqual(['gc-one', 'gc-two']);
    // Plain `images list` also asks the public image projects, through the batch endpoint.
    expect(emu.requests.entries.some((e) => e.path === '/batch/compute/v1')).toBe(true);
    expect(
      emu.requests.entries.some((e) => e.batch && e.path === `/compute/v1/projects/${project}/global/images`),
    ).toBe(true);

    await gcloudOk(
      ['compute', 'images', 'deprecate', 'gc-two', '--state', 'DEPRECATED', '--replacement', 'gc-one'],
      target,
    );
    // Deprecated or deleted, gc-two is no longer the family's image either way, so both can run at once.
    const [fromFamily] = await Promise.all([
      gcloudOk(['compute', 'images', 'describe-from-family', 'gc-fam', '--format=value(name)'], target),
      gcloudOk(['compute', 'images', 'delete', 'gc-two', '--quiet'], target),
    ]);
    expect(fromFamily.trim()).toBe('gc-one');
    const gone = await gcloud(['compute', 'images', 'describe', 'gc-two'], target);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("The resource 'projects/p/global/images/gc-two' was not found");
  });

  it('shows GCE errors: a bad name, a tarball without disk.raw', async () => {
    const storage = new Storage({ apiEndpoint: emu.url, projectId: project });
    await storage
      .bucket(bucket)
      .file('wrong.tar.gz')
      .save(makeImageTarball({ name: 'root.img' }), { resumable: false });
    const [bad, failed] = await Promise.all([
      gcloud(
        ['compute', 'images', 'create', 'Bad_Name', '--source-uri', `gs://${bucket}/nixos.raw.tar.gz`],
        target,
      ),
      gcloud(
        ['compute', 'images', 'create', 'gc-wrong', '--source-uri', `gs://${bucket}/wrong.tar.gz`],
        target,
      ),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("Invalid value for field 'resource.name': 'Bad_Name'");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('disk.raw');
  });

  it('instance-groups managed describe, zonal and regional', async () => {
    emu.compute.admin.createTemplate({
      name: 'gc-tpl',
      properties: {
        machineType: 'e2-small',
        disks: [
          {
            boot: true,
            initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
          },
        ],
      },
    });
    emu.compute.admin.createGroup({
      zone: 'us-central1-a',
      name: 'gc-zg',
      template: 'gc-tpl',
      targetSize: 2,
      ready: true,
    });
    emu.compute.admin.createGroup({
      region: 'us-central1',
      name: 'gc-rg',
      template: 'gc-tpl',
      targetSize: 3,
      ready: true,
    });
    const [zonal, regional] = await Promise.all([
      gcloudOk(
        [
          'compute',
          'instance-groups',
          'managed',
          'describe',
          'gc-zg',
          '--zone',
          'us-central1-a',
          '--format=json',
        ],
        target,
      ),
      gcloudOk(
        [
          'compute',
          'instance-groups',
          'managed',
          'describe',
          'gc-rg',
          '--region',
          'us-central1',
          '--format=json',
        ],
        target,
      ),
    ]);
    const z = JSON.parse(zonal) as {
      targetSize: number;
      status: { isStable: boolean; versionTarget: { isReached: boolean } };
      instanceTemplate: string;
    };
    expect(z.targetSize).toBe(2);
    expect(z.status.isStable).toBe(true);
    expect(z.status.versionTarget.isReached).toBe(true);
    expect(z.instanceTemplate).toBe(`${emu.url}/compute/v1/projects/p/global/instanceTemplates/gc-tpl`);
    const r = JSON.parse(regional) as {
      targetSize: number;
      distributionPolicy: { zones: { zone: string }[] };
    };
    expect(r.targetSize).toBe(3);
    expect(r.distributionPolicy.zones.length).toBe(3);
  });
});
