import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainingGuests, replacementsBeforeDrain } from './guests.ts';
import { type Lab, lab, last, members, PROJECT, REGION, template, ZONE } from './helpers.ts';

interface Group {
  versions: { instanceTemplate: string }[];
  updatePolicy: { type: string };
  status: { isStable: boolean; versionTarget: { isReached: boolean } };
}
interface Template {
  name: string;
  properties: {
    disks: { initializeParams: { sourceImage: string } }[];
    labels: Record<string, string>;
    metadata: { items: { key: string; value: string }[] };
    serviceAccounts?: unknown;
  };
}

describe('publish and roll with drain', () => {
  let l: Lab;
  let first: string;
  let unsubscribe: () => void;

  beforeAll(async () => {
    l = await lab();
    first = await l.publishImage(11);
    l.emu.compute.admin.createTemplate(template('runner-tpl', first), { project: PROJECT });
    l.emu.compute.admin.createTemplate(template('runner-tpl-r', first), {
      project: PROJECT,
      scope: `regions/${REGION}`,
    });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'runners',
      template: 'runner-tpl',
      targetSize: 3,
      ready: true,
    });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      region: REGION,
      name: 'runners-r',
      template: `projects/${PROJECT}/regions/${REGION}/instanceTemplates/runner-tpl-r`,
      targetSize: 3,
      ready: true,
    });
    unsubscribe = drainingGuests(l.emu, { drainMs: 3000 });
  }, 60_000);
  afterAll(async () => {
    unsubscribe?.();
    await l?.stop();
  });

  let second: string;
  let templateName: string;

  it('publish plus roll converges on a zonal group, replacing no instance before it drained', async () => {
    const before = (await members(l, `zones/${ZONE}`, 'runners')).map((m) => m.name);
    expect(before).toHaveLength(3);
    const since = Date.now();
    const result = await l.publish(12, {
      roll: 'mig',
      'instance-group': `zones/${ZONE}/instanceGroupManagers/runners`,
      'max-unavailable': '1',
      'max-surge': '0',
    });
    second = result.outputs['image-name'] as string;
    templateName = last(result.outputs['instance-template'] as string);

    expect(result.outputs).toMatchObject({
      'instance-group': `projects/${PROJECT}/zones/${ZONE}/instanceGroupManagers/runners`,
      'instances-replaced': '3',
      'instances-drained': '3',
      'drain-timeouts': '',
    });
    expect(replacementsBeforeDrain(l.emu, before, since)).toEqual([]);
    const group = await l.get<Group>(`zones/${ZONE}/instanceGroupManagers/runners`);
    expect(group.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
    expect(group.updatePolicy.type).toBe('OPPORTUNISTIC');
    expect(last(group.versions[0]?.instanceTemplate ?? '')).toBe(templateName);
    for (const m of await members(l, `zones/${ZONE}`, 'runners'))
      expect(last(m.version.instanceTemplate)).toBe(templateName);
    const progress = result.lines.filter((x) => x.startsWith('info: Roll progress:'));
    expect(progress[0]).toBe('info: Roll progress: 0/3 instances updated.');
    expect(progress.at(-1)).toBe('info: Roll progress: 3/3 instances updated.');
  }, 60_000);

  it('creates a template identical but for the image, its label and guest attributes, named from both', async () => {
    const source = await l.get<Template>('global/instanceTemplates/runner-tpl');
    const made = await l.get<Template>(`global/instanceTemplates/${templateName}`);
    expect(templateName).toMatch(/^runner-tpl-ngr-[0-9a-f]{10}$/);
    expect(last(made.properties.disks[0]?.initializeParams.sourceImage ?? '')).toBe(second);
    expect(made.properties.labels).toEqual({ ...source.properties.labels, 'nix-glab-runner-image': second });
    expect(made.properties.metadata.items).toContainEqual({ key: 'enable-guest-attributes', value: 'TRUE' });
    expect(made.properties.serviceAccounts).toEqual(source.properties.serviceAccounts);
  });

  it('rolling a group already on the image is a no-op with no mutating request', async () => {
    l.emu.requests.clear();
    const again = await l.run('roll', {
      'instance-group': `zones/${ZONE}/instanceGroupManagers/runners`,
      image: second,
    });
    expect(again.steps).toContainEqual({ stage: 'roll', result: 'already on the image' });
    expect(l.emu.requests.mutating()).toEqual([]);
  });

  it('publish plus roll converges on a regional group, with drains in parallel across zones', async () => {
    const before = (await members(l, `regions/${REGION}`, 'runners-r')).map((m) => m.name);
    const since = Date.now();
    const result = await l.publish(13, {
      roll: 'mig',
      'instance-group': `regions/${REGION}/instanceGroupManagers/runners-r`,
    });
    expect(result.outputs['image-name']).not.toBe(second);
    expect(result.outputs['instance-template']).toMatch(
      new RegExp(`^projects/${PROJECT}/regions/${REGION}/instanceTemplates/runner-tpl-r-ngr-`),
    );
    // Google's default maxUnavailable for a regional group is its number of zones: all three drain at once.
    const seen = l.emu.compute.instanceEvents.filter((e) => e.ms >= since && e.event === 'draining-seen');
    expect(seen).toHaveLength(3);
    expect(Math.max(...seen.map((e) => e.ms)) - Math.min(...seen.map((e) => e.ms))).toBeLessThan(2000);
    expect(result.outputs['instances-drained']).toBe('3');
    expect(replacementsBeforeDrain(l.emu, before, since)).toEqual([]);
    const group = await l.get<Group>(`regions/${REGION}/instanceGroupManagers/runners-r`);
    expect(group.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
  }, 60_000);
});
