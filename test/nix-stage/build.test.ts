import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, UserError } from '../../src/errors.ts';
import { type BuildOptions, buildImage } from '../../src/nix/build.ts';
import { readImageFacts } from '../../src/nix/facts.ts';
import { locateImageTarball, verifyImageTarball } from '../../src/nix/image-file.ts';
import { recordingReporter, silentReporter } from '../../src/report/events.ts';
import {
  commitAll,
  filesContaining,
  fixtureRepo,
  requireNix,
  storePathsAddedSince,
  workspace,
} from './helpers.ts';

const system = 'x86_64-linux';
// A fresh nonce per run, so the first build really builds (and logs) instead of hitting the store.
const NONCE = randomBytes(6).toString('hex');
const MODULE_A = `{ ... }: { networking.hostName = "runner-a"; } # ${NONCE}\n`;
const MODULE_B = `{ ... }: { networking.hostName = "runner-b"; } # ${NONCE}\n`;

let builder: string;
beforeAll(() => {
  requireNix();
  builder = fixtureRepo();
});

function opts(ws: string, extra: Partial<BuildOptions> = {}): BuildOptions {
  return { flake: builder, extraModules: ['modules/extra.nix'], workspace: ws, system, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<UserError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe('buildImage, mode (a): a builder flake', () => {
  it('builds a valid tarball whose hash follows the extra module', async () => {
    const ws = workspace({ 'modules/extra.nix': MODULE_A });
    const r = recordingReporter();
    const first = await buildImage(opts(ws), r);

    expect(first.storePath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-/);
    expect(first.drvPath).toMatch(/\.drv$/);
    expect(first.flakeRef).toBe(`git+file://${builder}`);
    expect(first.flakeRev).toBe(
      execFileSync('git', ['-C', builder, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
    );
    expect(first.command).not.toContain('--impure');
    // nix-store --realise prints the builder's own lines as they come.
    expect(r.lines).toContain(`log: fixture: wrote ${first.storePath}`);

    const tarball = await locateImageTarball(first.storePath);
    expect(await verifyImageTarball(tarball)).toMatchObject({
      member: 'disk.raw',
      format: 'gnu',
      type: 'regular',
    });
    expect(await readImageFacts(first.storePath, silentReporter)).toEqual({
      efi: false,
      architecture: 'X86_64',
      nixos: 'fixture',
      fromFile: true,
    });
    // The module's content is in the disk, so it really went into the build.
    expect(execFileSync('tar', ['-xzOf', tarball], { encoding: 'utf8' })).toContain('runner-a');

    const again = await buildImage(opts(ws), silentReporter);
    expect(again.storePath).toBe(first.storePath);

    const changed = await buildImage(opts(workspace({ 'modules/extra.nix': MODULE_B })), silentReporter);
    expect(changed.storePath).not.toBe(first.storePath);
  });

  it('never copies a credentials file from the workspace into the store', async () => {
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const ws = workspace(
      {
        'modules/extra.nix': MODULE_A,
        'gha-creds-canary.json': JSON.stringify({ type: 'external_account', canary }),
      },
      { git: true },
    );
    // A module of a git checkout must be tracked; the credentials file is not.
    commitAll(ws, 'modules/extra.nix');
    const before = new Set(readdirSync('/nix/store'));
    const result = await buildImage(opts(ws), silentReporter);

    const closure = execFileSync('nix-store', ['-qR', result.drvPath], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const added = storePathsAddedSince(before);
    // The wrapper flake's source is among the added paths; prove the check would see a planted file.
    expect(added.length + closure.length).toBeGreaterThan(0);
    expect(filesContaining([...closure, ...added], 'runner-a').length).toBeGreaterThan(0);
    expect(filesContaining([...closure, ...added, result.storePath], canary)).toEqual([]);
  });

  it('says clearly when the flake has no builder interface', async () => {
    const notBuilder = workspace({ 'flake.nix': '{ outputs = { self }: { }; }\n' }, { git: true });
    commitAll(notBuilder, 'flake.nix');
    const ws = workspace({ 'modules/extra.nix': MODULE_A });
    const err = await failure(buildImage(opts(ws, { flake: notBuilder }), silentReporter));
    expect(err.input).toBe('flake');
    expect(err.message).toBe(
      `The flake input "${notBuilder}" does not expose builders.x86_64-linux.gceImage, the builder interface; use a builder flake or set flake-attr to build your own flake.`,
    );
  });

  it('refuses a missing extra module, a missing flake directory and an untracked flake.nix', async () => {
    const ws = workspace({ 'modules/extra.nix': MODULE_A });
    const missing = await failure(
      buildImage(opts(ws, { extraModules: ['modules/gone.nix'] }), silentReporter),
    );
    expect(missing.input).toBe('extra-modules');
    expect(missing.message).toMatch(/"extra-modules" must name files that exist.*modules\/gone\.nix/);

    const noFlake = await failure(buildImage(opts(ws, { flake: './no-such-dir' }), silentReporter));
    expect(noFlake.input).toBe('flake');

    const untracked = workspace({ 'flake.nix': '{ outputs = { self }: { }; }\n' }, { git: true });
    const err = await failure(buildImage(opts(ws, { flake: untracked }), silentReporter));
    expect(err.message).toMatch(/flake\.nix that git does not track/);

    const plainDir = workspace({
      'flake.nix': '{ outputs = { self }: { }; }\n',
      'modules/extra.nix': MODULE_A,
    });
    const notGit = await failure(buildImage(opts(plainDir, { flake: '.' }), silentReporter));
    expect(notGit.message).toMatch(/not a git repository; only git-tracked files may enter the Nix store/);
  });

  it('reports a failing build with the log tail and the command to reproduce it', async () => {
    const err = await failure(
      buildImage(
        opts(workspace({}), { flakeAttr: 'packages.x86_64-linux.failing', extraModules: [] }),
        silentReporter,
      ),
    );
    expect(err.exitCode).toBe(ExitCode.NixFailed);
    const [sentence = '', ...tail] = err.message.split('\n');
    expect(sentence).toMatch(
      /^The Nix build failed \(the builder of \/nix\/store\/\S+\.drv failed\); reproduce it with: nix-store --realise \/nix\/store\/\S+\.drv /,
    );
    expect(sentence).toMatch(/full log: nix .* log \/nix\/store\/\S+\.drv\)$/);
    expect(tail.join('\n')).toContain('fixture: error: simulated build failure');
    // The command really reproduces the failure: it builds the evaluated derivation again.
    const reproduce = sentence.match(/reproduce it with: (.*) \(full log:/)?.[1] ?? '';
    const rerun = spawnSync('sh', ['-c', reproduce], {
      encoding: 'utf8',
      env: { ...process.env, NIX_CONFIG: 'substituters =' },
    });
    expect(rerun.status).not.toBe(0);
    expect(rerun.stderr).toContain('simulated build failure');
  });

  it('stops the build promptly when aborted', async () => {
    const controller = new AbortController();
    const r = recordingReporter();
    const started = Date.now();
    const reporter = {
      ...r,
      log: (line: string) => {
        r.log(line);
        if (line.includes('fixture: sleeping')) controller.abort();
      },
    };
    const err = await failure(
      buildImage(
        opts(workspace({}), { flakeAttr: 'packages.x86_64-linux.slow', extraModules: [] }),
        reporter,
        controller.signal,
      ),
    );
    expect(err.exitCode).toBe(ExitCode.Interrupted);
    expect(controller.signal.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('buildImage, mode (b): the user flake', () => {
  it('builds an image derivation attribute, full or short', async () => {
    const ws = workspace({});
    const full = await buildImage(
      opts(ws, { flakeAttr: 'packages.x86_64-linux.image', extraModules: [] }),
      silentReporter,
    );
    const short = await buildImage(opts(ws, { flakeAttr: 'image', extraModules: [] }), silentReporter);
    expect(short.storePath).toBe(full.storePath);
    expect(await verifyImageTarball(await locateImageTarball(full.storePath))).toMatchObject({
      member: 'disk.raw',
    });
    const efi = await buildImage(
      opts(ws, { flakeAttr: 'packages.x86_64-linux.efiImage', extraModules: [] }),
      silentReporter,
    );
    expect(await readImageFacts(efi.storePath, silentReporter)).toMatchObject({ efi: true });
  });

  it('extends nixosConfigurations.<name> with the extra modules, from a workspace holding credentials', async () => {
    // The workspace is the user's flake (a git checkout) with an untracked credentials file in it.
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const userFlake = fixtureRepo();
    const ws = workspace({});
    execFileSync('cp', ['-r', `${userFlake}/.`, ws]);
    execFileSync('sh', [
      '-c',
      `mkdir -p "${ws}/modules" && printf '%s' '${MODULE_A}' > "${ws}/modules/extra.nix"`,
    ]);
    execFileSync('sh', ['-c', `printf '{"canary":"%s"}' '${canary}' > "${ws}/gha-creds-canary.json"`]);
    commitAll(ws, 'modules/extra.nix');
    const before = new Set(readdirSync('/nix/store'));

    const result = await buildImage(
      {
        flake: '.',
        flakeAttr: 'nixosConfigurations.fixture',
        extraModules: ['modules/extra.nix'],
        workspace: ws,
        system,
      },
      silentReporter,
    );
    expect(result.flakeRef).toBe(`git+file://${ws}`);
    const fromBuilder = await buildImage(opts(workspace({ 'modules/extra.nix': MODULE_A })), silentReporter);
    expect(result.storePath).toBe(fromBuilder.storePath); // same modules, same image, either mode

    const closure = execFileSync('nix-store', ['-qR', result.drvPath], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const added = storePathsAddedSince(before);
    // The user's flake source is in the store: git-tracked files only, without the credentials file.
    const source = (
      JSON.parse(
        execFileSync('nix', ['flake', 'metadata', '--json', result.flakeRef], { encoding: 'utf8' }),
      ) as {
        path: string;
      }
    ).path;
    expect(existsSync(join(source, 'build.sh'))).toBe(true);
    expect(existsSync(join(source, 'gha-creds-canary.json'))).toBe(false);
    expect(filesContaining([...closure, ...added, source], canary)).toEqual([]);
  });

  it('names flake-attr when the attribute does not exist, in one sentence', async () => {
    const ws = workspace({ 'modules/extra.nix': MODULE_A });
    const drv = await failure(
      buildImage(opts(ws, { flakeAttr: 'packages.x86_64-linux.nope', extraModules: [] }), silentReporter),
    );
    expect(drv.input).toBe('flake-attr');
    expect(drv.message).toBe(
      `The flake-attr input "packages.x86_64-linux.nope" names an attribute the flake "${builder}" does not have (looked up packages.x86_64-linux.nope).`,
    );
    const nixos = await failure(
      buildImage(opts(ws, { flakeAttr: 'nixosConfigurations.nope' }), silentReporter),
    );
    expect(nixos.input).toBe('flake-attr');
    expect(nixos.message).toMatch(/names nixosConfigurations\.nope, which the flake .* does not define\.$/);
    const notDrv = await failure(
      buildImage(opts(ws, { flakeAttr: 'builders.x86_64-linux', extraModules: [] }), silentReporter),
    );
    expect(notDrv.message).toMatch(/is not a derivation/);
    const withModules = await failure(
      buildImage(opts(ws, { flakeAttr: 'packages.x86_64-linux.image' }), silentReporter),
    );
    expect(withModules.input).toBe('extra-modules');
    for (const e of [drv, nixos, notDrv, withModules]) {
      expect(e.exitCode).toBe(ExitCode.BadInput);
      expect(e.message.split('\n')).toHaveLength(1);
    }
  });

  it('builds the bad tarballs, which the check then refuses', async () => {
    const ws = workspace({});
    const wrong = await buildImage(
      opts(ws, { flakeAttr: 'packages.x86_64-linux.wrongMember', extraModules: [] }),
      silentReporter,
    );
    await expect(verifyImageTarball(await locateImageTarball(wrong.storePath))).rejects.toThrow(
      /NixOS 24\.11/,
    );
    const posix = await buildImage(
      opts(ws, { flakeAttr: 'packages.x86_64-linux.posixTar', extraModules: [] }),
      silentReporter,
    );
    await expect(verifyImageTarball(await locateImageTarball(posix.storePath))).rejects.toThrow(
      /Supported formats are: GNU and OLDGNU/,
    );
  });
});
