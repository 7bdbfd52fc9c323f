/**
 * Issue 7, section 1: faults in the publish path, each through the bundled CLI against the emulator, each
 * checked by the end state: the stored object's CRC32C, the images, the emulator's upload events and
 * request log, and what a second run does. Storms on every call type are in storms.test.ts; races on
 * groups, templates and the family in roll-races.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it, type TestContext } from 'vitest';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { crc32cBase64 } from '../emulator/storage/hashing.ts';
import { type CliRun, errorLine, publishArgs, runCli } from '../helpers/cli.ts';
import { tempDir } from '../nix-stage/helpers.ts';

const PROJECT = 'fault-project';
const BUCKET = 'fault-images';
const FAMILY = 'fault-runners';
const KiB = 1024;
const MiB = 1024 * KiB;
const PUT_PATH = `^/upload/storage/v1/b/${BUCKET}/o$`;
const IMAGES_PATH = `^/compute/v1/projects/${PROJECT}/global/images$`;

interface Image {
  name: string;
  status: string;
  labels?: Record<string, string>;
}

/** One emulator, a bucket and a workspace with an incompressible image tarball of about `size` bytes. */
async function setup(opts: { size?: number; operationMs?: number; port?: number; dataDir?: string } = {}) {
  const dataDir = opts.dataDir ?? tempDir('faults-emu');
  const emu = await startEmulator({ dataDir, operationMs: opts.operationMs ?? 50, port: opts.port });
  await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
  const ws = tempDir('faults-ws');
  const tarball = makeImageTarball({ data: randomBytes(opts.size ?? 256 * KiB) });
  const file = join(ws, 'image.raw.tar.gz');
  writeFileSync(file, tarball);
  return { emu, ws, dataDir, file, size: tarball.length, crc32c: crc32cBase64(crc32c(tarball)) };
}

type Lab = Awaited<ReturnType<typeof setup>>;

/** A lab whose emulator stops when this test ends (tests run concurrently, so not in a shared hook). */
async function lab(t: TestContext, opts: Parameters<typeof setup>[0] = {}): Promise<Lab> {
  const l = await setup(opts);
  t.onTestFinished(() => l.emu.stop());
  return l;
}

function publish(l: Lab, url: string, extra: string[] = []): Promise<CliRun> {
  return runCli(
    publishArgs(
      { project: PROJECT, bucket: BUCKET, family: FAMILY, url },
      '--image-file',
      l.file,
      '--json',
      ...extra,
    ),
    { cwd: l.ws },
  );
}

async function images(url: string): Promise<Image[]> {
  const res = await fetch(`${url}/compute/v1/projects/${PROJECT}/global/images`);
  return ((await res.json()) as { items?: Image[] }).items ?? [];
}

async function objects(url: string): Promise<{ name: string; crc32c: string; size: string }[]> {
  const res = await fetch(`${url}/storage/v1/b/${BUCKET}/o`);
  return ((await res.json()) as { items?: { name: string; crc32c: string; size: string }[] }).items ?? [];
}

/** Image inserts the emulator accepted (POSTs on the collection that it answered 200). */
function inserts(emu: Emulator): number {
  return emu.requests.entries.filter(
    (r) => r.method === 'POST' && new RegExp(IMAGES_PATH).test(r.path) && r.status === 200,
  ).length;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.concurrent('1. Fault matrix', () => {
  describe('resets mid-upload', () => {
    // Before the first 256 KiB is committed, in the middle, and in the last mebibyte.
    for (const [label, at] of [
      ['after 100 KiB', 100 * KiB],
      ['after 3 MiB', 3 * MiB],
      ['1 KiB before the end', -KiB],
    ] as const) {
      it(`resumes from the committed offset when the connection resets ${label}`, async (t) => {
        const l = await lab(t, { size: 6 * MiB });
        const resetAfter = at > 0 ? at : l.size + at;
        l.emu.faults.add({ method: 'PUT', path: PUT_PATH, resetAfterBytes: resetAfter, count: 1 });
        const run = await publish(l, l.emu.url, ['--keep-object']);
        expect(run.code, run.stderr).toBe(0);

        const puts = l.emu.storage.uploadEvents.filter((e) => e.outcome !== 'query');
        expect(puts.map((e) => e.outcome)).toEqual(['reset', 'finalized']);
        const [broken, resumed] = puts as [(typeof puts)[0], (typeof puts)[0]];
        // The resumed PUT starts where the session's committed bytes end (256 KiB granularity), not at 0.
        const committed = Math.floor(resetAfter / (256 * KiB)) * 256 * KiB;
        expect(broken.committedAfter).toBe(committed);
        expect(resumed.committedBefore).toBe(committed);
        expect(resumed.contentRange).toBe(`bytes ${committed}-${l.size - 1}/${l.size}`);
        expect(resumed.bodyBytes).toBe(l.size - committed);

        const [object] = await objects(l.emu.url);
        expect(object).toMatchObject({ crc32c: l.crc32c, size: String(l.size) });
        const [image] = await images(l.emu.url);
        expect(image?.status).toBe('READY');
        expect(JSON.parse(run.stdout)).toMatchObject({ 'image-name': image?.name, skipped: false });
      });
    }
  });

  describe('operation slower than the timeout', () => {
    it('fails naming the operation, and the next run waits for it instead of inserting again', async (t) => {
      // Every operation takes 14 s; operation-timeout is 10 s (its minimum).
      const l = await lab(t, { operationMs: 14_000 });
      const first = await publish(l, l.emu.url, ['--operation-timeout', '10']);
      expect(first.code, first.stderr).toBe(4);
      const error = errorLine(first.stderr);
      expect(error).toMatch(
        /did not finish within 10s \(operation operation-\S+ is (PENDING|RUNNING)\); it goes on in Google Cloud/,
      );
      expect(error).toMatch(/gs:\/\/fault-images\/\S+ is kept until an image of this build is READY/);
      expect((await images(l.emu.url)).map((i) => i.status)).toEqual(['PENDING']);
      expect(await objects(l.emu.url)).toHaveLength(1);

      const second = await publish(l, l.emu.url);
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ skipped: true });
      expect(inserts(l.emu)).toBe(1);
      expect((await images(l.emu.url)).map((i) => i.status)).toEqual(['READY']);
      // The object the first run had to leave behind is gone: the image holds its own copy.
      expect(second.stderr).toMatch(/Deleted gs:\/\/fault-images\/\S+, left by an earlier run/);
      expect(await objects(l.emu.url)).toEqual([]);
    });
  });

  describe('operation ending in error', () => {
    it("shows Google's message verbatim, keeps the object, and the next run reuses it", async (t) => {
      const l = await lab(t);
      const message = 'Invalid value for field image.rawDisk.source: the archive was rejected (injected).';
      l.emu.faults.add({
        method: 'POST',
        path: IMAGES_PATH,
        operationError: { code: 'INVALID_IMAGE_FILE', message },
        count: 1,
      });
      const first = await publish(l, l.emu.url);
      expect(first.code, first.stderr).toBe(4);
      const error = errorLine(first.stderr);
      expect(error).toContain(message);
      expect(error).toMatch(/is kept until an image of this build is READY/);
      expect((await images(l.emu.url)).map((i) => i.status)).toEqual(['FAILED']);
      const [kept] = await objects(l.emu.url);
      expect(kept?.crc32c).toBe(l.crc32c);

      const uploadsBefore = l.emu.storage.uploadEvents.length;
      const second = await publish(l, l.emu.url);
      expect(second.code, second.stderr).toBe(0);
      // No byte was sent again: the kept object was recognised by its CRC32C.
      expect(l.emu.storage.uploadEvents.slice(uploadsBefore)).toEqual([]);
      expect(second.stderr).toMatch(/already holds these bytes/);
      expect(second.stderr).toMatch(/A FAILED image named \S+ is in the way; deleting it/);
      expect((await images(l.emu.url)).map((i) => i.status)).toEqual(['READY']);
      expect(inserts(l.emu)).toBe(2);
      expect(await objects(l.emu.url)).toEqual([]);
    });
  });

  describe('races: object deleted before insert', () => {
    it('uploads the object again and creates the image', async (t) => {
      const l = await lab(t);
      // Hold the insert so the test can delete the object first, as another writer would.
      l.emu.faults.add({ method: 'POST', path: IMAGES_PATH, delayMs: 1500, count: 1 });
      const running = publish(l, l.emu.url);
      await until('the upload', () => l.emu.storage.uploadEvents.some((e) => e.outcome === 'finalized'));
      const [object] = await objects(l.emu.url);
      await new Storage({ apiEndpoint: l.emu.url, projectId: PROJECT })
        .bucket(BUCKET)
        .file(object?.name as string)
        .delete();
      const run = await running;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(
        /was deleted by someone else before image \S+ could read it; uploading it again/,
      );
      expect(l.emu.storage.uploadEvents.filter((e) => e.outcome === 'finalized')).toHaveLength(2);
      expect((await images(l.emu.url)).map((i) => i.status)).toEqual(['READY']);
      expect(await objects(l.emu.url)).toEqual([]);
    });
  });

  describe('a call that never answers', () => {
    it('counts as a broken connection after retry-deadline, and is retried', async (t) => {
      const l = await lab(t);
      // The first look for an existing image hangs; the retry answers.
      l.emu.faults.add({ method: 'GET', path: IMAGES_PATH, delayMs: 60_000, count: 1 });
      const started = Date.now();
      const run = await publish(l, l.emu.url, ['--retry-deadline', '5']);
      expect(run.code, run.stderr).toBe(0);
      // A generous bound: without the per-attempt timeout the run waits out the fault's 60 s.
      expect(Date.now() - started).toBeLessThan(40_000);
      expect((await images(l.emu.url)).map((i) => i.status)).toEqual(['READY']);
    });

    it('fails clearly once every attempt hangs past the deadline, having changed nothing', async (t) => {
      const l = await lab(t);
      l.emu.faults.add({ method: 'GET', path: IMAGES_PATH, delayMs: 60_000 });
      l.emu.requests.clear();
      const started = Date.now();
      const run = await publish(l, l.emu.url, ['--retry-deadline', '5']);
      expect(run.code, run.stderr).toBe(4);
      expect(errorLine(run.stderr)).toMatch(
        /failed: no answer within 5s \(gave up after \d+ attempts over \d+\.\ds\)/,
      );
      // A generous bound: without the per-attempt timeout this run would hang for the fault's 60 s.
      expect(Date.now() - started).toBeLessThan(40_000);
      expect(l.emu.requests.mutating()).toEqual([]);
    });
  });

  describe('emulator restart mid-run', () => {
    /** Stops the emulator, waits, and starts it again on the same port over the same data directory. */
    async function restart(t: TestContext, l: Lab, downMs: number): Promise<Emulator> {
      const { port } = l.emu;
      await l.emu.stop();
      await new Promise((r) => setTimeout(r, downMs));
      const again = await startEmulator({ dataDir: l.dataDir, port, operationMs: 1500 });
      t.onTestFinished(() => again.stop());
      return again;
    }

    it('during the upload: the run reconnects, resumes the session and the object is whole', async (t) => {
      const l = await lab(t, { size: 3 * MiB });
      // Hold the bytes' PUT so that the emulator stops while it is in flight.
      l.emu.faults.add({ method: 'PUT', path: PUT_PATH, delayMs: 10_000, count: 1 });
      const run = publish(l, l.emu.url, ['--keep-object']);
      await until('the upload PUT', () => l.emu.faults.list().length === 0);
      const again = await restart(t, l, 1500);
      const done = await run;
      expect(done.code, done.stderr).toBe(0);
      // The session survived the restart: the bytes went into it, not into a second session.
      expect(
        again.requests.entries.filter((r) => r.query.includes('uploadType=resumable') && r.method === 'POST'),
      ).toEqual([]);
      expect(again.storage.uploadEvents.map((e) => e.outcome)).toContain('finalized');
      const [object] = await objects(again.url);
      expect(object).toMatchObject({ crc32c: l.crc32c, size: String(l.size) });
      expect((await images(again.url)).map((i) => i.status)).toEqual(['READY']);
    });

    it('during the image insert: the operation finishes after the restart, and there is one image', async (t) => {
      const l = await lab(t, { operationMs: 4000 });
      const run = publish(l, l.emu.url);
      await until('the image insert', () => inserts(l.emu) === 1);
      const again = await restart(t, l, 1500);
      const done = await run;
      expect(done.code, done.stderr).toBe(0);
      expect(inserts(l.emu) + inserts(again)).toBe(1);
      expect((await images(again.url)).map((i) => i.status)).toEqual(['READY']);
      expect(await objects(again.url)).toEqual([]);
    });
  });
});
