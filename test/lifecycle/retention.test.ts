import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image as GcpImage } from '../../src/gcp/images.ts';
import { decideRetention } from '../../src/lifecycle/retention.ts';
import { FAMILY, type Image, type Lab, lab, PROJECT, template } from './helpers.ts';

const managed = (name: string, minutesAgo: number, extra: Partial<GcpImage> = {}): GcpImage => ({
  name,
  selfLink: `projects/p/global/images/${name}`,
  status: 'READY',
  creationTimestamp: new Date(Date.UTC(2026, 0, 1) - minutesAgo * 60_000).toISOString(),
  labels: { 'managed-by': 'nix-glab-runner' },
  ...extra,
});

describe('decideRetention', () => {
  const now = Date.UTC(2026, 0, 1);
  it('keeps the newest N managed ACTIVE images and acts on the rest, oldest included', () => {
    const images = [managed('a', 50), managed('b', 40), managed('c', 30), managed('d', 20)];
    expect(
      decideRetention(images, new Map(), { keep: 2, retention: 'deprecate' }, now).map(
        (d) => `${d.image}:${d.action}`,
      ),
    ).toEqual(['d:keep', 'c:keep', 'b:deprecate', 'a:deprecate']);
  });

  it('counts neither deprecated, unready nor unlabelled images, and keeps images in use or too young', () => {
    const images = [
      managed('old-deprecated', 90, { deprecated: { state: 'DEPRECATED' } }),
      managed('pending', 1, { status: 'PENDING' }),
      managed('foreign', 5, { labels: {} }),
      managed('used', 80),
      managed('young', 15),
      managed('old', 70),
      managed('new', 10),
    ];
    const decisions = decideRetention(
      images,
      new Map([['used', 'instance template t']]),
      { keep: 1, retention: 'delete', minAge: 20 * 60 },
      now,
    );
    expect(decisions).toEqual([
      { image: 'new', action: 'keep', reason: 'among the newest 1' },
      { image: 'young', action: 'keep', reason: 'younger than min-age (900s old)' },
      { image: 'old', action: 'delete', reason: 'older than the newest 1' },
      { image: 'used', action: 'keep', reason: 'in use by instance template t' },
    ]);
  });
});

describe('prune against the emulator', () => {
  let l: Lab;
  const published: string[] = [];
  let unmanaged: string;

  beforeAll(async () => {
    l = await lab();
    published.push(await l.publishImage(1, { 'keep-object': 'true' }));
    // An image we did not label, in the same family, made from the kept tarball.
    unmanaged = 'hand-made-runner';
    const obj = `nix-glab-runner/${published[0]}.raw.tar.gz`;
    const res = await fetch(`${l.emu.url}/compute/v1/projects/${PROJECT}/global/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: unmanaged,
        family: FAMILY,
        rawDisk: { source: `https://storage.googleapis.com/lc-images/${obj}` },
      }),
    });
    expect(res.status).toBe(200);
    // A template pinning the second image keeps it out of retention's reach.
    published.push(await l.publishImage(2));
    l.emu.compute.admin.createTemplate(template('pinned', published[1] as string), { project: PROJECT });
  }, 60_000);
  afterAll(() => l?.stop());

  const active = (images: Image[]) => images.filter((i) => (i.deprecated?.state ?? 'ACTIVE') === 'ACTIVE');

  it('over 6 publishes keeps exactly `keep` managed images ACTIVE, never the unmanaged or the pinned one', async () => {
    for (let n = 3; n <= 6; n++) published.push(await l.publishImage(n));
    const images = await l.images();
    const managedActive = active(images).filter(
      (i) => i.labels?.['managed-by'] === 'nix-glab-runner' && i.name !== published[1],
    );
    expect(managedActive.map((i) => i.name).sort()).toEqual(published.slice(3).sort());
    const byName = new Map(images.map((i) => [i.name, i]));
    expect(byName.get(unmanaged)?.deprecated).toBeUndefined();
    expect(byName.get(published[1] as string)?.deprecated).toBeUndefined();
    for (const name of [published[0], published[2]]) {
      expect(byName.get(name as string)?.deprecated?.state, name).toBe('DEPRECATED');
      // The replacement is the newest managed image at the time of that prune.
      const replacement = byName.get(name as string)?.deprecated?.replacement ?? '';
      expect(published.slice(3)).toContain(replacement.slice(replacement.lastIndexOf('/') + 1));
    }
    expect((await l.fromFamily())?.name).toBe(published[5]);
  }, 60_000);

  it('a skipped publish prunes nothing and changes nothing', async () => {
    l.emu.requests.clear();
    const again = await l.run('publish', {
      bucket: 'lc-images',
      'image-file': `${l.ws}/image-6.raw.tar.gz`,
      keep: '1',
    });
    expect(again.outputs.skipped).toBe('true');
    expect(l.emu.requests.mutating()).toEqual([]);
  });

  it('dry-run prune plans deletions without a single mutating request', async () => {
    l.emu.requests.clear();
    const plan = await l.run('prune', { keep: '1', retention: 'delete', 'dry-run': 'true' });
    expect(l.emu.requests.mutating()).toEqual([]);
    expect(
      plan.plan
        .filter((p) => p.action === 'delete')
        .map((p) => p.resource)
        .sort(),
    ).toEqual([published[3], published[4]].sort());
    expect(plan.plan).toContainEqual(
      expect.objectContaining({
        action: 'keep',
        resource: published[1],
        detail: 'in use by instance template pinned',
      }),
    );
    expect(JSON.parse(plan.outputs.plan as string)).toEqual(plan.plan);
  });

  it('prune with retention delete and min-age deletes only old enough images', async () => {
    const young = await l.run('prune', { keep: '1', retention: 'delete', 'min-age': '1h' });
    expect(young.outputs['images-deleted']).toBe('');
    const pruned = await l.run('prune', { keep: '1', retention: 'delete' });
    expect(pruned.outputs['images-deleted']?.split(',').sort()).toEqual([published[3], published[4]].sort());
    const names = (await l.images()).map((i) => i.name);
    expect(names).not.toContain(published[3]);
    expect(names).toContain(published[1]);
    expect(names).toContain(unmanaged);
    // The deprecated ones are not counted, so they stay as they were.
    expect(names).toContain(published[0]);
  });
});
