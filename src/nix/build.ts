import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ExitCode, UserError } from '../errors.ts';
import { checkModuleFile } from '../inputs/module-file.ts';
import type { Reporter } from '../report/events.ts';
import { resolveFlakeRef } from './flake-ref.ts';
import { run, shellQuote } from './run.ts';
import {
  type BuildTarget,
  targetForAttr,
  WRAPPER_ERROR,
  type WrapperErrorCode,
  wrapperFlake,
} from './wrapper.ts';

export interface BuildOptions {
  /** The `flake` input: a flake reference or a directory (relative to the workspace). */
  flake: string;
  /** The `flake-attr` input: set for mode (b), the user's own flake (see BuildTarget in wrapper.ts). */
  flakeAttr?: string;
  /** The `extra-modules` input: NixOS module files, relative to the workspace or absolute. */
  extraModules: string[];
  workspace: string;
  /** The Nix system to build for, e.g. x86_64-linux. */
  system: string;
  nixBin?: string;
}

export interface BuildResult {
  storePath: string;
  drvPath: string;
  /** The resolved flake reference that was built (a local directory becomes git+file:). */
  flakeRef: string;
  /** The flake's git revision, when Nix knows it (not for a dirty tree). */
  flakeRev?: string;
  /** The nix command that ran (the wrapper flake is a temporary directory, kept on failure). */
  command: string[];
}

/**
 * An evaluated image: its derivation and output path are known, nothing is built yet. `realiseImage`
 * builds exactly `drvPath`; the wrapper flake is gone by then, so nothing is evaluated again.
 */
export interface EvaluatedImage extends BuildResult {
  nixBin: string;
  /** The flake and attribute built, for the log. */
  description: string;
}

const LOG_TAIL_LINES = 25;
/** Flakes on for every call, so the printed command also works where nix.conf does not enable them. */
const FLAKES = ['--extra-experimental-features', 'nix-command flakes'];
/**
 * Both paths from one evaluation. The keys are not drvPath/outPath: an attribute set holding `outPath`
 * prints as that string in JSON. Evaluating drvPath writes the .drv into the store, which is what the
 * build then realises.
 */
const DRV_AND_OUT = 'd: { drv = d.drvPath; out = d.outPath; }';

/** Evaluates, then builds, the image (see evaluateImage and realiseImage). */
export async function buildImage(
  opts: BuildOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<BuildResult> {
  return realiseImage(await evaluateImage(opts, reporter, signal), reporter, signal);
}

/**
 * Evaluates the image's derivation and output path without building anything: mode (a) through a
 * builder flake's `builders.<system>.gceImage`, or mode (b) from the user's flake (`flakeAttr`). Always
 * through a generated wrapper flake whose only inputs are the target flake and copies of the extra
 * module files, so the evaluation is pure and no other workspace file (such as gha-creds-*.json) can
 * reach the world-readable store. The output path is the image's identity, known before any build.
 */
export async function evaluateImage(
  opts: BuildOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<EvaluatedImage> {
  const nix = opts.nixBin ?? 'nix';
  const modules = await checkModules(opts.extraModules, opts.workspace);
  const flakeRef = await resolveFlakeRef(opts.flake, opts.workspace);
  const copied = modules.map((m, i) => `m/${i}-${basename(m).replace(/[^A-Za-z0-9._+-]/g, '_')}`);
  const target: BuildTarget =
    opts.flakeAttr !== undefined && opts.flakeAttr !== ''
      ? targetForAttr(flakeRef, opts.flakeAttr, opts.system, copied)
      : { kind: 'builder', flakeRef, system: opts.system, modules: copied };

  const flakeRev = await flakeRevision(nix, flakeRef, opts, reporter, signal);

  const wrapperDir = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'nix-glab-runner-wrapper-'));
  let keepWrapper = false;
  try {
    await mkdir(join(wrapperDir, 'm'));
    await Promise.all(modules.map((m, i) => copyFile(m, join(wrapperDir, copied[i] ?? ''))));
    const flakeNix = wrapperFlake(target);
    await writeFile(join(wrapperDir, 'flake.nix'), flakeNix);
    reporter.debug(`wrapper flake ${wrapperDir}/flake.nix:\n${flakeNix}`);

    const installable = `path:${wrapperDir}#image`;
    // `--` ends option parsing: nothing after it is read as an option, whatever the path holds.
    const evalCommand = [nix, ...FLAKES, 'eval', '--json', '--apply', DRV_AND_OUT, '--', installable];
    const description = describe(target, opts);
    reporter.info(`Evaluating ${description} with ${modules.length} extra module(s)`);
    const result = await run(evalCommand[0] ?? nix, evalCommand.slice(1), {
      signal,
      onStderrLine: (line) => reporter.log(line),
      tailLines: 200,
    });
    // The command a user runs to reproduce a failure: it builds from the kept wrapper flake.
    const command = [nix, ...FLAKES, 'build', '--no-link', '--print-build-logs', installable];
    if (result.code !== 0) {
      const code = wrapperErrorCode(result.stderrTail);
      if (code) throw wrapperError(code, target, opts);
      keepWrapper = true;
      throw await buildFailure(nix, command, result.stderrTail, signal);
    }
    const paths = parseEvalJson(result.stdout, evalCommand);
    reporter.info(`Evaluated ${paths.storePath} (${paths.drvPath})`);
    const evaluated: EvaluatedImage = { ...paths, flakeRef, command, nixBin: nix, description };
    if (flakeRev !== undefined) evaluated.flakeRev = flakeRev;
    return evaluated;
  } finally {
    if (!keepWrapper) await rm(wrapperDir, { recursive: true, force: true });
  }
}

/**
 * Builds exactly the evaluated derivation with `nix-store --realise <drv>`, a command every Nix 2 release
 * has. Nix 2.8 refuses `nix build <drv>^out` and `<drv>!out` (checked), and newer Nix reads a bare `.drv`
 * argument of `nix build` as the derivation file itself rather than its outputs.
 */
export async function realiseImage(
  evaluated: EvaluatedImage,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<BuildResult> {
  const command = [nixStoreBin(evaluated.nixBin), '--realise', evaluated.drvPath];
  reporter.info(`Building ${evaluated.description}`);
  const result = await run(command[0] ?? 'nix-store', command.slice(1), {
    signal,
    onStderrLine: (line) => reporter.log(line),
    tailLines: 200,
  });
  if (result.code !== 0) throw await buildFailure(evaluated.nixBin, command, result.stderrTail, signal);
  const outputs = result.stdout.split('\n').filter((l) => l.startsWith('/nix/store/'));
  if (!outputs.includes(evaluated.storePath)) {
    throw new UserError(
      `${shellQuote(command)} built ${outputs.join(', ') || 'nothing'}, not the evaluated ${evaluated.storePath}.`,
      undefined,
      ExitCode.NixFailed,
    );
  }
  const { nixBin: _nix, description: _d, ...built } = evaluated;
  reporter.info(`Built ${built.storePath}`);
  return { ...built, command };
}

/** `nix-store` next to the `nix` in use (an installed Nix is not always on PATH). */
function nixStoreBin(nix: string): string {
  return nix.includes('/') ? join(dirname(nix), 'nix-store') : 'nix-store';
}

/** Checks the extra module files by the same rule as config.ts (see inputs/module-file.ts): say it clearly here too. */
async function checkModules(extraModules: string[], workspace: string): Promise<string[]> {
  return extraModules.map((m) => {
    const checked = checkModuleFile(m, workspace);
    if ('broken' in checked)
      throw new UserError(
        `Input "extra-modules" ${checked.broken} (got ${JSON.stringify(m)}).`,
        'extra-modules',
      );
    return checked.path;
  });
}

/** The flake's revision from `nix flake metadata`; also a clear early error when the flake cannot be fetched. */
async function flakeRevision(
  nix: string,
  flakeRef: string,
  opts: BuildOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<string | undefined> {
  // Never write the lock: on a local flake without one, `flake metadata` would create and git-add it
  // in the user's checkout. The lock changes only through a reviewed commit.
  const result = await run(
    nix,
    [...FLAKES, 'flake', 'metadata', '--no-write-lock-file', '--json', '--', flakeRef],
    { signal },
  );
  if (result.code !== 0) {
    const reason = firstError(result.stderrTail) ?? `nix exited with code ${result.code}`;
    throw new UserError(
      `The flake input "${opts.flake}" (${flakeRef}) cannot be fetched: ${reason}`,
      'flake',
      ExitCode.BadInput,
    );
  }
  try {
    const meta = JSON.parse(result.stdout) as { revision?: unknown };
    if (typeof meta.revision === 'string') return meta.revision;
  } catch {
    // metadata is only informative; a parse failure must not stop the build
  }
  reporter.debug(`${flakeRef} has no revision (a dirty git tree or a non-git flake)`);
  return undefined;
}

function wrapperErrorCode(stderr: string[]): WrapperErrorCode | undefined {
  for (const line of stderr) {
    const at = line.indexOf(WRAPPER_ERROR);
    if (at !== -1) return line.slice(at + WRAPPER_ERROR.length).match(/^[a-z-]+/)?.[0] as WrapperErrorCode;
  }
  return undefined;
}

function wrapperError(code: WrapperErrorCode, target: BuildTarget, opts: BuildOptions): UserError {
  const attr = opts.flakeAttr ?? '';
  switch (code) {
    case 'missing-builder':
      return new UserError(
        `The flake input "${opts.flake}" does not expose builders.${opts.system}.gceImage, the builder interface; use a builder flake or set flake-attr to build your own flake.`,
        'flake',
      );
    case 'missing-attr':
      return new UserError(
        target.kind === 'nixos'
          ? `The flake-attr input "${attr}" names nixosConfigurations.${target.name}, which the flake "${opts.flake}" does not define.`
          : `The flake-attr input "${attr}" names an attribute the flake "${opts.flake}" does not have${target.kind === 'derivation' ? ` (looked up ${target.attrPath.join('.')})` : ''}.`,
        'flake-attr',
      );
    case 'not-derivation':
      return new UserError(
        `The flake-attr input "${attr}" is not a derivation; name an image package or nixosConfigurations.<name>.`,
        'flake-attr',
      );
    case 'no-gce-image':
      return new UserError(
        `The flake-attr input "${attr}" is a NixOS configuration without system.build.images.google-compute or googleComputeImage; import the google-compute-image module in it.`,
        'flake-attr',
      );
  }
}

/** A failed build: the failing derivation's log tail and the exact command to reproduce it. */
async function buildFailure(
  nix: string,
  command: string[],
  stderr: string[],
  signal?: AbortSignal,
): Promise<UserError> {
  const drv = stderr.join('\n').match(/builder for '(\/nix\/store\/[^']+\.drv)' failed/)?.[1];
  let tail = stderr.filter((l) => l.trim() !== '').slice(-LOG_TAIL_LINES);
  if (drv) {
    const log = await run(nix, [...FLAKES, 'log', '--', drv], { signal, tailLines: LOG_TAIL_LINES }).catch(
      () => undefined,
    );
    const lines =
      log?.code === 0
        ? log.stdout
            .split('\n')
            .filter((l) => l.trim() !== '')
            .slice(-LOG_TAIL_LINES)
        : [];
    if (lines.length > 0) tail = lines;
  }
  const what = drv ? `the builder of ${drv} failed` : (firstError(stderr) ?? 'evaluation failed');
  const reproduce = shellQuote(command.filter((a) => a !== '--json'));
  return new UserError(
    `The Nix build failed (${what}); reproduce it with: ${reproduce}${drv ? ` (full log: nix ${shellQuote(FLAKES)} log ${drv})` : ''}\n${tail.map((l) => `  ${l}`).join('\n')}`,
    undefined,
    ExitCode.NixFailed,
  );
}

/** The first `error:` line Nix printed, without the prefix. */
function firstError(stderr: string[]): string | undefined {
  const line = stderr.find((l) => /^\s*error:/.test(l));
  return line?.replace(/^\s*error:\s*/, '').trim() || undefined;
}

function parseEvalJson(stdout: string, command: string[]): { storePath: string; drvPath: string } {
  try {
    const { drv, out } = JSON.parse(stdout) as { drv?: unknown; out?: unknown };
    if (typeof drv === 'string' && typeof out === 'string' && drv.endsWith('.drv'))
      return { storePath: out, drvPath: drv };
  } catch {
    // fall through
  }
  throw new UserError(
    `${shellQuote(command)} printed no derivation and output path (got: ${stdout.slice(0, 200)}).`,
    undefined,
    ExitCode.NixFailed,
  );
}

function describe(target: BuildTarget, opts: BuildOptions): string {
  switch (target.kind) {
    case 'builder':
      return `${target.flakeRef} builders.${opts.system}.gceImage`;
    case 'nixos':
      return `${target.flakeRef} nixosConfigurations.${target.name}`;
    case 'derivation':
      return `${target.flakeRef} ${target.attrPath.join('.')}`;
  }
}
