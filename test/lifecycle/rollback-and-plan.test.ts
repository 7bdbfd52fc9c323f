/**
 * Rollback puts the family and the group back on the previous image; every command's dry run plans
 * without a single mutating request; and the CLI prints the plan as a table or as JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { drainingGuests } from './guests.ts';
import { BUCKET, FAMILY, type Lab, lab, last, members, PROJECT, template, ZONE } from './helpers.ts';

interface Group {
  versions: { instanceTemplate: string }[];
  status: { isStable: boolean; versionTarget: { isReached: boolean } };
}
interface Template {
  properties: { disks: { initializeParams: { sourceImage: string } }[] };
}
const GROUP = `zones/${ZONE}/instanceGroupManagers/runners`;

describe('rollback, and dry runs of every command', () => {
  let l: Lab;
  let first: string;
  let second: string;
  let unsubscribe: () => void;

  const groupImage = async () => {
    const g = await l.get<Group>(GROUP);
    const t = await l.get<Template>(
      `global/instanceTemplates/${last(g.versions[0]?.instanceTemplate ?? '')}`,
    );
    return last(t.properties.disks[0]?.initializeParams.sourceImage ?? '');
  };

  beforeAll(async () => {
    l = await lab();
    first = await l.publishImage(31);
    l.emu.compute.admin.createTemplate(template('runner-tpl', first), { project: PROJECT });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'runners',
      template: 'runner-tpl',
      targetSize: 2,
      ready: true,
    });
    unsubscribe = drainingGuests(l.emu, { drainMs: 200 });
    second = await l.publishImage(32, { roll: 'mig', 'instance-group': GROUP });
  }, 60_000);
  afterAll(async () => {
    unsubscribe?.();
    await l?.stop();
  });

  it('dry runs of publish, roll, prune and rollback make no mutating request', async () => {
    l.emu.requests.clear();
    const publish = await l.publish(33, { roll: 'mig', 'instance-group': GROUP, 'dry-run': 'true' });
    expect(publish.plan.map((p) => p.action)).toEqual([
      'upload',
      'create',
      'nothing',
      'create',
      'patch',
      'drain',
      'replace',
      'drain',
      'replace',
    ]);
    expect(publish.plan[1]?.resource).toBe(publish.outputs['image-name']);
    expect(publish.plan[3]?.detail).toMatch(
      new RegExp(`^runner-tpl-ngr-[0-9a-f]{10} with image ${publish.outputs['image-name']}$`),
    );
    // With keep 1 the would-be image takes the one slot; the older two stay only because templates use them.
    const tight = await l.publish(33, { keep: '1', 'dry-run': 'true' });
    expect(tight.plan.filter((p) => p.resource === first || p.resource === second)).toEqual([
      {
        action: 'keep',
        resource: second,
        detail: expect.stringMatching(/^in use by instance template runner-tpl-ngr-/),
      },
      { action: 'keep', resource: first, detail: 'in use by instance template runner-tpl' },
    ]);
    const roll = await l.run('roll', { 'instance-group': GROUP, image: first, 'dry-run': 'true' });
    expect(roll.plan.map((p) => p.action)).toEqual([
      'create',
      'patch',
      'drain',
      'replace',
      'drain',
      'replace',
      'delete',
    ]);
    // The group's template for the newest image would be used by no group, and it does not boot the image a
    // rollback goes back to (the older one, which the roll's own new template boots).
    expect(roll.plan.at(-1)).toEqual({
      action: 'delete',
      resource: expect.stringMatching(/^projects\/lc-project\/global\/instanceTemplates\/runner-tpl-ngr-/),
      detail: 'template made by nix-glab-runner that no group uses',
    });
    const prune = await l.run('prune', { keep: '1', 'instance-group': GROUP, 'dry-run': 'true' });
    // The older image is in use by the group's template, so it stays.
    expect(prune.plan).toContainEqual(
      expect.objectContaining({
        action: 'keep',
        resource: first,
        detail: 'in use by instance template runner-tpl',
      }),
    );
    const rollback = await l.run('rollback', { 'instance-group': GROUP, 'dry-run': 'true' });
    expect(rollback.plan[0]).toEqual({
      action: 'deprecate',
      resource: second,
      detail: `replacement ${first}`,
    });
    expect(rollback.plan.map((p) => p.action)).toContain('patch');
    expect(l.emu.requests.mutating()).toEqual([]);
    expect(await groupImage()).toBe(second);
  });

  it('the CLI prints a dry run as JSON with the plan, and as a table', async () => {
    const common = [
      '--project',
      PROJECT,
      '--family',
      FAMILY,
      '--compute-endpoint',
      l.emu.url,
      '--instance-group',
      GROUP,
      '--dry-run',
    ];
    const json = await runCli(['rollback', ...common, '--json'], { cwd: l.ws });
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as {
      plan: { action: string; resource: string }[];
      'image-name': string;
    };
    expect(out['image-name']).toBe(first);
    expect(out.plan[0]).toMatchObject({ action: 'deprecate', resource: second });
    const table = await runCli(['roll', ...common, '--image', first], { cwd: l.ws });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      /Dry run, nothing changed\. Plan:\nACTION\s+RESOURCE\s+DETAIL\ncreate\s+projects\/lc-project\/global\/instanceTemplates\/runner-tpl-ngr-/,
    );
  }, 30_000);

  it('rollback deprecates the newest image and rolls the group back to the previous one', async () => {
    expect((await l.fromFamily())?.name).toBe(second);
    const result = await l.run('rollback', { 'instance-group': GROUP });
    expect(result.outputs['images-deprecated']).toBe(second);
    expect(result.outputs['image-name']).toBe(first);
    expect((await l.fromFamily())?.name).toBe(first);
    expect(await groupImage()).toBe(first);
    const g = await l.get<Group>(GROUP);
    expect(g.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
    for (const m of await members(l, `zones/${ZONE}`, 'runners'))
      expect(m.version.instanceTemplate).toBe(g.versions[0]?.instanceTemplate);
  }, 30_000);

  it('refuses a rollback without an older ACTIVE managed image, deprecating nothing', async () => {
    l.emu.requests.clear();
    await expect(l.run('rollback', {})).rejects.toThrow(
      `Family ${FAMILY} has 1 managed ACTIVE image(s); rollback needs an older one to go back to, so nothing was deprecated.`,
    );
    expect(l.emu.requests.mutating()).toEqual([]);
  });

  it('refuses to republish the rolled-back build', async () => {
    const file = `${l.ws}/image-32.raw.tar.gz`;
    await expect(l.run('publish', { bucket: BUCKET, 'image-file': file })).rejects.toThrow(/rolled back/);
  });
});
