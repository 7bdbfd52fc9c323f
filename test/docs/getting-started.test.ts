/**
 * docs/getting-started.md, the parts that cannot run here: which blocks run (getting-started-run.test.ts
 * runs them), the gcloud commands that are not run (they must exist, with every flag), runner.nix, and the
 * action and component forms of the roll.
 */
import { mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { INPUTS, parseConfig } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { requireGcloud } from '../helpers/gcloud.ts';
import { requireNixInstantiate } from '../nix/helpers.ts';
import { tempDir } from '../nix-stage/helpers.ts';
import {
  declaredOptions,
  gcloudHelp,
  type Help,
  moduleSettings,
  positionals,
} from './getting-started-checks.ts';
import { bash, blocks, one, pageValue, testVariables } from './getting-started-page.ts';
import { marked } from './marked-blocks.ts';

describe('docs/getting-started.md', () => {
  it('marks every block that calls gcloud as run or not run, and runs every Storage and Compute command', () => {
    const unmarked = blocks.filter((b) => b.mark === undefined && /\bgcloud\s/.test(b.body));
    expect(unmarked.map((b) => `line ${b.line}`)).toEqual([]);
    const notRun = marked(blocks, 'not run');
    expect(notRun.length).toBeGreaterThan(0);
    for (const b of notRun) {
      expect(b.body, `line ${b.line} is not run but calls gcloud compute or storage`).not.toMatch(
        /\bgcloud\s+(compute|storage)\b/,
      );
    }
    const run = marked(blocks, 'run');
    expect(run.length).toBeGreaterThan(0);
    for (const b of run) expect(b.body, `line ${b.line}`).not.toMatch(/\bgcloud\s+(?!compute|storage)/);
  });

  describe('gcloud commands that are not run', () => {
    /** Each gcloud call of the not-run blocks, as bash expanded its arguments. */
    const calls: string[][] = [];
    const helps = new Map<string, Help>();
    const helpOf = (call: string[]) => helps.get(positionals(call).join(' ')) as Help;

    beforeAll(async () => {
      requireGcloud();
      const record = mkdtempSync(join(tmpdir(), 'ngr-doc-calls-'));
      for (const b of marked(blocks, 'not run')) {
        // Shell syntax first: a block bash cannot parse would record nothing and pass.
        const syntax = await bash(`bash -n <<'EOF'\n${b.body}EOF`, { cwd: record, env: process.env });
        expect(syntax.code, `line ${b.line}: ${syntax.output}`).toBe(0);
        // gcloud records its arguments instead of calling Google; `read` finds no terminal and moves on.
        const script = [
          testVariables(),
          'gcloud() { printf "%s\\0" "$@" > "$(mktemp "$RECORD/call.XXXXXXXX")"; }',
          b.body,
        ].join('\n');
        await bash(script, { cwd: record, env: { ...process.env, RECORD: record } });
      }
      for (const f of readdirSync(record).sort()) {
        calls.push(readFileSync(join(record, f), 'utf8').split('\0').slice(0, -1));
      }
      const unique = [...new Set(calls.map((c) => positionals(c).join(' ')))];
      // A few at a time: each gcloud start costs about a second of CPU.
      for (let n = 0; n < unique.length; n += 3) {
        await Promise.all(
          unique.slice(n, n + 3).map(async (words) => {
            helps.set(words, await gcloudHelp(words.split(' ')));
          }),
        );
      }
    }, 180_000);

    it('records the commands of every block', () => {
      expect([...new Set(calls.map((c) => helpOf(c).command))].sort()).toEqual([
        'iam service-accounts add-iam-policy-binding',
        'iam service-accounts create',
        'iam workload-identity-pools create',
        'iam workload-identity-pools providers create-oidc',
        'projects add-iam-policy-binding',
        'projects describe',
        'secrets add-iam-policy-binding',
        'secrets create',
        'services enable',
      ]);
    });

    it('each is a gcloud command, not a group, and has every flag it is given', () => {
      for (const call of calls) {
        const help = helpOf(call);
        const words = positionals(call).join(' ');
        expect(help.code, `gcloud ${words} --help: ${help.text.slice(0, 300)}`).toBe(0);
        expect(help.isGroup, `gcloud ${words} is a group, not a command`).toBe(false);
        expect(words.startsWith(help.command), `gcloud ${words} is not ${help.command}`).toBe(true);
        for (const flag of call.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0] as string)) {
          expect(help.flags, `gcloud ${help.command} has no flag ${flag}`).toContain(flag);
        }
      }
    });
  });

  it('runner.nix sets only options the module declares, and reads the secret the page creates', () => {
    requireNixInstantiate();
    const file = join(tempDir('doc-module'), 'runner.nix');
    writeFileSync(file, one('runner module').body);
    const settings = moduleSettings(file);
    expect(Object.keys(settings).length).toBeGreaterThan(0);
    const declared = declaredOptions();
    for (const path of Object.keys(settings)) expect(declared, `option ${path}`).toContain(path);
    const secretBlock = marked(blocks, 'not run').find((b) => /gcloud secrets create/.test(b.body));
    const secret = /gcloud secrets create (\S+)/.exec(secretBlock?.body ?? '')?.[1];
    expect(secret).toBeDefined();
    expect(settings.tokenSecret).toBe(
      `projects/${pageValue('PROJECT_ID')}/secrets/${secret}/versions/latest`,
    );
  });

  it('the action and component forms take valid inputs and roll the group the CLI form rolls', () => {
    const ws = tempDir('doc-inputs');
    writeFileSync(join(ws, 'runner.nix'), one('runner module').body);

    const [step] = parseYaml(one('action inputs').body) as { uses: string; with: Record<string, string> }[];
    expect(step?.uses).toMatch(/^pcboy\/nix-glab-runner@/);
    const actionYml = parseYaml(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as { inputs: object };
    for (const key of Object.keys(step?.with ?? {})) expect(Object.keys(actionYml.inputs)).toContain(key);
    const action = parseConfig(step?.with ?? {}, { workspace: ws, ci: true });

    const [include] = (
      parseYaml(one('component inputs').body) as {
        include: { component: string; inputs: Record<string, string> }[];
      }
    ).include;
    expect(include?.component).toMatch(/\/pcboy\/nix-glab-runner\/gitlab-ci@/);
    const template = readFileSync(join(REPO_ROOT, 'templates/gitlab-ci/template.yml'), 'utf8');
    const spec = parseYaml(template.split(/^---$/m)[0] as string) as { spec: { inputs: object } };
    for (const key of Object.keys(include?.inputs ?? {}))
      expect(Object.keys(spec.spec.inputs)).toContain(key);
    const schema = INPUTS.map((i) => i.name);
    const toolInputs = Object.fromEntries(
      Object.entries(include?.inputs ?? {}).filter(([k]) => schema.includes(k)),
    );
    const component = parseConfig(toolInputs, { workspace: ws, ci: true });

    // The CLI form rolls regions/$REGION/instanceGroupManagers/gitlab-runners; these name the same group.
    const cli = marked(blocks, 'run').find((b) => b.body.includes('--roll mig'));
    expect(cli?.body).toContain('--instance-group "regions/$REGION/instanceGroupManagers/gitlab-runners"');
    for (const config of [action, component]) {
      expect(config.roll).toBe('mig');
      expect(config.instanceGroup).toBe(
        `regions/${pageValue('REGION')}/instanceGroupManagers/gitlab-runners`,
      );
      expect(config.bucket).toBe(pageValue('BUCKET'));
      expect(config.project).toBe(pageValue('PROJECT_ID'));
      expect(config.extraModules).toEqual([realpathSync(join(ws, 'runner.nix'))]);
    }
  });
});
