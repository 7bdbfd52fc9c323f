import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcloudTarget, gcloud } from '../helpers/gcloud.ts';
import { type Emulator, startEmulator } from './index.ts';

interface Policy {
  kind: string;
  resourceId: string;
  version: number;
  etag: string;
  bindings: { role: string; members: string[] }[];
}

/**
 * Setting a bucket up as docs/getting-started.md does: uniform bucket-level access, public access
 * prevention, and IAM bindings on the bucket (buckets.getIamPolicy / buckets.setIamPolicy).
 */
describe('bucket setup with gcloud against the emulator', () => {
  let dir: string;
  let emu: Emulator;
  let target: GcloudTarget;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emu-bucket-setup-'));
    emu = await startEmulator({ dataDir: join(dir, 'data') });
    target = { emulatorUrl: emu.url, project: 'setup-project' };
  });
  afterAll(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const policyOf = async (bucket: string): Promise<Policy> =>
    (await (await fetch(`${emu.url}/storage/v1/b/${bucket}/iam`)).json()) as Policy;

  it('keeps the iamConfiguration a bucket was created with', async () => {
    const r = await gcloud(
      [
        'storage',
        'buckets',
        'create',
        'gs://setup-b',
        '--location=europe-west1',
        '--uniform-bucket-level-access',
        '--public-access-prevention',
      ],
      target,
    );
    expect(r.code, r.stderr).toBe(0);
    const d = await gcloud(['storage', 'buckets', 'describe', 'gs://setup-b', '--format=json'], target);
    expect(d.code, d.stderr).toBe(0);
    const described = JSON.parse(d.stdout) as Record<string, unknown>;
    expect(described).toMatchObject({
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
      location: 'EUROPE-WEST1',
    });
    // A bucket created without them reports Google's defaults.
    const plain = await gcloud(['storage', 'buckets', 'create', 'gs://setup-plain'], target);
    expect(plain.code, plain.stderr).toBe(0);
    const bucket = (await (await fetch(`${emu.url}/storage/v1/b/setup-plain`)).json()) as {
      iamConfiguration: Json;
    };
    expect(bucket.iamConfiguration).toMatchObject({
      uniformBucketLevelAccess: { enabled: false },
      publicAccessPrevention: 'inherited',
    });
  }, 60_000);

  it('starts with the project convenience bindings and adds the member gcloud binds', async () => {
    const initial = await policyOf('setup-b');
    expect(initial).toMatchObject({ kind: 'storage#policy', resourceId: 'projects/_/buckets/setup-b' });
    expect(initial.bindings).toContainEqual({
      role: 'roles/storage.legacyBucketOwner',
      members: ['projectEditor:setup-project', 'projectOwner:setup-project'],
    });
    const member = 'serviceAccount:pub@setup-project.iam.gserviceaccount.com';
    const r = await gcloud(
      [
        'storage',
        'buckets',
        'add-iam-policy-binding',
        'gs://setup-b',
        `--member=${member}`,
        '--role=roles/storage.objectUser',
      ],
      target,
    );
    expect(r.code, r.stderr).toBe(0);
    // A second binding: gcloud reads the policy again and sends its etag back (URL-safe base64).
    const second = await gcloud(
      [
        'storage',
        'buckets',
        'add-iam-policy-binding',
        'gs://setup-b',
        `--member=${member}`,
        '--role=roles/storage.legacyBucketReader',
      ],
      target,
    );
    expect(second.code, second.stderr).toBe(0);
    const after = await policyOf('setup-b');
    expect(after.bindings).toContainEqual({ role: 'roles/storage.objectUser', members: [member] });
    expect(after.bindings).toContainEqual({
      role: 'roles/storage.legacyBucketReader',
      members: ['projectViewer:setup-project', member].sort(),
    });
    expect(after.etag).not.toBe(initial.etag);
    expect(emu.requests.matching(/^PUT \/storage\/v1\/b\/setup-b\/iam$/).map((e) => e.status)).toEqual([
      200, 200,
    ]);
  }, 60_000);

  it('refuses a setIamPolicy with a stale etag (412) and an unknown bucket (404)', async () => {
    const current = await policyOf('setup-b');
    const put = (bucket: string, body: object) =>
      fetch(`${emu.url}/storage/v1/b/${bucket}/iam`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const stale = await put('setup-b', { bindings: [], etag: 'CAE=' });
    expect(stale.status).toBe(412);
    expect((await policyOf('setup-b')).bindings).toEqual(current.bindings);
    expect((await put('no-such-bucket', { bindings: [] })).status).toBe(404);
    const noRole = await put('setup-b', { bindings: [{ members: ['allUsers'] }], etag: current.etag });
    expect(noRole.status).toBe(400);
  });
});

type Json = Record<string, unknown>;
