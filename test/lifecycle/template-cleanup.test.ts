/**
 * Issue 17, section 3: the templates a roll creates do not pile up. After a roll or a rollback, templates
 * this tool made (our name suffix and our label) that no group uses are removed, except the one the group
 * ran before a roll (it pins the image a rollback goes back to). A template we did not make is never
 * touched, look-alike names included. Through the bundled CLI against the emulator.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import {
  bench,
  cliTarget,
  groupInput,
  groupTemplate,
  type Lab,
  makeGroup,
  PROJECT,
  template,
  ZONE,
} from './helpers.ts';

const GROUP = groupInput('runners');

interface Template {
  name: string;
  properties: { labels?: Record<string, string> };
}

describe('templates we create do not pile up', () => {
  /** A group of two on the user's own template `runner-tpl`, plus `count` published images, oldest first. */
  async function setUp(
    onTestFinished: Parameters<typeof bench>[0],
    count: number,
  ): Promise<{ lab: Lab; images: string[] }> {
    const { l, images } = await bench(onTestFinished, { images: count, drainMs: 100 });
    makeGroup(l, 'runners', images[0] as string, 2, 'runner-tpl');
    return { lab: l, images };
  }
  const names = async (lab: Lab) =>
    ((await lab.get<{ items?: Template[] }>('global/instanceTemplates')).items ?? [])
      .map((t) => t.name)
      .sort();
  const cli = (lab: Lab, args: string[]) => runCli([...args, ...cliTarget(lab)], { cwd: lab.ws });

  it('one roll plus one rollback leaves the user template and the one in use, and a look-alike alone', async ({
    onTestFinished,
  }) => {
    const { lab: x, images } = await setUp(onTestFinished, 2);
    // Our suffix without our label: not ours, even unused.
    x.emu.compute.admin.createTemplate(template('runner-tpl-ngr-0123456789', images[0] as string), {
      project: PROJECT,
    });
    const rolled = await cli(x, ['roll', '--instance-group', GROUP, '--image', images[1] as string]);
    expect(rolled.code, rolled.stderr).toBe(0);
    const afterRoll = await groupTemplate(x, 'runners');
    expect(await names(x)).toEqual(['runner-tpl', 'runner-tpl-ngr-0123456789', afterRoll].sort());

    x.emu.requests.clear();
    const planned = await cli(x, ['rollback', '--instance-group', GROUP, '--dry-run', '--json']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(JSON.parse(planned.stdout).plan).toContainEqual({
      action: 'delete',
      resource: `projects/${PROJECT}/global/instanceTemplates/${afterRoll}`,
      detail: 'template made by nix-glab-runner that no group uses',
    });
    expect(x.emu.requests.mutating()).toEqual([]);

    const back = await cli(x, ['rollback', '--instance-group', GROUP]);
    expect(back.code, back.stderr).toBe(0);
    const afterRollback = await groupTemplate(x, 'runners');
    expect(afterRollback).not.toBe(afterRoll);
    // The roll's template boots the image just rolled back and nothing uses it any more: removed.
    expect(await names(x)).toEqual(['runner-tpl', 'runner-tpl-ngr-0123456789', afterRollback].sort());
    expect(back.stdout + back.stderr).toContain(
      `Removed instance template ${afterRoll}: made by nix-glab-runner, used by no group.`,
    );
  }, 120_000);

  it('a roll keeps the template the group ran before it, and removes older ones no group uses', async ({
    onTestFinished,
  }) => {
    const { lab: x, images } = await setUp(onTestFinished, 4);
    // Another group, rolled onto one of our templates: in use, so kept whatever happens to "runners".
    x.emu.compute.admin.createTemplate(template('others-tpl', images[0] as string), { project: PROJECT });
    x.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'others',
      template: 'others-tpl',
      targetSize: 1,
      ready: true,
    });
    const others = `zones/${ZONE}/instanceGroupManagers/others`;
    const o = await cli(x, ['roll', '--instance-group', others, '--image', images[1] as string]);
    expect(o.code, o.stderr).toBe(0);
    const theirs = (await names(x)).filter((n) => n.startsWith('others-tpl-ngr-'));
    expect(theirs).toHaveLength(1);

    const chain: string[] = [];
    for (const image of images.slice(1)) {
      const r = await cli(x, ['roll', '--instance-group', GROUP, '--image', image]);
      expect(r.code, r.stderr).toBe(0);
      chain.push(await groupTemplate(x, 'runners'));
    }
    const [, beforeLast, inUse] = chain as [string, string, string];
    expect((await names(x)).sort()).toEqual(
      ['others-tpl', 'runner-tpl', ...theirs, beforeLast, inUse].sort(),
    );
  }, 180_000);

  it('leaves a template of ours created while the command ran, and warns when Google refuses a delete', async ({
    onTestFinished,
  }) => {
    const { lab: x, images } = await setUp(onTestFinished, 3);
    /** A template that looks like one of ours in every way (suffix and label), used by no group. */
    const ours = (name: string) => {
      const body = template(name, images[0] as string);
      const labels = { ...body.properties.labels, 'nix-glab-runner-image': images[0] as string };
      return { ...body, properties: { ...body.properties, labels } };
    };
    const first = await cli(x, ['roll', '--instance-group', GROUP, '--image', images[1] as string]);
    expect(first.code, first.stderr).toBe(0);
    const beforeLast = await groupTemplate(x, 'runners');
    x.emu.compute.admin.createTemplate(ours('stale-ngr-aaaaaaaaaa'), { project: PROJECT });
    x.emu.compute.admin.createTemplate(ours('refused-ngr-bbbbbbbbbb'), { project: PROJECT });
    x.emu.faults.add({ method: 'DELETE', path: '/instanceTemplates/refused-ngr-bbbbbbbbbb$', status: 400 });

    const run = cli(x, ['roll', '--instance-group', GROUP, '--image', images[2] as string]);
    // Once the roll has moved the group, another roll's fresh template appears.
    for (;;) {
      if ((await groupTemplate(x, 'runners')) !== beforeLast) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    x.emu.compute.admin.createTemplate(ours('fresh-ngr-cccccccccc'), { project: PROJECT });
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const left = await names(x);
    expect(left).not.toContain('stale-ngr-aaaaaaaaaa');
    expect(left).toContain('fresh-ngr-cccccccccc');
    expect(left).toContain('refused-ngr-bbbbbbbbbb');
    expect(r.stdout + r.stderr).toMatch(
      /Left instance template refused-ngr-bbbbbbbbbb in place: deleting instance template/,
    );
  }, 180_000);
});
