/**
 * How a roll ends when something goes wrong: one clear message, the group on one version (named), and no
 * template of ours left behind unless the message names it. Also: guests that never answer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { drainingGuests, replacementsBeforeDrain } from './guests.ts';
import { type Lab, lab, last, members, PROJECT, template, ZONE } from './helpers.ts';

interface Group {
  versions: { instanceTemplate: string }[];
  updatePolicy: { type: string };
  status: { isStable: boolean; versionTarget: { isReached: boolean } };
}

const groupPath = (name: string) => `zones/${ZONE}/instanceGroupManagers/${name}`;

async function refusal(p: Promise<unknown>): Promise<Error & { lines?: string[] }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the command to fail');
}

describe('roll failure modes', () => {
  let l: Lab;
  let first: string;
  let second: string;
  let unsubscribe: () => void;

  const ourTemplates = async () =>
    ((await l.get<{ items?: { name: string }[] }>('global/instanceTemplates')).items ?? [])
      .map((t) => t.name)
      .filter((n) => n.includes('-ngr-'));
  const group = (name: string) => l.get<Group>(`zones/${ZONE}/instanceGroupManagers/${name}`);
  /** A group of two on its own template (named like the group), so each roll makes a template of its own. */
  const makeGroup = (
    name: string,
    extra: Record<string, unknown> = {},
    opts: { guestAttributes?: boolean } = {},
  ) => {
    l.emu.compute.admin.createTemplate(template(name, first, opts), { project: PROJECT });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name,
      template: name,
      targetSize: 2,
      ready: true,
      ...extra,
    });
  };

  beforeAll(async () => {
    l = await lab();
    first = await l.publishImage(21);
    second = await l.publishImage(22);
    unsubscribe = drainingGuests(l.emu, { drainMs: 300, silent: /^(silent|legacy)-/ });
  }, 60_000);
  afterEach(() => l.emu.faults.clear());
  afterAll(async () => {
    unsubscribe?.();
    await l?.stop();
  });

  it('group not found: names the group and changes nothing', async () => {
    l.emu.requests.clear();
    const err = await refusal(l.run('roll', { 'instance-group': groupPath('nope'), image: second }));
    expect(err.message).toBe(
      `Instance group "projects/${PROJECT}/${groupPath('nope')}" was not found; check "instance-group" and "project".`,
    );
    expect(l.emu.requests.mutating()).toEqual([]);
  });

  it('stateful group: refuses PROACTIVE before any change and names the alternative; drain still rolls it', async () => {
    makeGroup('stateful', {
      statefulPolicy: { preservedState: { disks: { 'persistent-disk-0': { autoDelete: 'NEVER' } } } },
    });
    l.emu.requests.clear();
    const err = await refusal(
      l.run('roll', { 'instance-group': groupPath('stateful'), image: second, drain: 'false' }),
    );
    expect(err.message).toMatch(
      /is stateful, and Google refuses a PROACTIVE update on stateful groups; roll with drain \(the default\)/,
    );
    expect(l.emu.requests.mutating()).toEqual([]);
    const rolled = await l.run('roll', { 'instance-group': groupPath('stateful'), image: second });
    expect(rolled.outputs['instances-drained']).toBe('2');
    expect((await group('stateful')).status.versionTarget.isReached).toBe(true);
  }, 30_000);

  it('the new template rejected: the group stays on its template and no template is left', async () => {
    makeGroup('rejected');
    l.emu.faults.add({
      method: 'POST',
      path: '/global/instanceTemplates$',
      count: 1,
      operationError: {
        code: 'INVALID_FIELD_VALUE',
        message: "Invalid value for field 'resource.properties.machineType': 'e2-small'.",
      },
    });
    const before = await ourTemplates();
    const err = await refusal(l.run('roll', { 'instance-group': groupPath('rejected'), image: second }));
    expect(err.message).toMatch(
      /^creating instance template "rejected-ngr-[0-9a-f]{10}" failed: Invalid value for field 'resource.properties.machineType'.*; group projects\/lc-project\/zones\/us-central1-a\/instanceGroupManagers\/rejected is unchanged on template rejected$/,
    );
    expect(await ourTemplates()).toEqual(before);
    expect(last((await group('rejected')).versions[0]?.instanceTemplate ?? '')).toBe('rejected');
  });

  it('the group patch refused: the template made for it is removed again', async () => {
    makeGroup('unpatchable');
    l.emu.faults.add({ method: 'PATCH', path: '/instanceGroupManagers/unpatchable$', count: 1, status: 403 });
    const before = await ourTemplates();
    const err = await refusal(l.run('roll', { 'instance-group': groupPath('unpatchable'), image: second }));
    expect(err.message).toMatch(
      /^updating instance group .*unpatchable" failed: .*; group .*unpatchable is unchanged on template unpatchable; the new template unpatchable-ngr-[0-9a-f]{10} was removed$/,
    );
    expect(await ourTemplates()).toEqual(before);
    expect(last((await group('unpatchable')).versions[0]?.instanceTemplate ?? '')).toBe('unpatchable');
  });

  it('an operation failing mid-roll: says which version the group targets and how far it got', async () => {
    makeGroup('midway');
    l.emu.faults.add({
      method: 'POST',
      path: '/instanceGroupManagers/midway/applyUpdatesToInstances$',
      count: 1,
      operationError: {
        code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
        message: 'The zone does not have enough resources available.',
      },
    });
    const err = await refusal(
      l.run('roll', { 'instance-group': groupPath('midway'), image: second, 'max-unavailable': '1' }),
    );
    expect(err.message).toMatch(
      /^replacing midway-\w+ in group .*midway" failed: The zone does not have enough resources available\.; group .*midway targets template midway-ngr-[0-9a-f]{10} and 0 of 2 instances run it; drained instances midway-\w+ wait for replacement: run roll again to finish, or rollback$/,
    );
    const g = await group('midway');
    expect(g.versions).toHaveLength(1);
    expect(last(g.versions[0]?.instanceTemplate ?? '')).toMatch(/^midway-ngr-/);
    // Running the roll again finishes it on the same template: the drained instance goes first.
    const templates = await ourTemplates();
    const again = await l.run('roll', {
      'instance-group': groupPath('midway'),
      image: second,
      'max-unavailable': '1',
    });
    expect(again.plan.filter((p) => p.action === 'create')).toEqual([]);
    expect(await ourTemplates()).toEqual(templates);
    expect(again.outputs['instances-replaced']).toBe('2');
    expect((await group('midway')).status.versionTarget.isReached).toBe(true);
  }, 30_000);

  it('roll timeout: names the stuck instances and their drain state, and the version the group targets', async () => {
    makeGroup('silent');
    const err = await refusal(
      l.run('roll', {
        'instance-group': groupPath('silent'),
        image: second,
        'drain-timeout': '1h',
        'roll-timeout': '10s',
        'max-unavailable': '1',
      }),
    );
    expect(err.message).toMatch(
      /^Roll of group projects\/.*silent did not finish within 10s \(roll-timeout\): 0\/2 instances on silent-ngr-[0-9a-f]{10}; stuck: silent-\w+ \(NONE, RUNNING, drain signalled until [0-9T:-]+Z, old template\); silent-\w+ \(NONE, RUNNING, old template\)\. The group targets silent-ngr-[0-9a-f]{10}; run roll again to finish, or rollback\.$/,
    );
    expect(err.lines).toContainEqual(
      expect.stringMatching(/^warn: roll-timeout \(10s\) is not longer than drain-timeout \(3600s\)/),
    );
  }, 30_000);

  it('guests that never answer: replaced after drain-timeout, with a warning naming each', async () => {
    makeGroup('legacy', {}, { guestAttributes: false });
    const before = (await members(l, `zones/${ZONE}`, 'legacy')).map((m) => m.name);
    const since = Date.now();
    const result = await l.run('roll', {
      'instance-group': groupPath('legacy'),
      image: second,
      'drain-timeout': '2s',
      'max-unavailable': '2',
    });
    expect(result.outputs['drain-timeouts']?.split(',').sort()).toEqual([...before].sort());
    expect(result.outputs['instances-drained']).toBe('0');
    for (const name of before) {
      expect(result.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^warn: Instance ${name} does not have enable-guest-attributes=TRUE \\(in its own or the project's metadata\\), so its runner cannot report drained; waiting until the deadline`,
          ),
        ),
      );
      expect(result.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^warn: Instance ${name} did not report drained \\(no answer\\) by its drain deadline .*; replacing it anyway\\.$`,
          ),
        ),
      );
    }
    expect(replacementsBeforeDrain(l.emu, before, since)).toEqual([]);
  }, 30_000);

  it('drain false: a plain PROACTIVE rolling replace (which the event-log check catches)', async () => {
    makeGroup('proactive');
    const before = (await members(l, `zones/${ZONE}`, 'proactive')).map((m) => m.name);
    const since = Date.now();
    const result = await l.run('roll', {
      'instance-group': groupPath('proactive'),
      image: second,
      drain: 'false',
    });
    const g = await group('proactive');
    expect(g.updatePolicy.type).toBe('PROACTIVE');
    expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
    expect(result.outputs['instances-drained']).toBe('0');
    expect(result.outputs['instances-replaced']).toBe('2');
    // The check used on drained rolls is not vacuous: undrained replacements fail it.
    expect(replacementsBeforeDrain(l.emu, before, since)).toHaveLength(2);
    expect(
      l.emu.compute.instanceEvents.filter(
        (e) => e.event === 'draining-seen' && e.instance.startsWith('proactive-'),
      ),
    ).toEqual([]);
  }, 30_000);
});
