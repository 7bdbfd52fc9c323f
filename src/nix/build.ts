import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ExitCode, UserError } from '../errors.ts';
import { checkModuleFile } from '../inputs/module-file.ts';
import type { Reporter } from '../report/events.ts';
import { visibleLine } from '../report/visible-line.ts';
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

const LOG_TAIL_LINES = 25;
/** Flakes on for every call, so the printed command also works where nix.conf does not enable them. */
const FLAKES = ['--extra-experimental-features', 'nix-command flakes'];

/**
 * Builds the image: mode (a) through a builder flake's `builders.<system>.gceImage`, or mode (b)
 * from the user's flake (`flakeAttr`). Always through a generated wrapper flake whose only inputs are
 * the target flake and copies of the extra module files, so the build is pure and no other workspace
 * file (such as gha-creds-*.json) can reach the world-readable store.
 */
export async function buildImage(
  opts: BuildOptions,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<BuildResult> {
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

    const command = [
      nix,
      ...FLAKES,
      'build',
      '--no-link',
      '--json',
      '--print-build-logs',
      // Ends option parsing: nothing after it is read as an option, whatever the path holds.
      '--',
      `path:${wrapperDir}#image`,
    ];
    reporter.info(`Building ${describe(target, opts)} with ${modules.length} extra module(s)`);
    const result = await run(command[0] ?? nix, command.slice(1), {
      signal,
      onStderrLine: (line) => reporter.log(line),
      tailLines: 200,
    });
    if (result.code !== 0) {
      const code = wrapperErrorCode(result.stderrTail);
      if (code) throw wrapperError(code, target, opts);
      keepWrapper = true;
      throw await buildFailure(nix, command, result.stderrTail, signal);
    }
    const outputs = parseBuildJson(result.stdout, command);
    const built: BuildResult = { ...outputs, flakeRef, command };
    if (flakeRev !== undefined) built.flakeRev = flakeRev;
    reporter.info(`Built ${built.storePath}`);
    return built;
  } finally {
    if (!keepWrapper) await rm(wrapperDir, { recursive: true, force: true });
  }
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
    `The Nix build failed (${what}); reproduce it with: ${reproduce}${drv ? ` (full log: nix ${shellQuote(FLAKES)} log ${drv})` : ''}\n${tail.map((l) => `  ${visibleLine(l)}`).join('\n')}`,
    undefined,
    ExitCode.NixFailed,
  );
}

/** The first `error:` line Nix printed, without the prefix. */
function firstError(stderr: string[]): string | undefined {
  const line = stderr.find((l) => /^\s*error:/.test(l));
  return line?.replace(/^\s*error:\s*/, '').trim() || undefined;
}

function parseBuildJson(stdout: string, command: string[]): { storePath: string; drvPath: string } {
  try {
    const [first] = JSON.parse(stdout) as { drvPath?: string; outputs?: Record<string, string> }[];
    const storePath = first?.outputs?.out;
    if (first?.drvPath && storePath) return { storePath, drvPath: first.drvPath };
  } catch {
    // fall through
  }
  throw new UserError(
    `${shellQuote(command)} printed no output path (got: ${stdout.slice(0, 200)}).`,
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
