import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComputeClients, closeComputeClients, computeClients } from '../helpers/compute-client.ts';
import { makeImageTarball } from './compute/test-tarball.ts';
import { type Emulator, startEmulator } from './index.ts';

const project = 'p';
const bucket = 'images-bucket';

type Op = {
  name?: string | null;
  status?: unknown;
  error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
};

describe('compute emulator: images and operations with the unmodified @google-cloud/compute', () => {
  let emu: Emulator;
  let c: ComputeClients;
  let storage: Storage;

  beforeAll(async () => {
    emu = await startEmulator({
      dataDir: mkdtempSync(join(tmpdir(), 'emu-compute-')),
      operationMs: 60,
      waitMaxMs: 500,
    });
    c = computeClients(emu.url);
    storage = new Storage({ apiEndpoint: emu.url, projectId: project });
    await storage.createBucket(bucket);
  });
  afterAll(async () => {
    await closeComputeClients(c);
    await emu.stop();
  });

  async function upload(
    name: string,
    data: Buffer,
    opts: { contentEncoding?: string } = {},
  ): Promise<string> {
    await storage
      .bucket(bucket)
      .file(name)
      .save(data, {
        resumable: false,
        contentType: 'application/x-tar',
        ...(opts.contentEncoding ? { metadata: { contentEncoding: opts.contentEncoding } } : {}),
      });
    return `https://storage.googleapis.com/${bucket}/${name}`;
  }

  /** Waits as Google documents it (docs/architecture.md, "Operations"): loop operations.wait until DONE. */
  async function waitGlobal(name: string): Promise<Op> {
    for (;;) {
      const [op] = await c.globalOperations.wait({ project, operation: name });
      if (op.status === 'DONE') return op as Op;
    }
  }

  async function createImage(
    name: string,
    source: string,
    extra: Record<string, unknown> = {},
    requestId?: string,
  ): Promise<Op> {
    const [lro] = await c.images.insert({
      project,
      ...(requestId ? { requestId } : {}),
      imageResource: { name, rawDisk: { source }, ...extra },
    });
    return waitGlobal(lro.latestResponse.name as string);
  }

  it('creates an image from a GNU tarball in every rawDisk.source form, and lists it', async () => {
    const tar = makeImageTarball({ sparseSize: 2 * 1024 ** 3 });
    await upload('a.raw.tar.gz', tar);
    const sources = [
      `https://storage.googleapis.com/${bucket}/a.raw.tar.gz`,
      `https://www.googleapis.com/storage/v1/b/${bucket}/o/a.raw.tar.gz`,
      `${emu.url}/b/${bucket}/o/a.raw.tar.gz`,
      `${emu.url}/storage/v1/b/${bucket}/o/a.raw.tar.gz`,
    ];
    for (const [i, source] of sources.entries()) {
      const op = await createImage(`img-form-${i}`, source, {
        family: 'forms',
        labels: { 'managed-by': 'test' },
      });
      expect(op.error?.errors ?? []).toEqual([]);
      const [img] = await c.images.get({ project, image: `img-form-${i}` });
      expect(img.status).toBe('READY');
      expect(img.diskSizeGb).toBe('2');
      expect(img.archiveSizeBytes).toBe(String(tar.length));
      expect(img.selfLink).toBe(`${emu.url}/compute/v1/projects/p/global/images/img-form-${i}`);
      expect(img.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
      expect(img.id).toMatch(/^\d+$/);
    }
    const [listed] = await c.images.list({
      project,
      filter: 'family = forms',
      orderBy: 'creationTimestamp desc',
    });
    expect(listed.map((i) => i.name)).toEqual(['img-form-3', 'img-form-2', 'img-form-1', 'img-form-0']);
    const [paged, , resp] = await c.images.list(
      { project, filter: '(family eq "forms") AND (labels.managed-by = test)', maxResults: 3 },
      { autoPaginate: false },
    );
    expect(paged.length).toBe(3);
    expect(resp?.nextPageToken).toBeTruthy();
  });

  it('reports each operation PENDING or RUNNING, then DONE', async () => {
    await upload('b.raw.tar.gz', makeImageTarball());
    const [lro] = await c.images.insert({
      project,
      imageResource: {
        name: 'img-status',
        rawDisk: { source: `https://storage.googleapis.com/${bucket}/b.raw.tar.gz` },
      },
    });
    expect(['PENDING', 'RUNNING']).toContain((lro.latestResponse as Op).status);
    const [early] = await c.images.get({ project, image: 'img-status' });
    expect(early.status).toBe('PENDING');
    const done = await waitGlobal(lro.latestResponse.name as string);
    expect(done.status).toBe('DONE');
    const [op] = await c.globalOperations.get({ project, operation: lro.latestResponse.name as string });
    expect(op.operationType).toBe('insert');
    expect(op.progress).toBe(100);
    expect(op.targetLink).toBe(`${emu.url}/compute/v1/projects/p/global/images/img-status`);
  });

  it('getFromFamily, deprecate (and undo), delete', async () => {
    const source = await upload('fam.raw.tar.gz', makeImageTarball());
    for (const n of ['fam-1', 'fam-2', 'fam-3']) await createImage(n, source, { family: 'fam' });
    const newest = async () => (await c.images.getFromFamily({ project, family: 'fam' }))[0].name;
    expect(await newest()).toBe('fam-3');

    const [dep] = await c.images.deprecate({
      project,
      image: 'fam-3',
      deprecationStatusResource: {
        state: 'DEPRECATED',
        replacement: `projects/${project}/global/images/fam-2`,
      },
    });
    await waitGlobal(dep.latestResponse.name as string);
    expect(await newest()).toBe('fam-2');
    const [deprecated] = await c.images.get({ project, image: 'fam-3' });
    expect(deprecated.deprecated?.state).toBe('DEPRECATED');
    expect(deprecated.deprecated?.replacement).toBe(`${emu.url}/compute/v1/projects/p/global/images/fam-2`);

    const [undo] = await c.images.deprecate({
      project,
      image: 'fam-3',
      deprecationStatusResource: { state: 'ACTIVE' },
    });
    await waitGlobal(undo.latestResponse.name as string);
    expect(await newest()).toBe('fam-3');

    for (const n of ['fam-1', 'fam-2', 'fam-3']) {
      const [del] = await c.images.delete({ project, image: n });
      await waitGlobal(del.latestResponse.name as string);
    }
    await expect(c.images.get({ project, image: 'fam-1' })).rejects.toMatchObject({ code: 5 });
    await expect(c.images.getFromFamily({ project, family: 'fam' })).rejects.toMatchObject({ code: 5 });
  });

  it('setLabels needs the current labelFingerprint', async () => {
    const source = await upload('lbl.raw.tar.gz', makeImageTarball());
    await createImage('img-labels', source, { labels: { a: 'b' } });
    const [img] = await c.images.get({ project, image: 'img-labels' });
    await expect(
      c.images.setLabels({
        project,
        resource: 'img-labels',
        globalSetLabelsRequestResource: { labels: { a: 'c' }, labelFingerprint: 'stale000000=' },
      }),
    ).rejects.toMatchObject({ httpStatusCode: 412 });
    const [op] = await c.images.setLabels({
      project,
      resource: 'img-labels',
      globalSetLabelsRequestResource: { labels: { a: 'c' }, labelFingerprint: img.labelFingerprint },
    });
    await waitGlobal(op.latestResponse.name as string);
    const [after] = await c.images.get({ project, image: 'img-labels' });
    expect(after.labels).toEqual({ a: 'c' });
    expect(after.labelFingerprint).not.toBe(img.labelFingerprint);
  });

  describe('strictness', () => {
    it('refuses bad image names and families', async () => {
      const source = await upload('s.raw.tar.gz', makeImageTarball());
      for (const name of ['Bad_Name', '-x', 'x-', `a${'b'.repeat(63)}`, '1abc']) {
        await expect(
          c.images.insert({ project, imageResource: { name, rawDisk: { source } } }),
        ).rejects.toMatchObject({
          httpStatusCode: 400,
          message: expect.stringContaining("Invalid value for field 'resource.name'"),
        });
      }
      await expect(
        c.images.insert({
          project,
          imageResource: { name: 'ok-name', family: 'Bad_Family', rawDisk: { source } },
        }),
      ).rejects.toMatchObject({ httpStatusCode: 400 });
    });

    it('refuses unknown guest OS features and architectures', async () => {
      const source = await upload('feat.tar.gz', makeImageTarball());
      await expect(
        c.images.insert({
          project,
          imageResource: { name: 'feat', rawDisk: { source }, guestOsFeatures: [{ type: 'GVNIC_TYPO' }] },
        }),
      ).rejects.toMatchObject({ httpStatusCode: 400 });
      await expect(
        c.images.insert({
          project,
          imageResource: { name: 'feat', rawDisk: { source }, architecture: 'RISCV' },
        }),
      ).rejects.toMatchObject({ httpStatusCode: 400 });
      const op = await createImage('feat', source, {
        guestOsFeatures: [{ type: 'GVNIC' }, { type: 'UEFI_COMPATIBLE' }],
        architecture: 'X86_64',
      });
      expect(op.error).toBeFalsy();
      const [img] = await c.images.get({ project, image: 'feat' });
      expect(img.guestOsFeatures?.map((f) => f.type)).toEqual(['GVNIC', 'UEFI_COMPATIBLE']);
      expect(img.architecture).toBe('X86_64');
    });

    it('refuses a rawDisk.source that does not exist or is not a storage URL', async () => {
      await expect(
        c.images.insert({
          project,
          imageResource: {
            name: 'missing',
            rawDisk: { source: `https://storage.googleapis.com/${bucket}/nope.tar.gz` },
          },
        }),
      ).rejects.toMatchObject({ code: 5 });
      await expect(
        c.images.insert({
          project,
          imageResource: { name: 'gs-form', rawDisk: { source: `gs://${bucket}/x` } },
        }),
      ).rejects.toMatchObject({ httpStatusCode: 400 });
      await expect(c.images.get({ project, image: 'missing' })).rejects.toMatchObject({ code: 5 });
    });

    it('fails the operation for a tarball without disk.raw, a POSIX tar and a gzip-encoded object; the image stays FAILED', async () => {
      const cases: [string, Buffer, { contentEncoding?: string }, RegExp][] = [
        ['wrong-member', makeImageTarball({ name: 'root.img' }), {}, /disk\.raw/],
        [
          'posix-tar',
          makeImageTarball({ format: 'ustar' }),
          {},
          /The tar archive format is not supported\. Supported formats are: GNU and OLDGNU/,
        ],
        ['two-members', makeImageTarball({ extraMember: 'extra' }), {}, /exactly one file/],
        [
          'gzip-encoded',
          makeImageTarball(),
          { contentEncoding: 'gzip' },
          /The tar archive format is not supported/,
        ],
      ];
      for (const [name, data, opts, message] of cases) {
        const source = await upload(`${name}.tar.gz`, data, opts);
        const op = await createImage(name, source);
        expect(op.status).toBe('DONE');
        expect(op.error?.errors?.[0]?.message).toMatch(message);
        const [img] = await c.images.get({ project, image: name });
        expect(img.status).toBe('FAILED');
      }
      // A FAILED image keeps its name.
      const source = await upload('fine.tar.gz', makeImageTarball());
      await expect(
        c.images.insert({ project, imageResource: { name: 'wrong-member', rawDisk: { source } } }),
      ).rejects.toMatchObject({ code: 10, httpStatusCode: 409 });
    });

    it('answers 409 with GCE wording on a duplicate name', async () => {
      const source = await upload('dup.tar.gz', makeImageTarball());
      await createImage('dup', source);
      const err = await c.images
        .insert({ project, imageResource: { name: 'dup', rawDisk: { source } } })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 10, httpStatusCode: 409 });
      expect(String((err as Error).message)).toContain(
        "The resource 'projects/p/global/images/dup' already exists",
      );
    });

    it('deduplicates a retried insert by requestId', async () => {
      const source = await upload('rid.tar.gz', makeImageTarball());
      const requestId = randomUUID();
      const [a] = await c.images.insert({
        project,
        requestId,
        imageResource: { name: 'rid', rawDisk: { source } },
      });
      const [b] = await c.images.insert({
        project,
        requestId,
        imageResource: { name: 'rid', rawDisk: { source } },
      });
      expect(b.latestResponse.name).toBe(a.latestResponse.name);
      const [imgs] = await c.images.list({ project, filter: 'name = rid' });
      expect(imgs.length).toBe(1);
      await expect(
        c.images.insert({
          project,
          requestId: 'not-a-uuid',
          imageResource: { name: 'rid2', rawDisk: { source } },
        }),
      ).rejects.toMatchObject({ httpStatusCode: 400 });
    });

    it('ends an operation in error when a fault rule asks for it', async () => {
      const source = await upload('fault.tar.gz', makeImageTarball());
      emu.faults.add({
        method: 'POST',
        path: '/global/images$',
        count: 1,
        operationError: { code: 'QUOTA_EXCEEDED', message: 'Quota exceeded.' },
      });
      const op = await createImage('faulted', source);
      expect(op.error?.errors?.[0]?.code).toBe('QUOTA_EXCEEDED');
      const [img] = await c.images.get({ project, image: 'faulted' });
      expect(img.status).toBe('FAILED');
    });
  });
});
