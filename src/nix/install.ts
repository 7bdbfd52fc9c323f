import { constants } from 'node:fs';
import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { ExitCode, UserError } from '../errors.ts';
import { fileSha256 } from '../read-pieces.ts';
import type { Reporter } from '../report/events.ts';
import { copyCached, dropCached, installerCacheDir, privateDir, storeInCache } from './installer-cache.ts';
import { hostNixSystem, isSha256Hex, nixRelease } from './releases.ts';
import { run } from './run.ts';

export interface EnsureNixOptions {
  installNix: 'auto' | 'always' | 'never';
  nixVersion: string;
  extraNixConfig: string;
  /** SHA-256 of the release tarball, required for a nix-version we do not pin (a required key, so no
   * caller can forget to pass the input on). */
  nixSha256: string | undefined;
  githubToken?: string | undefined;
  ci: boolean;
  /** Where releases are downloaded from; tests point it at a loopback server. */
  releasesUrl?: string;
}

/** Nix 2.4 introduced flakes and the `extra-` setting prefix this stage relies on. */
const MIN_NIX = [2, 4] as const;

/**
 * Makes a working, flake-enabled `nix` available. Uses an existing one unless `installNix` is
 * `always`; installs a pinned release only in CI (`auto`) or when asked (`always`), never on a laptop.
 * Configuration reaches our nix child processes through NIX_CONFIG (set on process.env). The nix.conf the
 * installer writes is world-readable, so access tokens (the GitHub token, and any in extra-nix-config) go
 * only to NIX_CONFIG, which only this user's processes can read.
 */
export async function ensureNix(
  opts: EnsureNixOptions,
  reporter: Reporter,
): Promise<{ nixBin: string; version: string; installed: boolean }> {
  const onPath = await findOnPath('nix');
  const found = onPath ? await probeNix(onPath) : undefined;
  const action = decideInstall(opts.installNix, opts.ci, found);
  // Bad input stops the run before anything is downloaded or changed.
  const release =
    action === 'install'
      ? nixRelease(opts.nixVersion, hostNixSystem(), opts.nixSha256, opts.releasesUrl)
      : undefined;
  let nixBin = onPath ?? 'nix';
  let version = found?.version ?? '';
  // Before installing: the daemon enables the kvm system feature only if /dev/kvm is usable at start.
  const kvm = await ensureKvm(opts.ci, reporter);
  if (release) {
    nixBin = await installNix(
      opts.nixVersion,
      release,
      withoutAccessTokens(nixConfigText({ ...opts, githubToken: undefined, kvm })),
      reporter,
    );
    const probed = await probeNix(nixBin);
    if (!probed)
      throw new UserError(
        `The Nix ${opts.nixVersion} installer finished but ${nixBin} does not run.`,
        'nix-version',
        ExitCode.NixFailed,
      );
    version = probed.version;
  } else {
    reporter.info(`Using the installed Nix ${version} (${nixBin})`);
  }
  if (versionBelow(version, MIN_NIX)) {
    throw new UserError(
      `Nix ${version} is too old: flakes need Nix ${MIN_NIX.join('.')} or newer, so upgrade it or set install-nix: always.`,
      'install-nix',
    );
  }
  process.env.NIX_CONFIG = appendNixConfig(process.env.NIX_CONFIG, nixConfigText({ ...opts, kvm }));
  reporter.debug(`NIX_CONFIG for nix commands:\n${redactNixConfig(process.env.NIX_CONFIG)}`);
  return { nixBin, version, installed: action === 'install' };
}

/** `use` the nix found, `install` one, or throw the hint. Pure: the tests drive it directly. */
export function decideInstall(
  mode: EnsureNixOptions['installNix'],
  ci: boolean,
  found: { version: string } | undefined,
): 'use' | 'install' {
  if (mode === 'always') return 'install';
  if (found) return 'use';
  if (mode === 'never') {
    throw new UserError(
      'Nix is not installed and install-nix is never; install it (e.g. apt-get install -y nix-bin, or https://nixos.org/download) or set install-nix: auto in CI.',
      'install-nix',
    );
  }
  if (!ci) {
    throw new UserError(
      'Nix is not installed; install-nix: auto installs it only in CI (CI=true), never on your machine, so install it yourself (e.g. apt-get install -y nix-bin, or https://nixos.org/download) or set install-nix: always.',
      'install-nix',
    );
  }
  return 'install';
}

/** Runs `<bin> --version`; undefined when nix is absent or broken. */
export async function probeNix(bin: string): Promise<{ version: string } | undefined> {
  try {
    const result = await run(bin, ['--version']);
    const version = result.stdout.match(/(\d+\.\d+(?:\.\d+)?\S*)/)?.[1];
    return result.code === 0 && version ? { version } : undefined;
  } catch {
    return undefined;
  }
}

/** The absolute path of an executable on PATH, like `command -v`. */
export async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    if (
      await access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

function versionBelow(version: string, min: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  return major < min[0] || (major === min[0] && minor < min[1]);
}

/**
 * The settings this stage needs, as nix.conf lines: flakes on, KVM as a system feature where usable,
 * the user's extra config, and the GitHub token against API rate limits (docs/architecture.md, "GitHub Actions").
 * `extra-` settings add to the user's own instead of replacing them.
 */
export function nixConfigText(opts: {
  extraNixConfig: string;
  githubToken?: string | undefined;
  kvm: boolean;
}): string {
  const lines = ['extra-experimental-features = nix-command flakes'];
  if (opts.kvm) lines.push('extra-system-features = kvm');
  const extra = opts.extraNixConfig.trim();
  if (extra) lines.push(extra);
  if (opts.githubToken) {
    if (/\s/.test(opts.githubToken))
      throw new UserError(
        'The github-token input contains whitespace, which no GitHub token does.',
        'github-token',
      );
    lines.push(`extra-access-tokens = github.com=${opts.githubToken}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Appends our settings to an existing NIX_CONFIG (later lines win in nix's parser); idempotent. */
export function appendNixConfig(existing: string | undefined, addition: string): string {
  const base = existing?.trim() ?? '';
  if (base.endsWith(addition.trim())) return existing ?? addition; // ensureNix ran before: nothing new
  return base ? `${base}\n${addition}` : addition;
}

/** nix.conf text without access-tokens settings, for a file others can read. */
export function withoutAccessTokens(text: string): string {
  return text.replace(ACCESS_TOKENS_LINE, '');
}
export const ACCESS_TOKENS_LINE = /^[ \t]*(?:extra-)?access-tokens[ \t]*=.*(?:\n|$)/gm;

/** NIX_CONFIG text safe to log: access tokens are replaced. */
export function redactNixConfig(text: string | undefined): string {
  return (text ?? '').replace(/^(\s*(?:extra-)?access-tokens\s*=).*$/gm, '$1 ***');
}

/** Streams a file through SHA-256 and compares with the expected hex digest. */
export async function verifySha256(file: string, expected: string, what = file): Promise<void> {
  const want = expected.trim().toLowerCase();
  if (!isSha256Hex(want))
    throw new UserError(
      `The expected SHA-256 for ${what} is not 64 hex digits: "${expected}".`,
      'nix-version',
      ExitCode.NixFailed,
    );
  const got = await fileSha256(file);
  if (got !== want) {
    throw new UserError(
      `${what} has SHA-256 ${got}, not the expected ${want}; refusing to install it.`,
      'nix-version',
      ExitCode.NixFailed,
    );
  }
}

/**
 * Runs the release's installer, from a private copy of the tarball whose SHA-256 was checked just before:
 * from the cache when it holds the right file, else downloaded (with retries) and then cached.
 */
async function installNix(
  version: string,
  release: { url: string; sha256: string },
  confText: string,
  reporter: Reporter,
): Promise<string> {
  const tc = await import('@actions/tool-cache');
  // tool-cache needs it; GitLab CI and laptops do not set it. mkdtemp makes our work directory 0700.
  process.env.RUNNER_TEMP ||= tmpdir();
  const work = await mkdtemp(join(process.env.RUNNER_TEMP, 'nix-glab-runner-install-'));
  const tarball = await verifiedTarball(release, work, reporter, (url, dest) =>
    withRetries(3, () => tc.downloadTool(url, dest), reporter),
  );
  const extracted = await tc.extractTar(tarball, join(work, 'unpacked'), 'xJ');
  // The tarball holds one directory, nix-<version>-<system>, with the installer in it.
  const top = (await readdir(extracted)).find((e) => e.startsWith('nix-'));
  if (!top)
    throw new UserError(
      `The Nix ${version} tarball from ${release.url} holds no nix-* directory.`,
      'nix-version',
      ExitCode.NixFailed,
    );
  const dir = join(extracted, top);
  // Multi-user where systemd runs (GitHub runners); single-user in containers (GitLab docker executors),
  // where build users and the namespace sandbox are usually unavailable.
  const daemon = await exists('/run/systemd/system');
  const confFile = join(work, 'nix.conf');
  await writeFile(confFile, daemon ? confText : `build-users-group =\nsandbox = false\n${confText}`);
  const args = [
    daemon ? '--daemon' : '--no-daemon',
    '--yes',
    '--no-channel-add',
    '--nix-extra-conf-file',
    confFile,
  ];
  reporter.info(`Running the Nix ${version} installer (${daemon ? 'multi-user' : 'single-user'})`);
  const result = await run(join(dir, 'install'), args, { onStderrLine: (l) => reporter.log(l) });
  if (result.code !== 0) {
    throw new UserError(
      `The Nix ${version} installer failed with exit code ${result.code}: ${result.stderrTail.slice(-5).join(' / ')}`,
      'install-nix',
      ExitCode.NixFailed,
    );
  }
  const profile = daemon
    ? '/nix/var/nix/profiles/default/bin'
    : join(process.env.HOME ?? '/root', '.nix-profile/bin');
  process.env.PATH = `${profile}${delimiter}${process.env.PATH ?? ''}`;
  return join(profile, 'nix');
}

/** A copy of the release tarball in `work` with the expected SHA-256: the cached one if good, else downloaded. */
async function verifiedTarball(
  release: { url: string; sha256: string },
  work: string,
  reporter: Reporter,
  download: (url: string, dest: string) => Promise<string>,
): Promise<string> {
  const name = basename(release.url);
  const cacheDir = installerCacheDir(process.env);
  const unsafe = await privateDir(cacheDir);
  if (unsafe) reporter.warn(`Not using ${cacheDir} to cache the Nix installer: ${unsafe}.`);
  const copy = join(work, name);
  if (!unsafe && (await copyCached(cacheDir, name, copy))) {
    try {
      await verifySha256(copy, release.sha256, `The cached ${join(cacheDir, name)}`);
      reporter.info(`Using the cached ${name} (SHA-256 checked)`);
      return copy;
    } catch (err) {
      reporter.warn(`${(err as Error).message} Downloading it again.`);
      await dropCached(cacheDir, name);
      await rm(copy, { force: true });
    }
  }
  reporter.info(`Downloading ${release.url}`);
  await download(release.url, copy);
  await verifySha256(copy, release.sha256, `The download of ${release.url}`);
  if (!unsafe) await storeInCache(cacheDir, copy, reporter);
  return copy;
}

async function withRetries<T>(attempts: number, fn: () => Promise<T>, reporter: Reporter): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      // A 404 or 403 will not change on a retry; a reset, a 5xx, 408 or 429 may.
      const status = (err as { httpStatusCode?: number }).httpStatusCode;
      const final = status !== undefined && status < 500 && status !== 408 && status !== 429;
      if (i >= attempts || final)
        throw new UserError(
          `Downloading Nix failed after ${i} attempt${i === 1 ? '' : 's'}: ${(err as Error).message}.`,
          'install-nix',
          ExitCode.NixFailed,
        );
      reporter.warn(`Download attempt ${i} failed (${(err as Error).message}); retrying`);
      await new Promise((r) => setTimeout(r, 2000 * i));
    }
  }
}

/**
 * NixOS image builds run a VM and need /dev/kvm open to the build user. Where the device exists but
 * is not usable, CI runners (GitHub's) allow `sudo chmod`; on a laptop we only warn.
 */
export async function ensureKvm(ci: boolean, reporter: Reporter): Promise<boolean> {
  if (!(await exists('/dev/kvm'))) {
    reporter.debug('/dev/kvm is absent; NixOS image builds will be slow or fail');
    return false;
  }
  if (await usable('/dev/kvm')) return true;
  if (ci) {
    const result = await run('sudo', ['-n', 'chmod', '0666', '/dev/kvm']).catch(() => undefined);
    if (result?.code === 0 && (await usable('/dev/kvm'))) return true;
  }
  reporter.warn(
    '/dev/kvm exists but is not readable and writable by this user, so image builds cannot use KVM; add the user to the kvm group.',
  );
  return false;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function usable(path: string): Promise<boolean> {
  return access(path, constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
}
