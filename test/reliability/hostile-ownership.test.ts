/**
 * Issue 13, items 1 and 2: a name this build would write to, held by something it did not write. A
 * neighbouring team's object at `{object-prefix}{image-name}.raw.tar.gz`, a tarball another build kept on
 * purpose, an image of a fixed `image-name` another build holds: each stops the run before anything is
 * written, with one message naming it, and is left exactly as it was. Only this build's own object (our
 * metadata and checksum) is reused, and only this build's own image (our labels and nix-hash) skips the
 * publish. Through the bundled CLI and action against the emulator; the GitLab component's run of the same
 * inputs is in hostile-component.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it, type TestContext } from 'vitest';
import { fileIdentityHash } from '../../src/identity.ts';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { crc32cBase64 } from '../emulator/storage/hashing.ts';
import { type CliRun, errorLine, publishArgs, runBundledAction, runCli } from '../helpers/cli.ts';
import { actionEnv } from '../helpers/local-action.ts';
import { tempDir } from '../nix-stage/helpers.ts';
import { hold } from './races.ts';

const PROJECT = 'hostile-project';
const BUCKET = 'hostile-images';
const FAMILY = 'hostile-runners';
const SESSION_PATH = `^/upload/storage/v1/b/${BUCKET}/o$`;

interface StoredObject {
  name: string;
  generation: string;
  crc32c: string;
  size: string;
  metadata?: Record<string, string>;
}
interface Image {
  name: string;
  status: string;
  family?: string;
  labels?: Record<string, string>;
}

/** An emulator of the test's own with a bucket, and a workspace holding this build's tarball. */
async function setup(t: TestContext) {
  const emu = await startEmulator({ dataDir: tempDir('hostile-emu'), operationMs: 20 });
  t.onTestFinished(() => emu.stop());
  const storage = new Storage({ apiEndpoint: emu.url, projectId: PROJECT });
  await storage.createBucket(BUCKET);
  const ws = tempDir('hostile-ws');
  const tarball = makeImageTarball({ data: randomBytes(64 * 1024) });
  const file = join(ws, 'image.raw.tar.gz');
  writeFileSync(file, tarball);
  const nixHash = await fileIdentityHash(file);
  return { emu, storage, ws, file, tarball, nixHash };
}
type Lab = Awaited<ReturnType<typeof setup>>;

function publish(l: Lab, extra: string[]): Promise<CliRun> {
  const to = { project: PROJECT, bucket: BUCKET, family: FAMILY, url: l.emu.url };
  const args = ['--image-file', l.file, '--operation-timeout', '30s', '--json', ...extra];
  return runCli(publishArgs(to, ...args), { cwd: l.ws });
}

/** The same publish through the bundled action, with `inputs` added. */
function publishByAction(l: Lab, inputs: Record<string, string>): Promise<CliRun> {
  const out = join(tempDir('hostile-action'), 'output');
  writeFileSync(out, '');
  const env = actionEnv({
    project: PROJECT,
    bucket: BUCKET,
    family: FAMILY,
    'image-file': l.file,
    'storage-endpoint': l.emu.url,
    'compute-endpoint': l.emu.url,
    ...inputs,
  });
  return runBundledAction({ ...env, GITHUB_WORKSPACE: l.ws, GITHUB_OUTPUT: out }, l.ws);
}

/** Plants an object as another client would: its bytes and custom metadata are whatever it chose. */
async function plantObject(l: Lab, name: string, bytes: Buffer, metadata?: Record<string, string>) {
  await l.storage
    .bucket(BUCKET)
    .file(name)
    .save(bytes, { resumable: false, metadata: metadata ? { metadata } : {} });
  return readObject(l, name);
}

async function readObject(l: Lab, name: string): Promise<StoredObject | undefined> {
  const res = await fetch(`${l.emu.url}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}`);
  return res.status === 404 ? undefined : ((await res.json()) as StoredObject);
}

async function listObjects(l: Lab): Promise<string[]> {
  const res = await fetch(`${l.emu.url}/storage/v1/b/${BUCKET}/o`);
  return (((await res.json()) as { items?: StoredObject[] }).items ?? []).map((o) => o.name);
}

/** Plants an image as another client would, from an object of its own, and waits until it settles. */
async function plantImage(
  l: Lab,
  name: string,
  opts: { labels?: Record<string, string>; family?: string; bytes?: Buffer },
): Promise<Image> {
  const source = `theirs/${name}.raw.tar.gz`;
  await plantObject(l, source, opts.bytes ?? makeImageTarball({ data: Buffer.alloc(4096, 7) }));
  const res = await fetch(`${l.emu.url}/compute/v1/projects/${PROJECT}/global/images`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      family: opts.family ?? 'their-family',
      labels: opts.labels ?? {},
      rawDisk: { source: `https://storage.googleapis.com/${BUCKET}/${source}` },
    }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  for (;;) {
    const image = await getImage(l, name);
    if (image && image.status !== 'PENDING') return image;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function getImage(l: Lab, name: string): Promise<Image | undefined> {
  const res = await fetch(`${l.emu.url}/compute/v1/projects/${PROJECT}/global/images/${name}`);
  return res.status === 404 ? undefined : ((await res.json()) as Image);
}

/** Requests that wrote something (uploads, inserts, deletes), for "nothing was written". */
const writes = (emu: Emulator) => emu.requests.mutating().map((r) => `${r.method} ${r.path}`);

/** The object at `name` is still exactly the one planted: same generation, bytes and metadata. */
async function expectUntouched(l: Lab, planted: StoredObject | undefined) {
  expect(planted).toBeDefined();
  const now = await readObject(l, planted?.name ?? '');
  expect(now?.generation).toBe(planted?.generation);
  expect(now?.crc32c).toBe(planted?.crc32c);
  expect(now?.metadata).toEqual(planted?.metadata);
}

describe.concurrent('6. Hostile input and ownership', () => {
  describe('an object at our name that we did not write', () => {
    it("a neighbour's object at --object-prefix team-a/ --image-name db-backup is neither replaced nor deleted", async (t) => {
      const l = await setup(t);
      const theirs = await plantObject(
        l,
        'team-a/db-backup.raw.tar.gz',
        Buffer.from('team A database dump\n'),
      );
      l.emu.requests.clear();
      const run = await publish(l, ['--object-prefix', 'team-a/', '--image-name', 'db-backup']);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(
        `gs://${BUCKET}/team-a/db-backup.raw.tar.gz already exists and is not this build's (it has no managed-by metadata`,
      );
      expect(writes(l.emu)).toEqual([]);
      await expectUntouched(l, theirs);
      expect(await getImage(l, 'db-backup')).toBeUndefined();
    });

    it('a tarball another build kept on purpose at a fixed image-name is not replaced', async (t) => {
      const l = await setup(t);
      const kept = await plantObject(l, 'nix-glab-runner/runner-stable.raw.tar.gz', makeImageTarball(), {
        'managed-by': 'nix-glab-runner',
        'nix-hash': 'a'.repeat(32),
        'keep-object': 'true',
      });
      l.emu.requests.clear();
      const run = await publish(l, ['--image-name', 'runner-stable']);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(
        `runner-stable.raw.tar.gz already exists and is not this build's (its nix-hash metadata is "${'a'.repeat(32)}", not this build's ${l.nixHash})`,
      );
      expect(writes(l.emu)).toEqual([]);
      await expectUntouched(l, kept);
    });

    it("an object with this build's metadata but other bytes is not replaced", async (t) => {
      const l = await setup(t);
      const other = await plantObject(
        l,
        `nix-glab-runner/${FAMILY}-${l.nixHash}.raw.tar.gz`,
        makeImageTarball(),
        {
          'managed-by': 'nix-glab-runner',
          'nix-hash': l.nixHash,
          'keep-object': 'false',
        },
      );
      l.emu.requests.clear();
      const run = await publish(l, []);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(/is not this build's \(it holds other bytes \(CRC32C/);
      expect(writes(l.emu)).toEqual([]);
      await expectUntouched(l, other);
    });

    it("this build's own object (metadata and bytes) is reused, not uploaded again", async (t) => {
      const l = await setup(t);
      const name = `nix-glab-runner/${FAMILY}-${l.nixHash}.raw.tar.gz`;
      await plantObject(l, name, l.tarball, {
        'managed-by': 'nix-glab-runner',
        'nix-hash': l.nixHash,
        'keep-object': 'true',
      });
      l.emu.requests.clear();
      const run = await publish(l, ['--keep-object']);
      expect(run.code, run.stderr).toBe(0);
      expect(writes(l.emu).filter((w) => w.includes('/upload/'))).toEqual([]);
      expect((await getImage(l, `${FAMILY}-${l.nixHash}`))?.status).toBe('READY');
      expect((await readObject(l, name))?.crc32c).toBe(crc32cBase64(crc32c(l.tarball)));
    });

    it('the same bytes stored by someone else during the upload (412) are neither used nor deleted', async (t) => {
      const l = await setup(t);
      const name = `nix-glab-runner/${FAMILY}-${l.nixHash}.raw.tar.gz`;
      // Hold the upload's session start until a neighbour has stored the very same bytes, unmarked.
      const held = hold(l.emu, { method: 'POST', path: SESSION_PATH }, 1500);
      const running = publish(l, []);
      await held.arrived;
      const theirs = await plantObject(l, name, l.tarball);
      const run = await running;
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(
        `gs://${BUCKET}/${name} already exists and is not this build's (stored by someone else meanwhile: it has no managed-by metadata`,
      );
      await expectUntouched(l, theirs);
      expect(await getImage(l, `${FAMILY}-${l.nixHash}`)).toBeUndefined();
    });

    it('the action stops the same way, naming the object', async (t) => {
      const l = await setup(t);
      const theirs = await plantObject(
        l,
        'team-a/db-backup.raw.tar.gz',
        Buffer.from('team A database dump\n'),
      );
      l.emu.requests.clear();
      const run = await publishByAction(l, { 'object-prefix': 'team-a/', 'image-name': 'db-backup' });
      expect(run.code, run.stdout).toBe(2);
      expect(run.stdout).toMatch(
        `::error::gs://${BUCKET}/team-a/db-backup.raw.tar.gz already exists and is not this build's`,
      );
      expect(writes(l.emu)).toEqual([]);
      await expectUntouched(l, theirs);
    });
  });

  describe('an image name another build holds', () => {
    it('a fixed image-name held by an image we did not make stops the run before the upload', async (t) => {
      const l = await setup(t);
      const theirs = await plantImage(l, 'db-backup', { labels: { team: 'a' } });
      l.emu.requests.clear();
      const run = await publish(l, ['--image-name', 'db-backup']);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(
        /Image name "db-backup" is already taken by an image that is not this build's \(READY, labels managed-by=\(none\)/,
      );
      expect(writes(l.emu)).toEqual([]);
      expect(await listObjects(l)).toEqual(['theirs/db-backup.raw.tar.gz']);
      expect(await getImage(l, 'db-backup')).toEqual(theirs);
    });

    it('an image of another build of ours at the name stops the run too', async (t) => {
      const l = await setup(t);
      const theirs = await plantImage(l, 'runner-stable', {
        labels: { 'managed-by': 'nix-glab-runner', 'nix-hash': 'b'.repeat(32) },
        family: FAMILY,
      });
      l.emu.requests.clear();
      const run = await publish(l, ['--image-name', 'runner-stable']);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(
        `Image name "runner-stable" is already taken by an image that is not this build's (READY, labels managed-by=nix-glab-runner, nix-hash=${'b'.repeat(32)}`,
      );
      expect(writes(l.emu)).toEqual([]);
      expect(await getImage(l, 'runner-stable')).toEqual(theirs);
    });

    it('a FAILED image we did not make at the name is not deleted', async (t) => {
      const l = await setup(t);
      // Not a tarball: the insert ends FAILED.
      const theirs = await plantImage(l, 'db-backup', { bytes: Buffer.from('not an image\n') });
      expect(theirs.status).toBe('FAILED');
      l.emu.requests.clear();
      const run = await publish(l, ['--image-name', 'db-backup']);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run.stderr)).toMatch(/Image name "db-backup" is already taken .*\(FAILED,/);
      expect(writes(l.emu)).toEqual([]);
      expect(await getImage(l, 'db-backup')).toEqual(theirs);
    });

    it('an image of this very build at the name is "already published": nothing is uploaded', async (t) => {
      const l = await setup(t);
      // In another family, so the family lookup does not find it; the name check does.
      const ours = await plantImage(l, 'runner-stable', {
        labels: { 'managed-by': 'nix-glab-runner', 'nix-hash': l.nixHash },
        family: 'elsewhere',
        bytes: l.tarball,
      });
      l.emu.requests.clear();
      const run = await publish(l, ['--image-name', 'runner-stable']);
      expect(run.code, run.stderr).toBe(0);
      const outputs = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(outputs).toMatchObject({ 'image-name': 'runner-stable', skipped: true, 'gcs-uri': '' });
      expect(writes(l.emu)).toEqual([]);
      expect(await getImage(l, 'runner-stable')).toEqual(ours);
    });

    it("an image in the family with this build's nix-hash label but not ours is not taken as published", async (t) => {
      const l = await setup(t);
      // Someone copied our label onto their image: it is neither skipped to nor touched.
      const theirs = await plantImage(l, 'lookalike', { labels: { 'nix-hash': l.nixHash }, family: FAMILY });
      const run = await publish(l, []);
      expect(run.code, run.stderr).toBe(0);
      const outputs = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(outputs).toMatchObject({ 'image-name': `${FAMILY}-${l.nixHash}`, skipped: false });
      expect((await getImage(l, `${FAMILY}-${l.nixHash}`))?.labels?.['managed-by']).toBe('nix-glab-runner');
      expect(await getImage(l, 'lookalike')).toEqual(theirs);
    });

    it('the action stops the same way, naming the image', async (t) => {
      const l = await setup(t);
      await plantImage(l, 'db-backup', { labels: { team: 'a' } });
      l.emu.requests.clear();
      const run = await publishByAction(l, { 'image-name': 'db-backup' });
      expect(run.code, run.stdout).toBe(2);
      expect(run.stdout).toMatch('::error::Image name "db-backup" is already taken');
      expect(writes(l.emu)).toEqual([]);
    });
  });
});
