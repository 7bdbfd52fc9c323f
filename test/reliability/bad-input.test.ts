/**
 * Issue 7, section 4: bad input is refused before anything changes, on every command and through both
 * entry points. The CLI runs from dist/cli (flags); the action runs as GitHub runs it, `node
 * dist/main/index.js` with INPUT_* variables and GITHUB_WORKSPACE. Each case must exit non-zero, print one
 * sentence naming the input (`error:` on the CLI, `::error::` in the action), show no stack trace, and leave
 * no mutating request in the emulator's log. Publish's own input checks are in publish-bad-input.test.ts;
 * this table adds the lifecycle inputs, the action's `command` input and the action environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runBundledAction, runCli } from '../helpers/cli.ts';
import { actionEnv } from '../helpers/local-action.ts';
import { BUCKET, FAMILY, type Lab, lab, PROJECT, template, ZONE } from '../lifecycle/helpers.ts';

type Command = 'publish' | 'roll' | 'prune' | 'rollback';
type Entry = 'cli' | 'action';

interface Case {
  name: string;
  entry: Entry;
  /** CLI: the subcommand; action: the `command` input (absent means the action's default, publish). */
  command?: Command | string;
  /** Inputs by name; the CLI passes them as `--name value`, the action as INPUT_NAME. */
  inputs: Record<string, string>;
  /** Extra raw CLI arguments (after the subcommand). */
  extra?: string[];
  /** Leave out the target inputs (project, endpoints, family) the fixture adds. */
  bare?: boolean;
  message: RegExp;
}

const GROUP = `zones/${ZONE}/instanceGroupManagers/runners`;
const NO_GROUP = `zones/${ZONE}/instanceGroupManagers/no-such-group`;

const cases: Case[] = [
  // roll, CLI
  {
    name: 'roll without instance-group',
    entry: 'cli',
    command: 'roll',
    inputs: {},
    message: /"instance-group" is required by the roll command/,
  },
  {
    name: 'instance-group with a project prefix',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': `projects/${PROJECT}/${GROUP}` },
    message: /"instance-group" must be zones\/ZONE/,
  },
  {
    name: 'instance-group as a bare name',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': 'runners' },
    message: /"instance-group" must be zones\/ZONE/,
  },
  {
    name: 'instance-group as a URL',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': `https://www.googleapis.com/compute/v1/projects/${PROJECT}/${GROUP}` },
    message: /"instance-group" must be/,
  },
  {
    name: 'instance-group with capitals',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': `zones/${ZONE}/instanceGroupManagers/Runners` },
    message: /"instance-group" must be/,
  },
  {
    name: 'instance-group of instanceGroups, not managers',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': `zones/${ZONE}/instanceGroups/runners` },
    message: /"instance-group" must be/,
  },
  {
    name: 'group that does not exist',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': NO_GROUP },
    message: /no-such-group/,
  },
  {
    name: 'image that does not exist',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, image: 'no-such-image' },
    message: /no-such-image/,
  },
  {
    name: 'image name with capitals',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, image: 'My-Image' },
    message: /"image"/,
  },
  {
    name: 'drain-timeout in words',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'drain-timeout': 'forever' },
    message: /"drain-timeout"/,
  },
  {
    name: 'drain-timeout of zero',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'drain-timeout': '0s' },
    message: /"drain-timeout" must be a duration between/,
  },
  {
    name: 'drain-timeout above a day',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'drain-timeout': '25h' },
    message: /"drain-timeout" must be a duration between/,
  },
  {
    name: 'negative max-surge',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'max-surge': '-1' },
    message: /"max-surge"/,
  },
  {
    name: 'fractional max-surge',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'max-surge': '1.5' },
    message: /"max-surge"/,
  },
  {
    name: 'max-surge as a percentage',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'max-surge': '20%' },
    message: /"max-surge"/,
  },
  {
    name: 'max-unavailable in words',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'max-unavailable': 'many' },
    message: /"max-unavailable"/,
  },
  {
    name: 'max-surge and max-unavailable both 0',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'max-surge': '0', 'max-unavailable': '0' },
    message: /"max-surge" and "max-unavailable" cannot both be 0/,
  },
  {
    name: 'RECREATE with max-surge',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'replacement-method': 'RECREATE', 'max-surge': '2' },
    message: /"max-surge" must be 0 with replacement-method RECREATE/,
  },
  {
    name: 'unknown replacement-method',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'replacement-method': 'REPLACE' },
    message: /"replacement-method"/,
  },
  {
    name: 'roll-timeout below its minimum',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'roll-timeout': '5s' },
    message: /"roll-timeout"/,
  },
  {
    name: 'drain that is not a boolean',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP },
    extra: ['--drain=maybe'],
    message: /"drain"/,
  },
  {
    name: 'publish flag given to roll',
    entry: 'cli',
    command: 'roll',
    inputs: { 'instance-group': GROUP, bucket: BUCKET },
    message: /"--bucket" does not apply to the roll command/,
  },
  // prune, CLI
  {
    name: 'keep of zero',
    entry: 'cli',
    command: 'prune',
    inputs: { keep: '0' },
    message: /"keep" must be 1-100/,
  },
  { name: 'keep above 100', entry: 'cli', command: 'prune', inputs: { keep: '101' }, message: /"keep"/ },
  { name: 'keep in words', entry: 'cli', command: 'prune', inputs: { keep: 'three' }, message: /"keep"/ },
  {
    name: 'unknown retention',
    entry: 'cli',
    command: 'prune',
    inputs: { retention: 'archive' },
    message: /"retention".*deprecate/,
  },
  {
    name: 'min-age in words',
    entry: 'cli',
    command: 'prune',
    inputs: { 'min-age': 'a week' },
    message: /"min-age"/,
  },
  {
    name: 'min-age of zero',
    entry: 'cli',
    command: 'prune',
    inputs: { 'min-age': '0s' },
    message: /"min-age"/,
  },
  {
    name: 'min-age above ten years',
    entry: 'cli',
    command: 'prune',
    inputs: { 'min-age': '87601h' },
    message: /"min-age"/,
  },
  {
    name: 'prune with a malformed instance-group',
    entry: 'cli',
    command: 'prune',
    inputs: { 'instance-group': 'runners' },
    message: /"instance-group" must be/,
  },
  {
    name: 'prune with plain http to a remote compute-endpoint',
    entry: 'cli',
    command: 'prune',
    inputs: { 'compute-endpoint': 'http://compute.example.com' },
    message: /"compute-endpoint" must use https/,
  },
  {
    name: 'roll flag given to prune',
    entry: 'cli',
    command: 'prune',
    inputs: { image: 'x' },
    message: /"--image" does not apply to the prune command/,
  },
  {
    name: 'dry-run that is not a boolean',
    entry: 'cli',
    command: 'prune',
    inputs: {},
    extra: ['--dry-run=maybe'],
    message: /"dry-run"/,
  },
  {
    name: 'prune with a family with underscores',
    entry: 'cli',
    command: 'prune',
    inputs: { family: 'lc_runners' },
    message: /"family"/,
  },
  // rollback, CLI
  {
    name: 'rollback with no older image',
    entry: 'cli',
    command: 'rollback',
    inputs: {},
    message: /older|previous|nothing to roll back/i,
  },
  {
    name: 'rollback with a malformed instance-group',
    entry: 'cli',
    command: 'rollback',
    inputs: { 'instance-group': 'regions/us-central1/runners' },
    message: /"instance-group" must be/,
  },
  {
    name: 'retention flag given to rollback',
    entry: 'cli',
    command: 'rollback',
    inputs: { keep: '2' },
    message: /"--keep" does not apply to the rollback command/,
  },
  {
    name: 'rollback with max-surge and max-unavailable 0',
    entry: 'cli',
    command: 'rollback',
    inputs: { 'max-surge': '0', 'max-unavailable': '0' },
    message: /cannot both be 0/,
  },
  {
    name: 'rollback with an operation-timeout too short',
    entry: 'cli',
    command: 'rollback',
    inputs: { 'operation-timeout': '5s' },
    message: /"operation-timeout"/,
  },
  {
    name: 'rollback with an ftp compute-endpoint',
    entry: 'cli',
    command: 'rollback',
    inputs: { 'compute-endpoint': 'ftp://127.0.0.1/' },
    message: /"compute-endpoint"/,
  },
  // publish lifecycle inputs, CLI
  {
    name: 'publish with roll: mig and no instance-group',
    entry: 'cli',
    command: 'publish',
    inputs: { bucket: BUCKET, roll: 'mig' },
    message: /"instance-group" is required by roll: mig/,
  },
  {
    name: 'publish with an unknown roll',
    entry: 'cli',
    command: 'publish',
    inputs: { bucket: BUCKET, roll: 'yes' },
    message: /"roll".*none/,
  },
  {
    name: 'publish with RECREATE and max-surge',
    entry: 'cli',
    command: 'publish',
    inputs: {
      bucket: BUCKET,
      roll: 'mig',
      'instance-group': GROUP,
      'replacement-method': 'RECREATE',
      'max-surge': '1',
    },
    message: /"max-surge" must be 0/,
  },
  {
    name: 'publish with keep above 100',
    entry: 'cli',
    command: 'publish',
    inputs: { bucket: BUCKET, keep: '1000' },
    message: /"keep"/,
  },
  {
    name: 'publish with --command',
    entry: 'cli',
    command: 'publish',
    inputs: {},
    extra: ['--command', 'roll'],
    message: /"--command"/,
  },
  { name: 'unknown subcommand', entry: 'cli', command: 'deploy', inputs: {}, bare: true, message: /deploy/ },

  // the action environment
  { name: 'unknown command', entry: 'action', command: 'deploy', inputs: {}, message: /"command".*publish/ },
  {
    name: 'command in a sentence',
    entry: 'action',
    command: 'roll the runners',
    inputs: {},
    message: /"command"/,
  },
  {
    name: 'roll without instance-group',
    entry: 'action',
    command: 'roll',
    inputs: {},
    message: /"instance-group" is required by the roll command/,
  },
  {
    name: 'roll with a malformed instance-group',
    entry: 'action',
    command: 'roll',
    inputs: { 'instance-group': `projects/${PROJECT}/${GROUP}` },
    message: /"instance-group" must be/,
  },
  {
    name: 'prune with a group that does not exist, and nothing to prune',
    entry: 'cli',
    command: 'prune',
    inputs: { 'instance-group': NO_GROUP },
    message: /"instance-group".*no-such-group|no-such-group.*"instance-group"/,
  },
  {
    name: 'prune with a group that does not exist',
    entry: 'action',
    command: 'prune',
    inputs: { 'instance-group': NO_GROUP },
    message: /no-such-group.*was not found/,
  },
  {
    name: 'roll onto a group that does not exist',
    entry: 'action',
    command: 'roll',
    inputs: { 'instance-group': NO_GROUP },
    message: /no-such-group/,
  },
  {
    name: 'roll with RECREATE and max-surge',
    entry: 'action',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'replacement-method': 'RECREATE', 'max-surge': '3' },
    message: /"max-surge" must be 0/,
  },
  {
    name: 'roll with drain-timeout of zero',
    entry: 'action',
    command: 'roll',
    inputs: { 'instance-group': GROUP, 'drain-timeout': '0' },
    message: /"drain-timeout"/,
  },
  {
    name: 'prune with keep of zero',
    entry: 'action',
    command: 'prune',
    inputs: { keep: '0' },
    message: /"keep"/,
  },
  {
    name: 'prune with an unknown retention',
    entry: 'action',
    command: 'prune',
    inputs: { retention: 'purge' },
    message: /"retention"/,
  },
  {
    name: 'prune with min-age in words',
    entry: 'action',
    command: 'prune',
    inputs: { 'min-age': 'soon' },
    message: /"min-age"/,
  },
  {
    name: 'rollback with no older image',
    entry: 'action',
    command: 'rollback',
    inputs: {},
    message: /older|previous|nothing to roll back/i,
  },
  {
    name: 'rollback with max-unavailable in words',
    entry: 'action',
    command: 'rollback',
    inputs: { 'max-unavailable': 'all' },
    message: /"max-unavailable"/,
  },
  { name: 'publish without bucket', entry: 'action', inputs: {}, message: /"bucket" is required/ },
  {
    name: 'publish with roll: mig and no instance-group',
    entry: 'action',
    command: 'publish',
    inputs: { bucket: BUCKET, roll: 'mig' },
    message: /"instance-group" is required by roll: mig/,
  },
  {
    name: 'publish with a reserved label',
    entry: 'action',
    command: 'publish',
    inputs: { bucket: BUCKET, labels: 'nix-hash=abc' },
    message: /"labels".*nix-hash/,
  },
];

describe('4. Bad input', () => {
  describe('every command, CLI flags and action environment', () => {
    let l: Lab;

    beforeAll(async () => {
      l = await lab();
      // One image in the family: roll has something to roll onto, rollback has nothing older.
      const image = await l.publishImage(1);
      l.emu.compute.admin.createTemplate(template('runner-tpl', image), { project: PROJECT });
      l.emu.compute.admin.createGroup({
        project: PROJECT,
        zone: ZONE,
        name: 'runners',
        template: 'runner-tpl',
        targetSize: 1,
        ready: true,
      });
    }, 60_000);
    afterAll(() => l?.stop());

    const target = (): Record<string, string> => ({
      project: PROJECT,
      family: FAMILY,
      'compute-endpoint': l.emu.url,
    });

    for (const c of cases) {
      it(`${c.entry} refuses: ${c.name}`, async () => {
        const command = c.command ?? 'publish';
        const inputs = { ...(c.bare ? {} : target()), ...c.inputs };
        if (command === 'publish' && !c.bare) inputs['storage-endpoint'] = l.emu.url;
        l.emu.requests.clear();
        let run: CliRun;
        let errors: string[];
        if (c.entry === 'cli') {
          const flags = Object.entries(inputs).flatMap(([k, v]) => [`--${k}`, v]);
          run = await runCli([command, ...flags, ...(c.extra ?? [])], { cwd: l.ws });
          errors = run.stderr.split('\n').filter((line) => line.startsWith('error:'));
        } else {
          const commandInput: Record<string, string> = c.command === undefined ? {} : { command: c.command };
          run = await runBundledAction(
            { GITHUB_WORKSPACE: l.ws, ...actionEnv({ ...commandInput, ...inputs }) },
            l.ws,
          );
          errors = `${run.stdout}\n${run.stderr}`.split('\n').filter((line) => line.startsWith('::error::'));
        }
        const all = `${run.stdout}\n${run.stderr}`;
        expect(run.code, all).not.toBe(0);
        expect(errors, all).toHaveLength(1);
        expect(errors[0]).toMatch(c.message);
        // One sentence: it ends with a full stop (or a question), and has no stack trace around it.
        expect(errors[0]?.trim()).toMatch(/[.?]$/);
        expect(all).not.toMatch(/^\s+at /m);
        expect(l.emu.requests.mutating()).toEqual([]);
      });
    }
  });
});

// Outside the report's sections: a check on the table itself, not a case.
describe('the bad-input table', () => {
  it('has at least 40 distinct cases across every command and both entry points', () => {
    expect(new Set(cases.map((c) => `${c.entry}: ${c.name}`)).size).toBeGreaterThanOrEqual(40);
    for (const command of ['publish', 'roll', 'prune', 'rollback']) {
      for (const entry of ['cli', 'action']) {
        expect(
          cases.some((c) => c.entry === entry && (c.command ?? 'publish') === command),
          `${entry} ${command}`,
        ).toBe(true);
      }
    }
  });
});
