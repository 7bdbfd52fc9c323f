/**
 * Issue 17, section 2: a rolled-back build is one that rollback deprecated, not any deprecated build.
 * Rollback marks the image it deprecates with a label retention never sets; only a build carrying that
 * mark stops a publish with exit code 5. A build retention deprecated is published again as the family's
 * current image. Everything runs through the bundled CLI against the emulator.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { publishArgs, runCli } from '../helpers/cli.ts';
import { BUCKET, cliTarget, compute, FAMILY, type Image, type Lab, lab, PROJECT } from './helpers.ts';

const MARK = 'nix-glab-runner-rolled-back';

describe('rolled back versus deprecated by retention', () => {
  let l: Lab | undefined;
  afterEach(async () => {
    await l?.stop();
    l = undefined;
  });

  /** Publishes build `n` (a tarball of its own) through the CLI. */
  const publish = (lab: Lab, n: number, extra: string[] = []) => {
    // Written once: the tarball's identity is the hash of the file, so a rewrite would be another build.
    const file = join(lab.ws, `build-${n}.raw.tar.gz`);
    if (!existsSync(file)) writeFileSync(file, makeImageTarball({ data: Buffer.alloc(4096, n) }));
    const to = { project: PROJECT, bucket: BUCKET, family: FAMILY, url: lab.emu.url };
    return runCli(publishArgs(to, '--image-file', file, '--json', ...extra), { cwd: lab.ws });
  };
  const image = async (lab: Lab, name: string) => lab.get<Image>(`global/images/${name}`);
  const published = async (lab: Lab, n: number, extra: string[] = []) => {
    const r = await publish(lab, n, extra);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout)['image-name'] as string;
  };

  it('a build retention deprecated is published again as the family current image, uploading nothing', async () => {
    l = await lab();
    const first = await published(l, 1, ['--keep', '1']);
    const second = await published(l, 2, ['--keep', '1']);
    expect((await image(l, first)).deprecated?.state).toBe('DEPRECATED');
    expect((await image(l, first)).labels?.[MARK]).toBeUndefined();

    l.emu.requests.clear();
    const planned = await publish(l, 1, ['--keep', '1', '--dry-run']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stderr).toContain(
      `Dry run: would mark the deprecated image ${first} ACTIVE again and deprecate ${second} in its favour.`,
    );
    expect(l.emu.requests.mutating()).toEqual([]);

    const again = await publish(l, 1, ['--keep', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)['image-name']).toBe(first);
    expect((await l.fromFamily())?.name).toBe(first);
    expect((await image(l, first)).deprecated?.state ?? 'ACTIVE').toBe('ACTIVE');
    // The newer build gives way to it, as a rollback would, and is not marked rolled back.
    expect((await image(l, second)).deprecated).toMatchObject({ state: 'DEPRECATED' });
    expect((await image(l, second)).deprecated?.replacement).toMatch(new RegExp(`/images/${first}$`));
    expect((await image(l, second)).labels?.[MARK]).toBeUndefined();
    expect(l.emu.requests.matching(/^(POST|PUT) \/upload\//)).toEqual([]);
    expect(l.emu.requests.matching(/^POST .*\/global\/images$/)).toEqual([]);

    // And the newer build comes back the same way.
    const back = await publish(l, 2, ['--keep', '1']);
    expect(back.code, back.stderr).toBe(0);
    expect((await l.fromFamily())?.name).toBe(second);
  }, 120_000);

  it('the dry run of publishing a build retention deprecated plans its reactivation, not an upload', async () => {
    l = await lab();
    const first = await published(l, 1, ['--keep', '1']);
    const second = await published(l, 2, ['--keep', '1']);

    const planned = await publish(l, 1, ['--keep', '1', '--dry-run']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(JSON.parse(planned.stdout).plan).toEqual([
      { action: 'reactivate', resource: first, detail: 'deprecated image of this build, made ACTIVE again' },
      { action: 'deprecate', resource: second, detail: `newer; replacement ${first}` },
    ]);

    const again = await publish(l, 1, ['--keep', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)['images-deprecated']).toBe(second);
  }, 120_000);

  it('rollback marks the image it deprecates; only that build stops a publish with exit code 5', async () => {
    l = await lab();
    const first = await published(l, 1);
    const second = await published(l, 2);
    const rolled = await runCli(['rollback', ...cliTarget(l)], { cwd: l.ws });
    expect(rolled.code, rolled.stderr).toBe(0);
    const marked = await image(l, second);
    expect(marked.deprecated?.state).toBe('DEPRECATED');
    expect(marked.labels?.[MARK]).toMatch(/^\d{8}t\d{6}z$/);
    expect(marked.labels?.['managed-by']).toBe('nix-glab-runner');
    expect((await image(l, first)).labels?.[MARK]).toBeUndefined();

    l.emu.requests.clear();
    const refused = await publish(l, 2);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(
      `This build was published as ${second} and later rolled back (DEPRECATED); set "allow-rolled-back" to make it current again on purpose.`,
    );
    expect(l.emu.requests.mutating()).toEqual([]);

    const allowed = await publish(l, 2, ['--allow-rolled-back']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect((await l.fromFamily())?.name).toBe(second);
    // Made current on purpose: no longer a rolled-back build.
    expect((await image(l, second)).labels?.[MARK]).toBeUndefined();
  }, 120_000);

  it('a rollback whose deprecation fails takes its mark off again: the build stays publishable', async () => {
    l = await lab();
    await published(l, 1);
    const second = await published(l, 2);
    l.emu.faults.add({
      method: 'POST',
      path: `/images/${second}/deprecate$`,
      operationError: { code: 'INTERNAL_ERROR', message: 'deprecation failed' },
    });
    const rolled = await runCli(['rollback', ...cliTarget(l)], { cwd: l.ws });
    expect(rolled.code).toBe(4);
    const after = await image(l, second);
    expect(after.deprecated?.state ?? 'ACTIVE').toBe('ACTIVE');
    expect(after.labels?.[MARK]).toBeUndefined();
    expect(l.emu.requests.matching(new RegExp(`^POST .*/images/${second}/setLabels$`))).toHaveLength(2);
  }, 120_000);

  it('an image of the family without our label is not deprecated in favour of a republished build', async () => {
    l = await lab();
    const first = await published(l, 1, ['--keep', '1']);
    await published(l, 2, ['--keep', '1']);
    // Someone else's image in the family, newest of all, made from an object of theirs.
    const object = 'theirs/disk.raw.tar.gz';
    await new Storage({ apiEndpoint: l.emu.url, projectId: PROJECT })
      .bucket(BUCKET)
      .file(object)
      .save(makeImageTarball({ data: Buffer.alloc(4096, 9) }), { contentType: 'application/x-tar' });
    await compute(l, 'POST', 'global/images', {
      name: 'someone-elses',
      family: FAMILY,
      rawDisk: { source: `https://storage.googleapis.com/${BUCKET}/${object}` },
    });
    const again = await publish(l, 1, ['--keep', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect((await image(l, first)).deprecated?.state ?? 'ACTIVE').toBe('ACTIVE');
    expect((await image(l, 'someone-elses')).deprecated).toBeUndefined();
    expect((await l.fromFamily())?.name).toBe('someone-elses');
  }, 120_000);
});
