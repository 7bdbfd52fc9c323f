import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ExitCode, UserError } from '../errors.ts';
import type { Reporter } from '../report/events.ts';
import { run } from './run.ts';

export interface EnsureNixOptions {
  installNix: 'auto' | 'always' | 'never';
  nixVersion: string;
  extraNixConfig: string;
  githubToken?: string;
  ci: boolean;
}

/**
 * Pinned Nix release tarballs (https://releases.nixos.org/nix/nix-V/nix-V-SYSTEM.tar.xz) and their
 * SHA-256, as published by the Nix project:
 * - 2.28.3: the hashes embedded in the official installer https://releases.nixos.org/nix/nix-2.28.3/install;
 * - 2.34.7: the published `.sha256` files, as pinned by projectbluefin/dakota elements/bluefin/nix.bst.
 * A version not listed falls back to the `.sha256` file published beside the tarball, with a warning.
 */
export const PINNED_NIX_RELEASES: Record<string, Partial<Record<NixSystem, string>>> = {
  '2.28.3': {
    'x86_64-linux': '85d1847d06d5d56167796d3f61cd992908de84584db3e700da031a782b59ea22',
    'aarch64-linux': '3dffb118772382e35526806fb97acc05df7ad6dc29dbe52b921b77e52e39f571',
  },
  '2.34.7': {
    'x86_64-linux': 'eafe5042404e818505e28c5ca3d0885f3ec45c31f955489a25bb38258f87560e',
    'aarch64-linux': 'f1cee64ae7a02330c6421924c28f597c41813f2214ff108622087d8056378b08',
  },
};
/** Matches the `nix-version` default in src/config.ts; a test keeps it pinned. */
export const DEFAULT_NIX_VERSION = '2.28.3';

export type NixSystem = 'x86_64-linux' | 'aarch64-linux';
/** Nix 2.4 introduced flakes and the `extra-` setting prefix this stage relies on. */
const MIN_NIX = [2, 4] as const;

/**
 * Makes a working, flake-enabled `nix` available. Uses an existing one unless `installNix` is
 * `always`; installs a pinned release only in CI (`auto`) or when asked (`always`), never on a laptop.
 * Configuration reaches our nix child processes through NIX_CONFIG (set on process.env), so the
 * GitHub token never lands in a world-readable nix.conf.
 */
export async function ensureNix(
  opts: EnsureNixOptions,
  reporter: Reporter,
): Promise<{ nixBin: string; version: string; installed: boolean }> {
  const onPath = await findOnPath('nix');
  const found = onPath ? await probeNix(onPath) : undefined;
  const action = decideInstall(opts.installNix, opts.ci, found);
  let nixBin = onPath ?? 'nix';
  let version = found?.version ?? '';
  // Before installing: the daemon enables the kvm system feature only if /dev/kvm is usable at start.
  const kvm = await ensureKvm(opts.ci, reporter);
  if (action === 'install') {
    nixBin = await installNix(
      opts.nixVersion,
      nixConfigText({ ...opts, githubToken: undefined, kvm }),
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

/** NIX_CONFIG text safe to log: access tokens are replaced. */
export function redactNixConfig(text: string | undefined): string {
  return (text ?? '').replace(/^(\s*(?:extra-)?access-tokens\s*=).*$/gm, '$1 ***');
}

/** Streams a file through SHA-256 and compares with the expected hex digest. */
export async function verifySha256(file: string, expected: string, what = file): Promise<void> {
  const want = expected.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want))
    throw new UserError(
      `The expected SHA-256 for ${what} is not 64 hex digits: "${expected}".`,
      'nix-version',
      ExitCode.NixFailed,
    );
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const got = hash.digest('hex');
  if (got !== want) {
    throw new UserError(
      `The download of ${what} has SHA-256 ${got}, not the published ${want}; refusing to install it.`,
      'nix-version',
      ExitCode.NixFailed,
    );
  }
}

/** The release tarball for a version and system, with its pinned hash when we have one. */
export function nixRelease(version: string, system: NixSystem): { url: string; sha256?: string } {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new UserError(
      `The nix-version input "${version}" must be an exact release such as ${DEFAULT_NIX_VERSION}.`,
      'nix-version',
    );
  }
  const url = `https://releases.nixos.org/nix/nix-${version}/nix-${version}-${system}.tar.xz`;
  const sha256 = PINNED_NIX_RELEASES[version]?.[system];
  return sha256 ? { url, sha256 } : { url };
}

export function hostNixSystem(): NixSystem {
  if (process.platform === 'linux' && process.arch === 'x64') return 'x86_64-linux';
  if (process.platform === 'linux' && process.arch === 'arm64') return 'aarch64-linux';
  throw new UserError(
    `Installing Nix is supported on x86_64 and aarch64 Linux only, not ${process.platform}/${process.arch}; install Nix yourself.`,
    'install-nix',
  );
}

/** Downloads (with retries), verifies, caches and runs the pinned installer. Returns the nix binary. */
async function installNix(version: string, confText: string, reporter: Reporter): Promise<string> {
  const tc = await import('@actions/tool-cache');
  const system = hostNixSystem();
  const arch = system === 'x86_64-linux' ? 'x64' : 'arm64';
  const { url, sha256 } = nixRelease(version, system);
  // tool-cache needs these; GitLab CI and laptops do not set them.
  process.env.RUNNER_TEMP ||= tmpdir();
  process.env.RUNNER_TOOL_CACHE ||= join(tmpdir(), 'nix-glab-runner-tool-cache');

  let dir = tc.find('nix', version, arch);
  if (!dir) {
    reporter.info(`Downloading Nix ${version} from ${url}`);
    const file = await withRetries(3, () => tc.downloadTool(url), reporter);
    let expected = sha256;
    if (!expected) {
      reporter.warn(`Nix ${version} is not pinned here; trusting the SHA-256 published at ${url}.sha256.`);
      const sumFile = await withRetries(3, () => tc.downloadTool(`${url}.sha256`), reporter);
      expected = (await readFile(sumFile, 'utf8')).trim().split(/\s+/)[0] ?? '';
    }
    await verifySha256(file, expected, url);
    const extracted = await tc.extractTar(file, undefined, 'xJ');
    // The tarball holds one directory, nix-<version>-<system>, with the installer in it.
    const top = (await readdir(extracted)).find((e) => e.startsWith('nix-'));
    if (!top)
      throw new UserError(
        `The Nix ${version} tarball from ${url} holds no nix-* directory.`,
        'nix-version',
        ExitCode.NixFailed,
      );
    dir = await tc.cacheDir(join(extracted, top), 'nix', version, arch);
  }
  // Multi-user where systemd runs (GitHub runners); single-user in containers (GitLab docker executors),
  // where build users and the namespace sandbox are usually unavailable.
  const daemon = await exists('/run/systemd/system');
  const confFile = join(await mkdtemp(join(process.env.RUNNER_TEMP, 'nix-conf-')), 'nix.conf');
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

async function withRetries<T>(attempts: number, fn: () => Promise<T>, reporter: Reporter): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts)
        throw new UserError(
          `Downloading Nix failed after ${attempts} attempts: ${(err as Error).message}.`,
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
