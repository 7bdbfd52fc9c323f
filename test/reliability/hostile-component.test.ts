/**
 * Issue 13 through the GitLab component: the inputs of items 1, 2, 5 and 6 that the component has
 * (object-prefix, image-name, flake), in a job run by gitlab-ci-local on this host with the working tree's
 * CLI as the tool, against the emulator. Each stops the job with the CLI's one message and writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  componentProject,
  includeComponent,
  plain,
  runPublishJob,
  WORKING_TREE_CLI,
} from '../component/helpers.ts';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { requireNix, TEST_NIX_CONFIG, tempDir } from '../nix-stage/helpers.ts';

const PROJECT = 'hostile-component-project';
const BUCKET = 'hostile-component-images';
const FAMILY = 'hostile-component-runners';
const CANARY = `canary${randomBytes(12).toString('hex')}`;

describe('6. Hostile input and ownership', () => {
  let emu: Emulator;
  let storage: Storage;

  beforeAll(async () => {
    requireNix();
    emu = await startEmulator({ dataDir: tempDir('hostile-component-emu'), operationMs: 20 });
    storage = new Storage({ apiEndpoint: emu.url, projectId: PROJECT });
    await storage.createBucket(BUCKET);
  });
  afterAll(() => emu?.stop());

  /** A prebuilt tarball outside the project, for image-file. */
  const tarball = () => {
    const file = join(tempDir('hostile-component-image'), 'image.raw.tar.gz');
    writeFileSync(file, makeImageTarball({ data: randomBytes(4096) }));
    return file;
  };

  /** Runs the publish job of a component project with these inputs. */
  const runJob = async (inputs: Record<string, string>) => {
    const { dir } = componentProject({
      '.gitlab-ci.yml': includeComponent({
        'tool-command': WORKING_TREE_CLI,
        kvm: 'optional',
        project: PROJECT,
        bucket: BUCKET,
        family: FAMILY,
        'storage-endpoint': emu.url,
        'compute-endpoint': emu.url,
        ...inputs,
      }),
    });
    emu.requests.clear();
    const run = await runPublishJob(dir, { env: { NIX_CONFIG: TEST_NIX_CONFIG } });
    return { code: run.code, log: plain(run.stdout + run.stderr), writes: emu.requests.mutating() };
  };

  describe('an object at our name that we did not write', () => {
    it('the GitLab component stops at an object we did not write, leaving it as it was', async () => {
      const file = storage.bucket(BUCKET).file('team-a/db-backup.raw.tar.gz');
      await file.save('team A database dump\n', { resumable: false });
      const [before] = await file.getMetadata();
      const run = await runJob({
        'image-file': tarball(),
        'object-prefix': 'team-a/',
        'image-name': 'db-backup',
      });
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toMatch(
        `error: gs://${BUCKET}/team-a/db-backup.raw.tar.gz already exists and is not this build's`,
      );
      expect(run.writes).toEqual([]);
      const [after] = await file.getMetadata();
      expect(after.generation).toBe(before.generation);
    });
  });

  describe('an image name another build holds', () => {
    it('the GitLab component stops at an image name another build holds, before uploading', async () => {
      await storage
        .bucket(BUCKET)
        .file('theirs/runner-stable.raw.tar.gz')
        .save(makeImageTarball(), { resumable: false });
      const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'runner-stable',
          rawDisk: { source: `https://storage.googleapis.com/${BUCKET}/theirs/runner-stable.raw.tar.gz` },
        }),
      });
      expect(res.status).toBe(200);
      const run = await runJob({ 'image-file': tarball(), 'image-name': 'runner-stable' });
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toMatch(
        'error: Image name "runner-stable" is already taken by an image that is not this build\'s',
      );
      expect(run.writes).toEqual([]);
    });
  });

  describe('option-like values', () => {
    it('the GitLab component refuses an option-like flake', async () => {
      const run = await runJob({ flake: '--version' });
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toMatch('error: Input "flake" must not start with "-"');
      expect(run.writes).toEqual([]);
    });
  });

  describe('credentials in flake URLs', () => {
    it('the GitLab component refuses a token in the flake URL without printing it', async () => {
      const run = await runJob({
        flake: `git+https://gitlab.example.com/team/infra.git?private_token=${CANARY}`,
      });
      expect(run.code, run.log).not.toBe(0);
      expect(run.log).toMatch('error: Input "flake" must not contain credentials');
      expect(run.log).toContain('private_token=***');
      expect(run.log).not.toContain(CANARY);
      expect(run.writes).toEqual([]);
    });
  });
});
