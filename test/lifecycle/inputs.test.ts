/** The lifecycle inputs: defaults per command, the one instance-group form, and checks between inputs. */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.ts';
import { actionCommand, type Command, parseConfig } from '../../src/config.ts';
import { UserError } from '../../src/errors.ts';

const parse = (command: Command, raw: Record<string, string>) =>
  parseConfig(raw, { workspace: process.cwd(), ci: false, command });
const refusal = (command: Command, raw: Record<string, string>): string => {
  try {
    parse(command, raw);
  } catch (err) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
};
const group = 'zones/europe-west1-b/instanceGroupManagers/runners';

describe('lifecycle inputs', () => {
  it('fills the defaults of each command, and needs no bucket outside publish', () => {
    expect(parse('prune', {})).toMatchObject({
      command: 'prune',
      keep: 3,
      retention: 'deprecate',
      family: 'nixos-image-gitlab-runner',
      dryRun: false,
    });
    expect(parse('roll', { 'instance-group': group })).toMatchObject({
      drain: true,
      drainTimeout: 3600,
      replacementMethod: 'SUBSTITUTE',
      rollTimeout: 7200,
      instanceGroup: group,
    });
    expect(parse('publish', { bucket: 'my-bucket' })).toMatchObject({ roll: 'none', keep: 3 });
    expect(parse('rollback', {})).not.toHaveProperty('instanceGroup');
  });

  it('takes instance-group in one form, zonal or regional, and explains it otherwise', () => {
    expect(
      parse('roll', { 'instance-group': 'regions/us-central1/instanceGroupManagers/r' }).instanceGroup,
    ).toBe('regions/us-central1/instanceGroupManagers/r');
    expect(refusal('roll', { 'instance-group': 'projects/p/zones/z/instanceGroupManagers/r' })).toMatch(
      /^Input "instance-group" must be zones\/ZONE\/instanceGroupManagers\/NAME or regions\/REGION\/instanceGroupManagers\/NAME/,
    );
  });

  it('refuses what Google would refuse mid-roll, before anything is touched', () => {
    expect(refusal('roll', {})).toBe(
      'Input "instance-group" is required by the roll command: name the group to roll.',
    );
    expect(refusal('publish', { bucket: 'my-bucket', roll: 'mig' })).toBe(
      'Input "instance-group" is required by roll: mig: name the group to roll.',
    );
    expect(
      refusal('roll', { 'instance-group': group, 'replacement-method': 'RECREATE', 'max-surge': '1' }),
    ).toBe(
      'Input "max-surge" must be 0 with replacement-method RECREATE, which keeps instance names, not 1.',
    );
    expect(refusal('roll', { 'instance-group': group, 'max-surge': '0', 'max-unavailable': '0' })).toMatch(
      /cannot both be 0/,
    );
    expect(refusal('prune', { keep: '0' })).toMatch(/^Input "keep" must be 1-100/);
  });

  it('reads the action command input, publish by default', () => {
    expect(actionCommand({})).toBe('publish');
    expect(actionCommand({ command: ' roll ' })).toBe('roll');
    expect(() => actionCommand({ command: 'deploy' })).toThrow(/command/);
  });

  it('takes subcommands and their flags on the CLI, but not --command', () => {
    expect(parseArgs(['prune', '--keep', '5', '--retention', 'delete'])).toMatchObject({
      command: 'prune',
      raw: { keep: '5', retention: 'delete' },
    });
    expect(() => parseArgs(['prune', '--bucket', 'b'])).toThrow(
      'Flag "--bucket" does not apply to the prune command.',
    );
    expect(() => parseArgs(['publish', '--command', 'roll'])).toThrow(/Unknown flag "--command"/);
  });
});
