import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { publishArgs, runCli } from '../helpers/cli.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir, workspace } from '../nix-stage/helpers.ts';

const PROJECT = 'race-project';
const BUCKET = 'race-images';
const FAMILY = 'race-runners';

describe('3. Concurrency', () => {
  describe('two publishes of one build', () => {
    let emu: Emulator;
    let flake: string;
    let ws: string;

    beforeAll(async () => {
      requireNix();
      // A slow insert keeps the winner's image PENDING while the other run arrives.
      emu = await startEmulator({ dataDir: tempDir('race-emu'), operationMs: 1500 });
      await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
      flake = fixtureRepo();
      ws = workspace({ 'runner.nix': '{ }\n' });
    });
    afterAll(() => emu?.stop());

    it('end with exactly one object and one image, and one run says it was skipped', async () => {
      // Both uploads and both image inserts meet at a barrier, so that each run checks for the object and
      // the image before the other's is visible, however far apart their builds finish: both upload, and
      // both insert.
      emu.faults.add({ method: 'PUT', path: `^/upload/storage/v1/b/${BUCKET}/o$`, barrier: 2, count: 2 });
      emu.faults.add({
        method: 'POST',
        path: `^/compute/v1/projects/${PROJECT}/global/images$`,
        barrier: 2,
        count: 2,
      });
      const publish = () =>
        runCli(
          publishArgs(
            { project: PROJECT, bucket: BUCKET, family: FAMILY, url: emu.url },
            ...['--flake', flake, '--extra-modules', 'runner.nix', '--keep-object', '--json'],
          ),
          { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } },
        );
      const runs = await Promise.all([publish(), publish()]);
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      const outputs = runs.map((r) => JSON.parse(r.stdout) as Record<string, unknown>);
      expect(outputs[0]?.['image-name']).toBe(outputs[1]?.['image-name']);
      expect(outputs.map((o) => o.skipped).sort()).toEqual([false, true]);

      const [objects] = await new Storage({ apiEndpoint: emu.url, projectId: PROJECT })
        .bucket(BUCKET)
        .getFiles();
      expect(objects.map((o) => o.name)).toEqual([
        String(outputs[0]?.['gcs-uri']).replace(`gs://${BUCKET}/`, ''),
      ]);
      // Both really raced: two uploads and two inserts reached the emulator, and create-only uploads let one
      // finalize (the other was refused, not stored as a second generation).
      expect(emu.requests.matching(/^PUT \/upload\//).length).toBe(2);
      expect(emu.requests.matching(/^POST \/compute\/v1\/projects\/[^/]+\/global\/images$/).length).toBe(2);
      expect(emu.storage.uploadEvents.filter((e) => e.outcome === 'finalized')).toHaveLength(1);

      const list = (await (
        await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images`)
      ).json()) as {
        items?: { name: string; status: string }[];
      };
      expect(list.items?.map((i) => `${i.name} ${i.status}`)).toEqual([
        `${outputs[0]?.['image-name']} READY`,
      ]);
    });
  });
});
