/** The rollout's half of the drain protocol on its own, and the template name rule. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { lifecycleClients } from '../../src/lifecycle/clients.ts';
import { DRAIN_KEY, readGuestDrain, rfc3339, signalDrain } from '../../src/lifecycle/drain.ts';
import { templateName } from '../../src/lifecycle/template-for-image.ts';
import { drainingGuests } from './guests.ts';
import { FAMILY, type Lab, lab, members, PROJECT, template, ZONE } from './helpers.ts';

describe('templateName', () => {
  const image = 'projects/p/global/images/runner-abc';
  it('is deterministic from the source template and the image, and at most 63 characters', () => {
    const a = templateName(
      'https://compute.googleapis.com/compute/v1/projects/p/global/instanceTemplates/runner',
      image,
    );
    expect(a).toBe(templateName('projects/p/global/instanceTemplates/runner', image));
    expect(a).toMatch(/^runner-ngr-[0-9a-f]{10}$/);
    expect(templateName('projects/p/global/instanceTemplates/runner', `${image}2`)).not.toBe(a);
    const long = templateName(`projects/p/global/instanceTemplates/${'a'.repeat(60)}-x`, image);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^a+-ngr-[0-9a-f]{10}$/);
  });

  it('does not grow when rolling one of its own templates', () => {
    const once = templateName('projects/p/global/instanceTemplates/runner', image);
    const twice = templateName(
      `projects/p/global/instanceTemplates/${once}`,
      'projects/p/global/images/other',
    );
    expect(twice).toMatch(/^runner-ngr-[0-9a-f]{10}$/);
    expect(twice).not.toBe(once);
  });
});

describe('signalDrain and readGuestDrain against the emulator', () => {
  let l: Lab;
  let name: string;
  beforeAll(async () => {
    l = await lab();
    const image = await l.publishImage(41);
    l.emu.compute.admin.createTemplate(template('drain-tpl', image), { project: PROJECT });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'drainers',
      template: 'drain-tpl',
      targetSize: 1,
      ready: true,
    });
    name = (await members(l, `zones/${ZONE}`, 'drainers'))[0]?.name as string;
  }, 60_000);
  afterAll(() => l?.stop());

  it('keeps the earlier deadline when signalled twice, and reads what the guest reports', async () => {
    const stop = drainingGuests(l.emu, { drainMs: 100 });
    const config = parseConfig(
      { project: PROJECT, family: FAMILY, 'compute-endpoint': l.emu.url },
      { workspace: l.ws, ci: false, command: 'prune' },
    );
    const { instances } = await lifecycleClients(config);
    const soon = Date.now() + 60_000;
    const first = await signalDrain(instances, ZONE, name, soon, 10_000);
    expect(first).toEqual({ deadlineMs: Date.parse(rfc3339(soon)), canAnswer: true });
    const later = await signalDrain(instances, ZONE, name, soon + 3_600_000, 10_000);
    expect(later?.deadlineMs).toBe(first?.deadlineMs);
    const metadata = (await instances.get(ZONE, name))?.metadata?.items ?? [];
    expect(metadata.filter((i) => i.key === DRAIN_KEY)).toEqual([{ key: DRAIN_KEY, value: rfc3339(soon) }]);
    // Only one metadata change reached the guest: the second signal wrote nothing.
    expect(
      l.emu.compute.instanceEvents.filter((e) => e.instance === name && e.event === 'metadata-set'),
    ).toHaveLength(1);
    for (let i = 0; i < 100; i++) {
      if ((await readGuestDrain(instances, ZONE, name)).state === 'drained') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await readGuestDrain(instances, ZONE, name)).toMatchObject({ state: 'drained', runningJobs: 0 });
    stop();
  });

  it('lets old instances answer when the project, not the instance, enables guest attributes', async () => {
    const stop = drainingGuests(l.emu, { drainMs: 100 });
    const url = `${l.emu.url}/compute/v1/projects/${PROJECT}`;
    const project = (await (await fetch(url)).json()) as { commonInstanceMetadata: { fingerprint: string } };
    const set = await fetch(`${url}/setCommonInstanceMetadata`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        fingerprint: project.commonInstanceMetadata.fingerprint,
        items: [{ key: 'enable-guest-attributes', value: 'TRUE' }],
      }),
    });
    expect(set.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const image = await l.publishImage(42);
    l.emu.compute.admin.createTemplate(template('plain-tpl', image, { guestAttributes: false }), {
      project: PROJECT,
    });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'plain',
      template: 'plain-tpl',
      targetSize: 2,
      ready: true,
    });
    const other = await l.publishImage(43);
    const result = await l.run('roll', {
      'instance-group': `zones/${ZONE}/instanceGroupManagers/plain`,
      image: other,
    });
    expect(result.outputs['instances-drained']).toBe('2');
    expect(result.outputs['drain-timeouts']).toBe('');
    expect(result.lines.filter((x) => x.startsWith('warn:'))).toEqual([]);
    stop();
  }, 30_000);
});
