/**
 * Issue 13, items 5-8: an input never becomes a command-line option, a secret in the open or a file we did
 * not mean to copy, and build output never becomes a workflow command. Through the bundled CLI and action
 * against the emulator, with the real Nix building a copy of the fixture flake; the GitLab component's run
 * of the same inputs is in hostile-component.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Command, INPUTS, inputsFor, parseConfig } from '../../src/config.ts';
import { buildImage } from '../../src/nix/build.ts';
import { silentReporter } from '../../src/report/events.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { type CliRun, errorLine, runBundledAction, runCli } from '../helpers/cli.ts';
import { actionEnv } from '../helpers/local-action.ts';
import { runnerCommands } from '../helpers/runner-commands.ts';
import {
  commitAll,
  filesContaining,
  fixtureRepo,
  requireNix,
  storePathsAddedSince,
  TEST_NIX_CONFIG,
  tempDir,
  workspace,
} from '../nix-stage/helpers.ts';

const PROJECT = 'hostile-input-project';
const BUCKET = 'hostile-input-images';
const CANARY = `canary${randomBytes(12).toString('hex')}`;

/**
 * A copy of the fixture flake whose builder prints workflow commands, a GitLab collapsed-section marker and
 * an ANSI colour; with `fail` it then fails, so its stored log (`nix log`) ends up in our error message.
 */
function noisyFlake(opts: { fail?: boolean } = {}): string {
  const dir = fixtureRepo();
  const noise = [
    'echo "::set-output name=x::y"',
    'echo "::error::pwned-v2"',
    'echo "::add-mask::fixture"',
    'echo "   ::warning file=x.nix::indented pwned"',
    'echo "text before ##[error]pwned-v1"',
    'echo "##[set-output name=x;]y"',
    "printf '\\033[0Ksection_start:1:evil[collapsed=true]\\r\\033[0Khidden by the build\\n'",
    "printf '\\033[31mred\\033[0m\\n'",
    `echo "nonce ${randomBytes(8).toString('hex')}"`,
    ...(opts.fail ? ['exit 1'] : []),
  ];
  const script = readFileSync(join(dir, 'build.sh'), 'utf8').replace(
    'echo "fixture: wrote $out"',
    `${noise.join('\n')}\necho "fixture: wrote $out"`,
  );
  writeFileSync(join(dir, 'build.sh'), script);
  commitAll(dir, 'build.sh');
  return dir;
}

/** GitLab's section marker as the build wrote it, with ESC and CR shown in caret notation. */
const SHOWN_MARKER = '^[[0Ksection_start:1:evil[collapsed=true]^M^[[0Khidden by the build';

describe('6. Hostile input and ownership', () => {
  let emu: Emulator;
  let flake: string;
  const storeBefore = new Set<string>();

  beforeAll(async () => {
    requireNix();
    emu = await startEmulator({ dataDir: tempDir('hostile-input-emu'), operationMs: 20 });
    await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    flake = fixtureRepo();
    for (const entry of readdirSync('/nix/store')) storeBefore.add(entry);
  });
  afterAll(() => emu?.stop());

  /** Inputs every command needs, besides the one under test. */
  const baseInputs = (command: Command): Record<string, string> => {
    const all: Record<string, string> = {
      project: PROJECT,
      bucket: BUCKET,
      flake,
      'storage-endpoint': emu.url,
      'compute-endpoint': emu.url,
      // Only where it is required: a publish given a group would look it up.
      ...(command === 'publish'
        ? {}
        : { 'instance-group': 'zones/us-central1-a/instanceGroupManagers/runners' }),
    };
    const names = inputsFor(command).map((spec) => spec.name);
    return Object.fromEntries(Object.entries(all).filter(([name]) => names.includes(name)));
  };
  const flags = (inputs: Record<string, string>) =>
    Object.entries(inputs).map(([name, value]) => `--${name}=${value}`);
  const cli = (args: string[], cwd: string) => runCli(args, { cwd, env: { NIX_CONFIG: TEST_NIX_CONFIG } });

  /** One error line naming the input, exit 2, no stack trace and no mutating request. */
  const expectRefused = (run: CliRun, message: RegExp | string) => {
    expect(run.code, run.stderr).toBe(2);
    expect(errorLine(run.stderr)).toMatch(message);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  };

  describe('option-like values', () => {
    it('--flake=--version is refused before nix sees it', async () => {
      emu.requests.clear();
      const run = await cli(
        ['publish', ...flags({ ...baseInputs('publish'), flake: '--version' })],
        tempDir('ws'),
      );
      expectRefused(run, 'Input "flake" must not start with "-", which a command would read as an option');
      expect(emu.requests.mutating()).toEqual([]);
    });

    // Every input that names something (a reference, path or name) shares the one rule, whatever command.
    const named = INPUTS.filter(
      (spec) =>
        (spec.type === 'string' || spec.type === 'list') &&
        !spec.freeText &&
        !spec.actionOnly &&
        !spec.options,
    );
    it.concurrent.each(named.map((spec) => [spec.name, spec.commands?.[0] ?? 'publish'] as const))(
      'refuses a value starting with "-" for %s',
      async (name, command) => {
        const run = await cli([command, ...flags({ ...baseInputs(command), [name]: '-x' })], tempDir('ws'));
        expectRefused(run, `Input "${name}" must not start with "-"`);
      },
    );

    it('nix gets "--" before the flake reference, so even an unchecked caller cannot pass an option', async () => {
      // buildImage called directly, as a library user would, without parseConfig's rule.
      await expect(
        buildImage(
          { flake: '--version', extraModules: [], workspace: tempDir('ws'), system: 'x86_64-linux' },
          silentReporter,
        ),
      ).rejects.toThrow(/^The flake input "--version" \(--version\) cannot be fetched/);
    });

    it('the action refuses it too', async () => {
      const ws = tempDir('ws');
      const run = await runBundledAction(
        { INPUT_FLAKE: '--version', INPUT_BUCKET: BUCKET, GITHUB_WORKSPACE: ws, NIX_CONFIG: TEST_NIX_CONFIG },
        ws,
      );
      expect(run.code, run.stdout).toBe(2);
      expect(run.stdout).toMatch('::error::Input "flake" must not start with "-"');
    });
  });

  describe('credentials in flake URLs', () => {
    const forms: [string, (param: string) => string][] = [
      ['git+https', (p) => `git+https://gitlab.example.com/team/infra.git?ref=main&${p}=${CANARY}`],
      ['github', (p) => `github:team/infra?${p}=${CANARY}`],
      ['gitlab', (p) => `gitlab:team/infra?dir=nix&${p}=${CANARY}`],
      ['tarball', (p) => `https://example.com/infra.tar.gz?${p}=${CANARY}`],
    ];
    const params = [
      'private_token',
      'access_token',
      'token',
      'key',
      'password',
      'secret',
      'PRIVATE-TOKEN',
      'Api_Key',
      'client_secret',
      'auth',
      'x-oauth-token',
      'passwd',
    ];
    const cases = params.map((param, i) => {
      const [form, url] = forms[i % forms.length] as [string, (p: string) => string];
      return [param, form, url(param)] as const;
    });

    it.concurrent.each(cases)(
      'refuses ?%s= in a %s reference, the value hidden',
      async (param, _form, url) => {
        emu.requests.clear();
        const run = await cli(['publish', ...flags({ ...baseInputs('publish'), flake: url })], tempDir('ws'));
        expectRefused(run, 'Input "flake" must not contain credentials');
        expect(errorLine(run.stderr)).toContain(`${param}=***`);
        expect(`${run.stdout}${run.stderr}`).not.toContain(CANARY);
      },
    );

    it('accepts the parameters Nix itself uses', () => {
      const ref =
        'git+https://gitlab.example.com/team/infra.git?ref=main&rev=0123456789abcdef0123456789abcdef01234567&dir=nix&submodules=1&narHash=sha256-x';
      expect(parseConfig({ flake: ref, bucket: BUCKET }, { workspace: tempDir('ws'), ci: false }).flake).toBe(
        ref,
      );
    });

    it('the action refuses it too, without printing the token', async () => {
      const ws = tempDir('ws');
      const run = await runBundledAction(
        {
          INPUT_FLAKE: `git+https://gitlab.example.com/team/infra.git?private_token=${CANARY}`,
          INPUT_BUCKET: BUCKET,
          GITHUB_WORKSPACE: ws,
        },
        ws,
      );
      expect(run.code, run.stdout).toBe(2);
      expect(run.stdout).toMatch('::error::Input "flake" must not contain credentials');
      expect(run.stdout).toContain('private_token=***');
      expect(`${run.stdout}${run.stderr}`).not.toContain(CANARY);
    });
  });

  describe('symlinked and git-internal modules', () => {
    /** A git checkout whose .git/config holds an auth header, as actions/checkout leaves it. */
    const gitWorkspace = () => {
      const ws = workspace(
        { 'runner.nix': '{ }\n', 'gha-creds-1234.json': `{"canary": "${CANARY}"}\n` },
        { git: true },
      );
      appendFileSync(
        join(ws, '.git', 'config'),
        `[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic ${CANARY}\n`,
      );
      symlinkSync('.git/config', join(ws, 'evil.nix'));
      symlinkSync('.git', join(ws, 'mods'));
      commitAll(ws, 'runner.nix', 'evil.nix', 'gha-creds-1234.json');
      writeFileSync(join(ws, 'untracked.nix'), '{ }\n');
      return ws;
    };
    const plainWorkspace = () => {
      const ws = workspace({ 'inner.nix': '{ }\n', 'gha-creds-5678.json': `{"canary": "${CANARY}"}\n` });
      symlinkSync('inner.nix', join(ws, 'link.nix'));
      return ws;
    };
    const cases: [string, () => string, string, RegExp][] = [
      ['a tracked symlink to .git/config', gitWorkspace, 'evil.nix', /not symlinks/],
      ['.git/config itself', gitWorkspace, '.git/config', /under \.git\//],
      [
        'a file through a symlinked directory',
        gitWorkspace,
        'mods/config',
        /not symlinks or paths through them/,
      ],
      ['a tracked gha-creds-*.json', gitWorkspace, 'gha-creds-1234.json', /gha-creds-\*\.json/],
      ['an untracked file in a git workspace', gitWorkspace, 'untracked.nix', /git tracks/],
      ['a symlink outside git, even to a file inside', plainWorkspace, 'link.nix', /not symlinks/],
      ['a gha-creds-*.json outside git', plainWorkspace, 'gha-creds-5678.json', /gha-creds-\*\.json/],
    ];

    it.concurrent.each(cases)('refuses %s', async (_name, makeWorkspace, module, rule) => {
      const ws = makeWorkspace();
      const run = await cli(['publish', ...flags({ ...baseInputs('publish'), 'extra-modules': module })], ws);
      expectRefused(run, new RegExp(`^Input "extra-modules" .*${rule.source}`));
    });

    it('accepts a regular, tracked module of a git workspace', () => {
      const ws = gitWorkspace();
      const config = parseConfig(
        { 'extra-modules': 'runner.nix', bucket: BUCKET },
        { workspace: ws, ci: false },
      );
      expect(config.extraModules).toEqual([join(ws, 'runner.nix')]);
    });

    it('the action refuses the symlink to .git/config, and the header never reaches the store', async () => {
      const ws = gitWorkspace();
      const run = await runBundledAction(
        {
          ...actionEnv({ ...baseInputs('publish'), 'extra-modules': 'evil.nix' }),
          GITHUB_WORKSPACE: ws,
          NIX_CONFIG: TEST_NIX_CONFIG,
        },
        ws,
        120_000,
      );
      expect(run.code, run.stdout).toBe(2);
      expect(run.stdout).toMatch(
        '::error::Input "extra-modules" must name regular files inside the workspace, not symlinks',
      );
      expect(filesContaining(storePathsAddedSince(storeBefore), CANARY)).toEqual([]);
    });
  });

  describe('workflow commands and log markers in build output', () => {
    const actionRun = (flakeDir: string, output: string, ws: string) =>
      runBundledAction(
        {
          INPUT_PROJECT: PROJECT,
          INPUT_BUCKET: BUCKET,
          INPUT_FLAKE: flakeDir,
          'INPUT_FLAKE-ATTR': 'image',
          'INPUT_STORAGE-ENDPOINT': emu.url,
          'INPUT_COMPUTE-ENDPOINT': emu.url,
          GITHUB_WORKSPACE: ws,
          GITHUB_OUTPUT: output,
          NIX_CONFIG: TEST_NIX_CONFIG,
        },
        ws,
        240_000,
      );
    /** Commands the runner would take from the build's lines: none may come from them. */
    const fromBuild = (stdout: string) =>
      runnerCommands(stdout).filter(
        (c) =>
          (/pwned/.test(c.data) && c.name !== 'error') ||
          (c.name === 'error' && !c.data.startsWith('The Nix build failed')) ||
          c.name === 'set-output' ||
          (c.name === 'add-mask' && c.data === 'fixture'),
      );

    it('the action prints the build log with command processing stopped, and its own commands still work', async () => {
      const ws = tempDir('ws');
      const output = join(ws, 'github-output');
      writeFileSync(output, '');
      const run = await actionRun(noisyFlake(), output, ws);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      // The build's lines are in the log, as text.
      expect(run.stdout).toContain('::error::pwned-v2');
      expect(run.stdout).toContain('##[error]pwned-v1');
      expect(fromBuild(run.stdout)).toEqual([]);
      // Our own commands around the build are still read: its group opens and closes.
      const names = runnerCommands(run.stdout)
        .filter((c) => c.name === 'group' || c.name === 'endgroup')
        .map((c) => (c.name === 'group' ? `group ${c.data}` : c.name));
      const build = names.indexOf('group Build image with Nix');
      expect(build, names.join('\n')).toBeGreaterThanOrEqual(0);
      expect(names[build + 1]).toBe('endgroup');
      expect(readFileSync(output, 'utf8')).toMatch(/^image-name<</m);
      expect(readFileSync(output, 'utf8')).not.toMatch(/^x\b/m);
    });

    it("the action's failure message shows the failed build's log without its control characters", async () => {
      const ws = tempDir('ws');
      const output = join(ws, 'github-output');
      writeFileSync(output, '');
      const run = await actionRun(noisyFlake({ fail: true }), output, ws);
      expect(run.code, run.stdout + run.stderr).toBe(3);
      expect(fromBuild(run.stdout)).toEqual([]);
      const failure = runnerCommands(run.stdout).filter((c) => c.name === 'error');
      expect(failure).toHaveLength(1);
      expect(failure[0]?.data).toContain(SHOWN_MARKER);
      expect(run.stdout).not.toContain('\x1b');
    });

    it('the CLI (and so the GitLab component) prints no control character from the build, even failing', async () => {
      const run = await cli(
        [
          'publish',
          ...flags({ ...baseInputs('publish'), flake: noisyFlake({ fail: true }), 'flake-attr': 'image' }),
        ],
        tempDir('ws'),
      );
      expect(run.code, run.stderr).toBe(3);
      const log = run.stdout + run.stderr;
      expect(log).toContain(SHOWN_MARKER);
      expect(log).not.toContain('\x1b');
      expect(log).not.toContain('\r');
    });
  });
});
