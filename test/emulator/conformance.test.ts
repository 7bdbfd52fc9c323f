import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Groups, groupRef } from '../../src/gcp/groups.ts';
import { RestClient } from '../../src/gcp/rest.ts';
import { apiSurface } from './conformance/index.ts';
import { type Emulator, startEmulator } from './index.ts';

const project = 'p';
const zone = 'us-central1-a';

/** Marks a request that sends an undefined name on purpose, so the suite-wide check (global-setup.ts) expects its refusal. */
const REFUSAL_EXPECTED = { 'content-type': 'application/json', 'x-emulator-expect-refusal': '1' };

/** Google's answer to a name the method does not define, as the emulator must give it. */
function unknownName(message: string, field?: string) {
  return {
    error: {
      code: 400,
      message,
      errors: [{ message, domain: 'global', reason: 'invalid' }],
      status: 'INVALID_ARGUMENT',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ ...(field ? { field } : {}), description: message }],
        },
      ],
    },
  };
}

describe('the emulator refuses what Google refuses: names a method does not define', () => {
  let emu: Emulator;
  const compute = () => `${emu.url}/compute/v1/projects/${project}`;

  beforeAll(async () => {
    emu = await startEmulator({
      dataDir: mkdtempSync(join(tmpdir(), 'ngr-conf-')),
      operationMs: 20,
      instanceStepMs: 10,
    });
    emu.compute.admin.createTemplate({
      name: 't',
      properties: {
        machineType: 'e2-small',
        disks: [
          { boot: true, initializeParams: { sourceImage: 'projects/debian-cloud/global/images/debian-12' } },
        ],
      },
    });
    emu.compute.admin.createGroup({ zone, name: 'g', template: 't', targetSize: 1, ready: true });
  });
  afterAll(() => emu.stop());

  it('knows the methods from the protos of @google-cloud/compute: applyUpdatesToInstances takes no requestId', () => {
    const surface = apiSurface();
    const apply = surface.match(
      'POST',
      `/compute/v1/projects/p/zones/z/instanceGroupManagers/g/applyUpdatesToInstances`,
    );
    const regional = surface.match(
      'POST',
      `/compute/v1/projects/p/regions/r/instanceGroupManagers/g/applyUpdatesToInstances`,
    );
    const insert = surface.match('POST', '/compute/v1/projects/p/global/images');
    expect(apply?.id).toBe('compute.instanceGroupManagers.applyUpdatesToInstances');
    expect(regional?.id).toBe('compute.regionInstanceGroupManagers.applyUpdatesToInstances');
    expect(apply?.query.has('requestId')).toBe(false);
    expect(regional?.query.has('requestId')).toBe(false);
    expect(insert?.id).toBe('compute.images.insert');
    expect([...(insert?.query ?? [])].sort()).toEqual([
      'forceCreate',
      'force_create',
      'requestId',
      'request_id',
    ]);
    // More fixed segments win: images/family/F is getFromFamily, not images.get of an image named "family".
    expect(surface.match('GET', '/compute/v1/projects/p/global/images/family/f')?.id).toBe(
      'compute.images.getFromFamily',
    );
  });

  it('answers an unknown query parameter with Google 400 INVALID_ARGUMENT, and logs the refusal', async () => {
    emu.requests.clear();
    const res = await fetch(
      `${compute()}/zones/${zone}/instanceGroupManagers/g/applyUpdatesToInstances?requestId=0b7c1a7e-5d8e-4e39-9d56-3f0a3c1c6f10`,
      {
        method: 'POST',
        headers: REFUSAL_EXPECTED,
        body: JSON.stringify({ instances: [], minimalAction: 'NONE' }),
      },
    );
    const message =
      'Invalid JSON payload received. Unknown name "requestId": Cannot bind query parameter. Field \'requestId\' could not be found in request message.';
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(unknownName(message));
    expect(emu.requests.entries).toMatchObject([
      { api: 'compute.instanceGroupManagers.applyUpdatesToInstances', status: 400, refused: message },
    ]);
  });

  it('answers an unknown body field, at any depth, with the place Google names', async () => {
    const res = await fetch(`${compute()}/global/images`, {
      method: 'POST',
      headers: REFUSAL_EXPECTED,
      body: JSON.stringify({
        name: 'i',
        rawDisk: { source: 'https://storage.googleapis.com/b/o', sha256: 'x' },
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(
      unknownName(
        'Invalid JSON payload received. Unknown name "sha256" at \'image_resource.raw_disk\': Cannot find field.',
        'image_resource.raw_disk',
      ),
    );
    const list = await fetch(`${compute()}/global/images`, {
      method: 'POST',
      headers: REFUSAL_EXPECTED,
      body: JSON.stringify({ name: 'i', guestOsFeatures: [{ type: 'GVNIC' }, { kind: 'x' }] }),
    });
    expect(((await list.json()) as { error: { message: string } }).error.message).toContain(
      `Unknown name "kind" at 'image_resource.guest_os_features[1]'`,
    );
  });

  it('accepts the system parameters every method takes, and proto field names for JSON names', async () => {
    const query =
      'alt=json&prettyPrint=false&fields=name&%24.xgafv=2&%24alt=json%3Benum-encoding%3Dint&quotaUser=u';
    const res = await fetch(`${compute()}/zones/${zone}/instanceGroupManagers/g?${query}`);
    expect(res.status).toBe(200);
    const list = await fetch(`${compute()}/global/images?max_results=1&filter=name%3Dx`);
    expect(list.status).toBe(200);
  });

  it('holds Cloud Storage calls to the JSON API reference too', async () => {
    const storage = `${emu.url}/storage/v1`;
    expect(
      (
        await fetch(`${storage}/b?project=${project}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"name":"bkt"}',
        })
      ).status,
    ).toBe(200);
    const typo = await fetch(
      `${emu.url}/upload/storage/v1/b/bkt/o?uploadType=resumable&name=o&ifGenerationMatches=0`,
      {
        method: 'POST',
        headers: REFUSAL_EXPECTED,
        body: '{}',
      },
    );
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { error: { message: string } }).error.message).toContain(
      'Unknown name "ifGenerationMatches"',
    );
    const body = await fetch(
      `${emu.url}/upload/storage/v1/b/bkt/o?uploadType=resumable&name=o&ifGenerationMatch=0`,
      {
        method: 'POST',
        headers: REFUSAL_EXPECTED,
        body: JSON.stringify({ contentType: 'application/x-tar', contentEncodings: 'gzip' }),
      },
    );
    expect(body.status).toBe(400);
    expect(((await body.json()) as { error: { message: string } }).error.message).toContain(
      'Unknown name "contentEncodings"',
    );
    const boundary = 'b0undary';
    const multipart = await fetch(`${emu.url}/upload/storage/v1/b/bkt/o?uploadType=multipart`, {
      method: 'POST',
      headers: { ...REFUSAL_EXPECTED, 'content-type': `multipart/related; boundary=${boundary}` },
      body: [
        `--${boundary}`,
        'content-type: application/json; charset=UTF-8',
        '',
        JSON.stringify({ name: 'm', metadata: { a: 'b' }, md5: 'x' }),
        `--${boundary}`,
        'content-type: application/x-tar',
        '',
        'bytes',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    });
    expect(multipart.status).toBe(400);
    expect(((await multipart.json()) as { error: { message: string } }).error.message).toContain(
      'Unknown name "md5"',
    );
    expect((await fetch(`${storage}/b/bkt/o/m`)).status).toBe(404);
    const get = await fetch(
      `${storage}/b/bkt/o?alt=json&fields=items(name)&prettyPrint=false&userProject=p&versions=true`,
    );
    expect(get.status).toBe(200);
    expect(emu.requests.entries.map((e) => e.api)).toEqual(
      expect.arrayContaining(['storage.buckets.insert', 'storage.objects.insert', 'storage.objects.list']),
    );
  });

  it('takes our own applyUpdatesToInstances call: minimalAction NONE, no requestId', async () => {
    const rest = new RestClient(`${emu.url}/compute/v1`, { auth: undefined, headers: async () => ({}) });
    const groups = new Groups(rest, project);
    const ref = groupRef(project, `zones/${zone}/instanceGroupManagers/g`);
    const [member] = await groups.listManaged(ref);
    emu.requests.clear();
    await groups.replace(ref, [member?.instance as string], 30_000);
    expect(emu.requests.matching(/applyUpdatesToInstances$/)).toMatchObject([
      { api: 'compute.instanceGroupManagers.applyUpdatesToInstances', status: 200 },
    ]);
  });
});
