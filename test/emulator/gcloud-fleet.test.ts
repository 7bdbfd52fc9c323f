import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcloudTarget, gcloud, gcloudOk, requireGcloud } from '../helpers/gcloud.ts';
import { makeImageTarball } from './compute/test-tarball.ts';
import { type Emulator, startEmulator } from './index.ts';

const project = 'fleet';

/**
 * The requests `gcloud compute instance-templates create` and `instance-groups managed create` send (read
 * with --log-http), served as Compute Engine answers them: templates that follow an image family, and a
 * regional group whose VMs come up from it.
 */
describe('gcloud: an instance template and a managed group from it', () => {
  let emu: Emulator;
  let target: GcloudTarget;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'emu-gcloud-fleet-'));
    emu = await startEmulator({
      dataDir,
      operationMs: 50,
      waitMaxMs: 500,
      instanceStepMs: 20,
    });
    requireGcloud();
    target = { emulatorUrl: emu.url, project };
    const storage = new Storage({ apiEndpoint: emu.url, projectId: project });
    await storage.createBucket('fleet-images');
    await storage.bucket('fleet-images').file('a.tar.gz').save(makeImageTarball(), { resumable: false });
    await gcloudOk(
      [
        'compute',
        'images',
        'create',
        'runner-a',
        '--source-uri=gs://fleet-images/a.tar.gz',
        '--family=runner',
      ],
      target,
    );
  }, 120_000);
  afterAll(async () => {
    await emu.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('instance-templates create: the image family is looked up, then the template inserted as sent', async () => {
    emu.requests.clear();
    await gcloudOk(
      [
        'compute',
        'instance-templates',
        'create',
        'runner-1',
        '--machine-type=e2-standard-4',
        '--image-family=runner',
        `--image-project=${project}`,
        '--boot-disk-size=100GB',
        '--boot-disk-type=pd-balanced',
        `--service-account=vm@${project}.iam.gserviceaccount.com`,
        '--scopes=cloud-platform',
        '--metadata=enable-guest-attributes=TRUE',
      ],
      target,
    );
    expect(emu.requests.mutating().map((e) => `${e.method} ${e.path}`)).toEqual([
      `POST /compute/v1/projects/${project}/global/instanceTemplates`,
    ]);
    expect(emu.requests.matching(/\/global\/images\/family\/runner$/).map((e) => e.method)).toEqual(['GET']);
    const t = JSON.parse(
      await gcloudOk(['compute', 'instance-templates', 'describe', 'runner-1', '--format=json'], target),
    ) as {
      properties: Record<string, unknown>;
    };
    expect(t.properties).toMatchObject({
      machineType: 'e2-standard-4',
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            diskSizeGb: '100',
            diskType: 'pd-balanced',
            sourceImage: `${emu.url}/compute/v1/projects/${project}/global/images/family/runner`,
          },
        },
      ],
      metadata: { items: [{ key: 'enable-guest-attributes', value: 'TRUE' }] },
      serviceAccounts: [
        {
          email: `vm@${project}.iam.gserviceaccount.com`,
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        },
      ],
    });
  }, 60_000);

  it('instance-templates create with an unknown family fails before inserting anything', async () => {
    emu.requests.clear();
    const r = await gcloud(
      ['compute', 'instance-templates', 'create', 'runner-x', '--image-family=nope'],
      target,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`projects/${project}/global/images/family/nope] was not found`);
    expect(emu.requests.mutating()).toEqual([]);
  }, 60_000);

  it('instance-groups managed create: regional, named after the group when no base name is given', async () => {
    emu.requests.clear();
    await gcloudOk(
      [
        'compute',
        'instance-groups',
        'managed',
        'create',
        'runners',
        '--region=us-east4',
        '--template=runner-1',
        '--size=2',
      ],
      target,
    );
    expect(emu.requests.mutating().map((e) => `${e.method} ${e.path}`)).toEqual([
      `POST /compute/v1/projects/${project}/regions/us-east4/instanceGroupManagers`,
    ]);
    await gcloudOk(
      ['compute', 'instance-groups', 'managed', 'wait-until', 'runners', '--stable', '--region=us-east4'],
      target,
    );
    const group = JSON.parse(
      await gcloudOk(
        [
          'compute',
          'instance-groups',
          'managed',
          'describe',
          'runners',
          '--region=us-east4',
          '--format=json',
        ],
        target,
      ),
    ) as { baseInstanceName: string; targetSize: number; status: { isStable: boolean } };
    expect(group).toMatchObject({ baseInstanceName: 'runners', targetSize: 2, status: { isStable: true } });
    const listed = JSON.parse(
      await gcloudOk(
        [
          'compute',
          'instance-groups',
          'managed',
          'list-instances',
          'runners',
          '--region=us-east4',
          '--format=json',
        ],
        target,
      ),
    ) as { instance: string; instanceStatus: string; version: { instanceTemplate: string } }[];
    expect(listed.length).toBe(2);
    for (const vm of listed) {
      expect(vm.instance).toMatch(/\/zones\/us-east4-[abc]\/instances\/runners-[a-z0-9]{4}$/);
      expect(vm.instanceStatus).toBe('RUNNING');
      expect(vm.version.instanceTemplate).toMatch(/\/global\/instanceTemplates\/runner-1$/);
    }
  }, 60_000);

  it('instance-groups managed create with an unknown template is refused and leaves no group', async () => {
    const r = await gcloud(
      [
        'compute',
        'instance-groups',
        'managed',
        'create',
        'strays',
        '--zone=us-east4-a',
        '--template=nope',
        '--size=1',
      ],
      target,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `The resource 'projects/${project}/global/instanceTemplates/nope' was not found`,
    );
    const described = await gcloud(
      ['compute', 'instance-groups', 'managed', 'describe', 'strays', '--zone=us-east4-a'],
      target,
    );
    expect(described.code).not.toBe(0);
    expect(described.stderr).toContain(
      `projects/${project}/zones/us-east4-a/instanceGroupManagers/strays' was not found`,
    );
  }, 60_000);
});
