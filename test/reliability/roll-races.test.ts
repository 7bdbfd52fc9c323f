/**
 * Issue 7, sections 3 and 1: two rolls of one group at once, and races with other writers (the group, a
 * template or the image family changed by someone else between our read and our write). Races are staged
 * for real: a `delayMs` fault holds one call of ours while the test changes the resource through the
 * Compute REST API, as another client would. Every case checks the end state: the group's version, the
 * instance event log (no instance drained or replaced twice, none replaced before it drained), the
 * templates left and the images' states. Each case has an emulator of its own, so they run side by side.
 */
import { describe, expect, it } from 'vitest';
import { IMAGE_LABEL, templateName } from '../../src/lifecycle/template-for-image.ts';
import { errorLine, runCli } from '../helpers/cli.ts';
import {
  bench,
  cliTarget,
  compute,
  FAMILY,
  groupInput,
  groupPath,
  groupTemplate,
  type Lab,
  last,
  makeGroup,
  PROJECT,
  template,
  ZONE,
} from '../lifecycle/helpers.ts';
import {
  drainedBeforeReplaced,
  groupImage,
  hold,
  memberNames,
  mostOutOfService,
  ourTemplates,
  outcome,
  readGroup,
  refusal,
  replacements,
  type Template,
} from './races.ts';

const SERIALIZE =
  '(the GitLab component holds resource_group nix-glab-runner-<family> for this, and a GitHub workflow needs a `concurrency:` group)';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Waits until the group targets a template other than `from` (another run patched it); returns it. */
async function patchedAway(l: Lab, group: string, from: string): Promise<string> {
  for (;;) {
    const g = await readGroup(l, group);
    const now = last(g.versions[0]?.instanceTemplate ?? '');
    if (now !== from) return now;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The first instance of `group` a drain was signalled to since `sinceMs`. */
async function firstDrained(l: Lab, group: string, sinceMs: number): Promise<string> {
  for (;;) {
    const seen = l.emu.compute.instanceEvents.find(
      (e) => e.ms >= sinceMs && e.event === 'draining-seen' && e.instance.startsWith(`${group}-`),
    );
    if (seen) return seen.instance;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Each instance that was there before was drained once (with drain) and replaced once, after draining. */
function onceEach(l: Lab, before: readonly string[], since: number, drain = true): void {
  const log = replacements(l.emu, before, since);
  for (const name of before) expect(log[name], name).toEqual({ replaced: 1, drainSignals: drain ? 1 : 0 });
  if (drain) expect(drainedBeforeReplaced(l.emu, before, since)).toEqual([]);
}

const message = (o: { ok: boolean; error?: Error }) => (o.ok ? '' : (o.error?.message ?? ''));

describe('3. Concurrency', () => {
  describe.concurrent('two rolls of one group', () => {
    it('same image, with drain: both succeed, each instance drained once and replaced once, one template', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'same', first, 3);
      const before = await memberNames(l, 'same');
      const since = Date.now();
      const roll = { 'instance-group': groupInput('same'), image: second, 'max-unavailable': '1' };
      // Both runs hand the first drained instance over; the first such call is held until the other one
      // has replaced it, so it arrives for an instance that already runs the new template.
      const held = hold(l.emu, { method: 'POST', path: '/applyUpdatesToInstances$' }, 800);
      const [a, b] = await Promise.all([outcome(l.run('roll', roll)), outcome(l.run('roll', roll))]);
      await held.arrived;
      expect(message(a)).toBe('');
      expect(message(b)).toBe('');

      const g = await readGroup(l, 'same');
      expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
      expect(await groupImage(l, 'same')).toBe(second);
      expect(await ourTemplates(l)).toEqual([last(g.versions[0]?.instanceTemplate ?? '')]);
      onceEach(l, before, since);
      // max-unavailable 1 holds across both runs: one instance out of service at a time.
      expect(mostOutOfService(l.emu, before, since)).toBe(1);
      // One run set the group, the other found it set and joined.
      const joined = [a, b].filter(
        (o) =>
          o.ok && o.value.lines.some((x) => /already targets template same-ngr-\w+ .*; carrying on/.test(x)),
      );
      expect(joined).toHaveLength(1);
    });

    it('same image, with drain: a run that reads the drain answer after the other replaced the instance lets it go', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'late', first, 2);
      const before = await memberNames(l, 'late');
      const since = Date.now();
      const roll = {
        'instance-group': groupInput('late'),
        image: second,
        'max-unavailable': '1',
        'roll-timeout': '15s',
      };
      const both = Promise.all([outcome(l.run('roll', roll)), outcome(l.run('roll', roll))]);
      // Both runs took up the drain of the first instance (each read it once); then one run's next read
      // of its guest answer is held until the other run has seen "drained" and replaced the instance.
      const victim = await firstDrained(l, 'late', since);
      while (l.emu.requests.entries.filter((e) => e.path.endsWith(`/instances/${victim}`)).length < 2)
        await new Promise((r) => setTimeout(r, 5));
      const held = hold(l.emu, { method: 'GET', path: `/instances/${victim}/getGuestAttributes$` }, 1500);
      await held.arrived;
      const [a, b] = await both;
      expect(message(a)).toBe('');
      expect(message(b)).toBe('');
      expect((await readGroup(l, 'late')).status.versionTarget.isReached).toBe(true);
      onceEach(l, before, since);
    });

    it('same image, with drain, the second joining mid-rollout on a listing gone stale: no instance drained or replaced twice', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'joiner', first, 3);
      const before = await memberNames(l, 'joiner');
      const since = Date.now();
      const roll = { 'instance-group': groupInput('joiner'), image: second, 'max-unavailable': '1' };
      const a = outcome(l.run('roll', roll));
      // Once the first run drains an instance, the second starts; its read of that instance is held until
      // the first run has replaced it, so the second acts on a listing that no longer holds.
      const victim = await firstDrained(l, 'joiner', since);
      const held = hold(l.emu, { method: 'GET', path: `/instances/${victim}$` }, 1500);
      const b = outcome(l.run('roll', roll));
      await held.arrived;
      const [ra, rb] = await Promise.all([a, b]);
      expect(message(ra)).toBe('');
      expect(message(rb)).toBe('');

      const g = await readGroup(l, 'joiner');
      expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
      expect(await groupImage(l, 'joiner')).toBe(second);
      onceEach(l, before, since);
      expect(mostOutOfService(l.emu, before, since)).toBe(1);
    });

    it('same image, without drain: both wait for the group, which replaces each instance once', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2, instanceStepMs: 150 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'nodrain', first, 2);
      const before = await memberNames(l, 'nodrain');
      const since = Date.now();
      const roll = { 'instance-group': groupInput('nodrain'), image: second, drain: 'false' };
      const [a, b] = await Promise.all([outcome(l.run('roll', roll)), outcome(l.run('roll', roll))]);
      expect(message(a)).toBe('');
      expect(message(b)).toBe('');
      const g = await readGroup(l, 'nodrain');
      expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
      expect(g.updatePolicy.type).toBe('PROACTIVE');
      expect(await groupImage(l, 'nodrain')).toBe(second);
      expect(await ourTemplates(l)).toEqual([last(g.versions[0]?.instanceTemplate ?? '')]);
      onceEach(l, before, since, false);
    });

    it('different images, with drain: a roll started while another one drains the group changes nothing and says who has it', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3, drainMs: 1500 });
      const [first, second, third] = images as [string, string, string];
      makeGroup(l, 'busy', first, 2);
      const before = await memberNames(l, 'busy');
      const since = Date.now();
      const a = outcome(l.run('roll', { 'instance-group': groupInput('busy'), image: second }));
      const theirs = await patchedAway(l, 'busy', 'busy');
      const started = l.emu.requests.entries.length;
      const b = await outcome(l.run('roll', { 'instance-group': groupInput('busy'), image: third }));
      expect(message(b)).toBe(
        `Instance group ${groupPath('busy')} is being rolled onto image ${second} (template ${theirs}, 0 of 2 instances on it) by another run, so this roll changed nothing: wait for that run to finish and run this one again, or, if it was stopped, roll image ${second} again to finish it first ${SERIALIZE}.`,
      );
      // The second run only read: no template made, the group not patched (the first run drains meanwhile).
      const during = l.emu.requests.entries.slice(started);
      expect(
        during.filter(
          (e) => e.mutating && (e.path.endsWith('/instanceTemplates') || e.path.endsWith('/busy')),
        ),
      ).toEqual([]);

      expect(message(await a)).toBe('');
      const g = await readGroup(l, 'busy');
      expect(g.status.versionTarget.isReached).toBe(true);
      expect(last(g.versions[0]?.instanceTemplate ?? '')).toBe(theirs);
      expect(await ourTemplates(l)).toEqual([theirs]);
      onceEach(l, before, since);
    });

    it('different images, with drain, started together: the run that loses the group patch removes its template', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3, drainMs: 1500 });
      const [first, second, third] = images as [string, string, string];
      makeGroup(l, 'pair', first, 2);
      const before = await memberNames(l, 'pair');
      const since = Date.now();
      // The first patch to arrive is held, so the other run's patch wins and this one's fingerprint is stale.
      const held = hold(l.emu, { method: 'PATCH', path: '/instanceGroupManagers/pair$' }, 800);
      const runs = await Promise.all(
        [second, third].map((image) =>
          outcome(l.run('roll', { 'instance-group': groupInput('pair'), image })),
        ),
      );
      await held.arrived;
      const winner = runs.findIndex((r) => r.ok);
      const loser = runs.find((r) => !r.ok);
      expect(winner).toBeGreaterThanOrEqual(0);
      expect(loser).toBeDefined();
      const won = [second, third][winner] as string;
      const g = await readGroup(l, 'pair');
      const theirs = last(g.versions[0]?.instanceTemplate ?? '');
      expect(message(loser ?? { ok: true })).toMatch(
        new RegExp(
          `^Instance group ${esc(groupPath('pair'))} is being rolled onto image ${won} \\(template ${theirs}, \\d of 2 instances on it\\) by another run, so this roll changed nothing; the new template pair-ngr-[0-9a-f]{10} was removed: wait for that run to finish`,
        ),
      );
      expect(g.status.versionTarget.isReached).toBe(true);
      expect(await groupImage(l, 'pair')).toBe(won);
      expect(await ourTemplates(l)).toEqual([theirs]);
      onceEach(l, before, since);
    });

    it('different images, without drain: the second roll leaves the group to the first', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3, instanceStepMs: 150 });
      const [first, second, third] = images as [string, string, string];
      makeGroup(l, 'proactive', first, 2);
      const before = await memberNames(l, 'proactive');
      const since = Date.now();
      const roll = { 'instance-group': groupInput('proactive'), drain: 'false' };
      const a = outcome(l.run('roll', { ...roll, image: second }));
      const theirs = await patchedAway(l, 'proactive', 'proactive');
      const b = await outcome(l.run('roll', { ...roll, image: third }));
      expect(message(b)).toMatch(
        new RegExp(
          `is being rolled onto image ${second} \\(template ${theirs}, \\d of \\d instances on it\\) by another run, so this roll changed nothing: wait`,
        ),
      );
      expect(message(await a)).toBe('');
      const g = await readGroup(l, 'proactive');
      expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
      expect(await groupImage(l, 'proactive')).toBe(second);
      expect(await ourTemplates(l)).toEqual([theirs]);
      onceEach(l, before, since, false);
    });

    it('different images through the CLI: exit 4 and one error line naming the group, the other image and what to do', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3, drainMs: 1500 });
      const [first, second, third] = images as [string, string, string];
      makeGroup(l, 'cli', first, 3);
      const a = outcome(l.run('roll', { 'instance-group': groupInput('cli'), image: second }));
      const theirs = await patchedAway(l, 'cli', 'cli');
      const run = await runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('cli'), '--image', third],
        { cwd: l.ws },
      );
      expect(run.code, run.stderr).toBe(4);
      expect(errorLine(run.stderr)).toMatch(
        new RegExp(
          `^Instance group ${esc(groupPath('cli'))} is being rolled onto image ${second} \\(template ${theirs}, \\d of 3 instances on it\\) by another run, so this roll changed nothing: wait for that run to finish and run this one again, or, if it was stopped, roll image ${second} again to finish it first ${esc(SERIALIZE)}\\.$`,
        ),
      );
      expect(message(await a)).toBe('');
      expect(await ourTemplates(l)).toEqual([theirs]);
      expect(await groupImage(l, 'cli')).toBe(second);
    });

    it('rollback takes over an unfinished roll onto the image it rolls back; that roll stops and says so', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3, drainMs: 1500 });
      const [, second, third] = images as [string, string, string];
      makeGroup(l, 'back', second, 2);
      const before = await memberNames(l, 'back');
      const since = Date.now();
      const a = outcome(l.run('roll', { 'instance-group': groupInput('back'), image: third }));
      const theirs = await patchedAway(l, 'back', 'back');
      await firstDrained(l, 'back', since);
      const back = await outcome(l.run('rollback', { 'instance-group': groupInput('back') }));
      expect(message(back)).toBe('');
      const ours = back.ok ? last(back.value.outputs['instance-template'] ?? '') : '';
      expect(message(await a)).toBe(
        `Instance group ${groupPath('back')} was moved from template ${theirs} to template ${ours} by someone else during this roll, so this roll stopped and leaves the group to that change: find out who else rolls it ${SERIALIZE} before running it again.`,
      );
      expect(back.ok && back.value.lines).toContainEqual(
        `warn: Group ${groupPath('back')} is still being rolled onto ${third}, the image rolled back; this roll takes it over.`,
      );
      const g = await readGroup(l, 'back');
      expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
      expect(await groupImage(l, 'back')).toBe(second);
      expect((await l.images()).find((i) => i.name === third)?.deprecated?.state).toBe('DEPRECATED');
      // The drain the first run signalled was taken over, not signalled again.
      onceEach(l, before, since);
    });
  });
});

describe('1. Fault matrix', () => {
  describe.concurrent('races: group changed (412)', () => {
    it('resized by someone between our read and our patch: read again, patched once more, the new size kept', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'resized', first, 2);
      const since = Date.now();
      const held = hold(l.emu, { method: 'PATCH', path: '/instanceGroupManagers/resized$' });
      const run = outcome(l.run('roll', { 'instance-group': groupInput('resized'), image: second }));
      await held.arrived;
      await compute(l, 'POST', `zones/${ZONE}/instanceGroupManagers/resized/resize?size=3`);
      expect(message(await run)).toBe('');

      const g = await readGroup(l, 'resized');
      expect(g.targetSize).toBe(3);
      expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
      expect(await groupImage(l, 'resized')).toBe(second);
      const patches = l.emu.requests.entries.filter(
        (e) => e.method === 'PATCH' && e.path.endsWith('/instanceGroupManagers/resized'),
      );
      expect(patches.map((e) => e.status)).toEqual([412, 200]);
      // Every instance, the one the resize added included, was drained and then replaced, once.
      const drained = l.emu.compute.instanceEvents.filter(
        (e) => e.ms >= since && e.event === 'draining-seen',
      );
      const names = [...new Set(drained.map((e) => e.instance))];
      expect(names).toHaveLength(3);
      onceEach(l, names, since);
    });

    it('moved to another template between our read and our patch (CLI): exit 4, the group left on it, our template removed', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'moved', first, 2);
      l.emu.compute.admin.createTemplate(template('theirs', first), { project: PROJECT });
      const held = hold(l.emu, { method: 'PATCH', path: '/instanceGroupManagers/moved$' });
      const run = runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('moved'), '--image', second],
        {
          cwd: l.ws,
        },
      );
      await held.arrived;
      const { fingerprint } = await readGroup(l, 'moved');
      await compute(l, 'PATCH', `zones/${ZONE}/instanceGroupManagers/moved`, {
        versions: [{ instanceTemplate: `projects/${PROJECT}/global/instanceTemplates/theirs` }],
        fingerprint,
      });
      const r = await run;
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toMatch(
        new RegExp(
          `^updating instance group "${esc(groupPath('moved'))}" failed: Invalid fingerprint\\.; instance group ${esc(groupPath('moved'))} was changed by someone else meanwhile and now runs template theirs, so this roll changed nothing; the new template moved-ngr-[0-9a-f]{10} was removed; run it again once that change is done\\.$`,
        ),
      );
      expect(await groupTemplate(l, 'moved')).toBe('theirs');
      expect(await ourTemplates(l)).toEqual([]);
      expect(l.emu.compute.instanceEvents.filter((e) => e.event === 'draining-seen')).toEqual([]);
    });
    it("moved onto someone's copy of our template between our read and our patch: changed by someone else, not another run's roll", async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'copied', first, 2);
      // Our image label copied along, but not our name suffix: a template of theirs, not a roll of ours.
      const copy = template('their-copy', first);
      const labels = { ...copy.properties.labels, [IMAGE_LABEL]: first };
      l.emu.compute.admin.createTemplate(
        { ...copy, properties: { ...copy.properties, labels } },
        { project: PROJECT },
      );
      const held = hold(l.emu, { method: 'PATCH', path: '/instanceGroupManagers/copied$' });
      const run = outcome(l.run('roll', { 'instance-group': groupInput('copied'), image: second }));
      await held.arrived;
      const { fingerprint } = await readGroup(l, 'copied');
      await compute(l, 'PATCH', `zones/${ZONE}/instanceGroupManagers/copied`, {
        versions: [{ instanceTemplate: `projects/${PROJECT}/global/instanceTemplates/their-copy` }],
        fingerprint,
      });
      expect(message(await run)).toMatch(
        new RegExp(
          `instance group ${esc(groupPath('copied'))} was changed by someone else meanwhile and now runs template their-copy, so this roll changed nothing; the new template copied-ngr-[0-9a-f]{10} was removed; run it again once that change is done\\.$`,
        ),
      );
      expect(last((await readGroup(l, 'copied')).versions[0]?.instanceTemplate ?? '')).toBe('their-copy');
    });
  });

  describe.concurrent('races: template changed (409)', () => {
    it("two groups on one template rolled onto one image at once: the run whose insert gets 409 uses the other run's template", async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      l.emu.compute.admin.createTemplate(template('shared', first), { project: PROJECT });
      for (const name of ['left', 'right'])
        l.emu.compute.admin.createGroup({
          project: PROJECT,
          zone: ZONE,
          name,
          template: 'shared',
          targetSize: 2,
          ready: true,
        });
      const before = [...(await memberNames(l, 'left')), ...(await memberNames(l, 'right'))];
      const since = Date.now();
      // The first insert is held, so the other run's insert lands first and this one meets a 409.
      const held = hold(l.emu, { method: 'POST', path: '/global/instanceTemplates$' }, 800);
      const runs = await Promise.all(
        ['left', 'right'].map((g) =>
          outcome(l.run('roll', { 'instance-group': groupInput(g), image: second })),
        ),
      );
      await held.arrived;
      for (const r of runs) expect(message(r)).toBe('');
      const made = await ourTemplates(l);
      expect(made).toEqual([expect.stringMatching(/^shared-ngr-[0-9a-f]{10}$/)]);
      for (const g of ['left', 'right']) {
        const group = await readGroup(l, g);
        expect(group.status.versionTarget.isReached).toBe(true);
        expect(last(group.versions[0]?.instanceTemplate ?? '')).toBe(made[0]);
      }
      const reused = runs.filter(
        (r) => r.ok && r.value.lines.some((x) => /was made by another run meanwhile; using it/.test(x)),
      );
      expect(reused).toHaveLength(1);
      onceEach(l, before, since);
    });

    it('a template under our name booting another image appears before our insert (CLI): exit 4, theirs left alone, group unchanged', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'taken', first, 2);
      const source = await l.get<{ selfLink: string }>('global/instanceTemplates/taken');
      const name = templateName(source.selfLink, `projects/${PROJECT}/global/images/${second}`);
      const held = hold(l.emu, { method: 'POST', path: '/global/instanceTemplates$' });
      const run = runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('taken'), '--image', second],
        {
          cwd: l.ws,
        },
      );
      await held.arrived;
      await compute(l, 'POST', 'global/instanceTemplates', template(name, first));
      const r = await run;
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toBe(
        `Instance template ${name} already exists but boots ${first}, not ${second}, so someone else made a template under the name this roll uses; group ${groupPath('taken')} is unchanged on template taken: delete that template (gcloud compute instance-templates delete ${name}) and run again.`,
      );
      const theirs = await l.get<Template>(`global/instanceTemplates/${name}`);
      expect(last(theirs.properties.disks[0]?.initializeParams.sourceImage ?? '')).toBe(first);
      expect(await groupTemplate(l, 'taken')).toBe('taken');
    });

    it('a template under our name from before, booting another image, is not reused', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'stale', first, 2);
      const source = await l.get<{ selfLink: string }>('global/instanceTemplates/stale');
      const name = templateName(source.selfLink, `projects/${PROJECT}/global/images/${second}`);
      l.emu.compute.admin.createTemplate(template(name, first), { project: PROJECT });
      l.emu.requests.clear();
      const err = await refusal(l.run('roll', { 'instance-group': groupInput('stale'), image: second }));
      expect(err.message).toMatch(
        new RegExp(`^Instance template ${name} already exists but boots ${first}, not ${second}`),
      );
      expect(l.emu.requests.mutating()).toEqual([]);
      expect(await groupImage(l, 'stale')).toBe(first);
    });

    it('our new template deleted by someone else before the group patch: a clear failure, the group unchanged', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'vanished', first, 2);
      const held = hold(l.emu, { method: 'PATCH', path: '/instanceGroupManagers/vanished$' });
      const run = outcome(l.run('roll', { 'instance-group': groupInput('vanished'), image: second }));
      await held.arrived;
      const [ours] = await ourTemplates(l);
      await compute(l, 'DELETE', `global/instanceTemplates/${ours}`);
      expect(message(await run)).toBe(
        `updating instance group "${groupPath('vanished')}" failed: The resource 'projects/${PROJECT}/global/instanceTemplates/${ours}' was not found; the new template ${ours} was deleted by someone else before the group used it, so group ${groupPath('vanished')} is unchanged on template vanished: run roll again.`,
      );
      expect(await groupTemplate(l, 'vanished')).toBe('vanished');
      expect(await ourTemplates(l)).toEqual([]);
    });
  });

  describe.concurrent('races: family changed', () => {
    const states = async (l: Lab) =>
      Object.fromEntries((await l.images()).map((i) => [i.name, i.deprecated?.state ?? 'ACTIVE']));

    it('prune: images deprecated, deleted or relabelled by someone else meanwhile are left as they made them', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 5 });
      const [a, b, c, d, e] = images as [string, string, string, string, string];
      // Between prune's list and its writes (here: while it looks for templates using the images), someone
      // makes a OBSOLETE, deletes b and takes our label off c.
      const held = hold(l.emu, { method: 'GET', path: '/aggregated/instanceTemplates$' });
      const run = outcome(l.run('prune', { keep: '1' }));
      await held.arrived;
      await compute(l, 'POST', `global/images/${a}/deprecate`, {
        state: 'OBSOLETE',
        replacement: `projects/${PROJECT}/global/images/${e}`,
      });
      await compute(l, 'DELETE', `global/images/${b}`);
      const { labelFingerprint } = await l.get<{ labelFingerprint: string }>(`global/images/${c}`);
      await compute(l, 'POST', `global/images/${c}/setLabels`, {
        labels: { owner: 'someone' },
        labelFingerprint,
      });
      const r = await run;
      expect(message(r)).toBe('');
      expect(r.ok && r.value.outputs['images-deprecated']).toBe(d);
      expect(await states(l)).toEqual({ [a]: 'OBSOLETE', [c]: 'ACTIVE', [d]: 'DEPRECATED', [e]: 'ACTIVE' });
      const obsolete = (await l.images()).find((i) => i.name === a);
      expect(last(obsolete?.deprecated?.replacement ?? '')).toBe(e);
      expect(r.ok && r.value.lines).toEqual(
        expect.arrayContaining([
          `info: Skipped ${a}: someone else made it OBSOLETE meanwhile; left as it is.`,
          `info: Skipped ${b}: someone else deleted it meanwhile.`,
          `info: Skipped ${c}: it no longer carries managed-by=nix-glab-runner; left as it is.`,
        ]),
      );
    });

    it('prune with retention delete: an image someone else deleted just before our delete counts as deleted', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3 });
      const [a, b, c] = images as [string, string, string];
      const held = hold(l.emu, { method: 'DELETE', path: `/global/images/${b}$` });
      const run = outcome(l.run('prune', { keep: '1', retention: 'delete' }));
      await held.arrived;
      await compute(l, 'DELETE', `global/images/${b}`);
      const r = await run;
      expect(message(r)).toBe('');
      expect(r.ok && r.value.outputs['images-deleted']).toBe(a);
      expect(await states(l)).toEqual({ [c]: 'ACTIVE' });
    });

    it('prune while the newest image is deprecated by someone else (CLI): exit 4, nothing pruned, the family keeps an ACTIVE image', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3 });
      const [a, b, c] = images as [string, string, string];
      const held = hold(l.emu, { method: 'GET', path: '/aggregated/instanceTemplates$' });
      const run = runCli(['prune', ...cliTarget(l), '--keep', '1'], { cwd: l.ws });
      await held.arrived;
      // A rollback elsewhere: the newest image goes, the previous one is current again.
      await compute(l, 'POST', `global/images/${c}/deprecate`, {
        state: 'DEPRECATED',
        replacement: `projects/${PROJECT}/global/images/${b}`,
      });
      const r = await run;
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toBe(
        `Family ${FAMILY} changed during prune: ${c}, the newest image it keeps, is DEPRECATED now (someone else changed it), so prune stopped before changing anything; run prune again.`,
      );
      expect(await states(l)).toEqual({ [a]: 'ACTIVE', [b]: 'ACTIVE', [c]: 'DEPRECATED' });
      expect((await l.fromFamily())?.name).toBe(b);
    });

    it('rollback: the newest image deleted by someone else before our deprecate; the group still goes back', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2, drainMs: 100 });
      const [a, b] = images as [string, string];
      makeGroup(l, 'back', b, 1);
      const held = hold(l.emu, { method: 'POST', path: `/global/images/${b}/deprecate$` });
      const run = outcome(l.run('rollback', { 'instance-group': groupInput('back') }));
      await held.arrived;
      await compute(l, 'DELETE', `global/images/${b}`);
      const r = await run;
      expect(message(r)).toBe('');
      expect(r.ok && r.value.lines).toContainEqual(
        `info: ${b} was deleted by someone else meanwhile; family ${FAMILY} gives ${a}.`,
      );
      expect(await states(l)).toEqual({ [a]: 'ACTIVE' });
      expect(await groupImage(l, 'back')).toBe(a);
      expect((await readGroup(l, 'back')).status.versionTarget.isReached).toBe(true);
    });

    it('rollback: the newest image deprecated by someone else before our look at it is left without our mark', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [a, b] = images as [string, string];
      const held = hold(l.emu, { method: 'GET', path: `/global/images/${b}$` });
      const run = outcome(l.run('rollback', {}));
      await held.arrived;
      await compute(l, 'POST', `global/images/${b}/deprecate`, {
        state: 'DEPRECATED',
        replacement: `projects/${PROJECT}/global/images/${a}`,
      });
      const r = await run;
      expect(message(r)).toBe('');
      expect(r.ok && r.value.lines).toContainEqual(
        `info: ${b} was already DEPRECATED by someone else; family ${FAMILY} gives ${a}.`,
      );
      // Not deprecated by a rollback of ours: publishing that build again must not stop with exit code 5.
      const image = await l.get<{ labels?: Record<string, string> }>(`global/images/${b}`);
      expect(image.labels?.['nix-glab-runner-rolled-back']).toBeUndefined();
    });

    it('rollback: the previous image deleted by someone else meanwhile stops it before any change', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 3 });
      const [a, b, c] = images as [string, string, string];
      // The rollback looks at the previous image again right before writing; that look is held.
      const held = hold(l.emu, { method: 'GET', path: `/global/images/${b}$` });
      const run = outcome(l.run('rollback'));
      await held.arrived;
      await compute(l, 'DELETE', `global/images/${b}`);
      expect(message(await run)).toBe(
        `Family ${FAMILY} changed during rollback: ${b}, the image to go back to, is deleted now (someone else changed it), so nothing was deprecated; run rollback again.`,
      );
      expect(await states(l)).toEqual({ [a]: 'ACTIVE', [c]: 'ACTIVE' });
    });
  });
});
