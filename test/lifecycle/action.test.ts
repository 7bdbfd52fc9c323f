/** The lifecycle commands reached through the action's `command` input, under @github/local-action. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionEnvFile, localAction, outputsOf } from '../helpers/local-action.ts';
import { tempDir } from '../nix-stage/helpers.ts';
import { drainingGuests } from './guests.ts';
import { FAMILY, type Lab, lab, PROJECT, template, ZONE } from './helpers.ts';

describe('the action runs roll, prune and rollback by its command input', () => {
  let l: Lab;
  let dir: string;
  const images: string[] = [];
  const GROUP = `zones/${ZONE}/instanceGroupManagers/runners`;

  const envFile = (name: string, inputs: Record<string, string>) =>
    actionEnvFile(
      dir,
      { project: PROJECT, family: FAMILY, 'compute-endpoint': l.emu.url, ...inputs },
      l.ws,
      name,
    );

  beforeAll(async () => {
    l = await lab();
    dir = tempDir('lifecycle-action');
    for (const n of [51, 52, 53]) images.push(await l.publishImage(n));
    l.emu.compute.admin.createTemplate(template('runner-tpl', images[2] as string), { project: PROJECT });
    l.emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'runners',
      template: 'runner-tpl',
      targetSize: 1,
      ready: true,
    });
    drainingGuests(l.emu, { drainMs: 100 });
  }, 60_000);
  afterAll(() => l?.stop());

  it('command rollback with dry-run sets the plan output and changes nothing', async () => {
    l.emu.requests.clear();
    const { file, summary } = envFile('rollback', {
      command: 'rollback',
      'instance-group': GROUP,
      'dry-run': 'true',
    });
    const { code, out } = await localAction(file);
    expect(code, out).toBe(0);
    const outputs = outputsOf(out);
    expect(JSON.parse(outputs.plan as string)[0]).toEqual({
      action: 'deprecate',
      resource: images[2],
      detail: `replacement ${images[1]}`,
    });
    expect(outputs['image-name']).toBe(images[1]);
    expect(readFileSync(summary, 'utf8')).toContain('## nix-glab-runner rollback');
    expect(l.emu.requests.mutating()).toEqual([]);
  }, 60_000);

  it('command prune applies retention without a bucket', async () => {
    const { file, summary } = envFile('prune', { command: 'prune', keep: '1', 'instance-group': GROUP });
    const { code, out } = await localAction(file);
    expect(code, out).toBe(0);
    expect(outputsOf(out)['images-deprecated']?.split(',').sort()).toEqual([images[0], images[1]].sort());
    expect(readFileSync(summary, 'utf8')).toContain(`Deprecated: `);
    expect((await l.fromFamily())?.name).toBe(images[2]);
  }, 60_000);
});
