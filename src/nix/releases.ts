import { UserError } from '../errors.ts';

/**
 * Pinned Nix release tarballs (https://releases.nixos.org/nix/nix-V/nix-V-SYSTEM.tar.xz) and their
 * SHA-256, as published by the Nix project:
 * - 2.28.3: the hashes embedded in the official installer https://releases.nixos.org/nix/nix-2.28.3/install;
 * - 2.34.7: the published `.sha256` files, as pinned by projectbluefin/dakota elements/bluefin/nix.bst.
 * Any other version needs its hash as the nix-sha256 input: a hash fetched from the same server as the
 * tarball would prove nothing.
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
/** The `nix-version` default (src/config.ts); a test keeps it pinned for both systems. */
export const DEFAULT_NIX_VERSION = '2.28.3';
export const NIX_RELEASES_URL = 'https://releases.nixos.org/nix';

/** A SHA-256 in lower-case hex, as nix-sha256 and our pins give it. */
export function isSha256Hex(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

export type NixSystem = 'x86_64-linux' | 'aarch64-linux';

export function hostNixSystem(): NixSystem {
  if (process.platform === 'linux' && process.arch === 'x64') return 'x86_64-linux';
  if (process.platform === 'linux' && process.arch === 'arm64') return 'aarch64-linux';
  throw new UserError(
    `Installing Nix is supported on x86_64 and aarch64 Linux only, not ${process.platform}/${process.arch}; install Nix yourself.`,
    'install-nix',
  );
}

/**
 * The release tarball for a version and system and the SHA-256 it must have: ours when we pin the version,
 * else the one the user gave (nix-sha256). Throws a bad-input UserError when there is none, or when the
 * given one contradicts our pin.
 */
export function nixRelease(
  version: string,
  system: NixSystem,
  givenSha256?: string,
  releasesUrl = NIX_RELEASES_URL,
): { url: string; sha256: string } {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new UserError(
      `The nix-version input "${version}" must be an exact release such as ${DEFAULT_NIX_VERSION}.`,
      'nix-version',
    );
  }
  const url = `${releasesUrl}/nix-${version}/nix-${version}-${system}.tar.xz`;
  return { url, sha256: releaseSha256(version, system, givenSha256) };
}

/** See nixRelease; also used by config checks, before anything runs. */
export function releaseSha256(version: string, system: NixSystem, givenSha256?: string): string {
  const pinned = PINNED_NIX_RELEASES[version]?.[system];
  const given = givenSha256?.trim().toLowerCase() || undefined;
  if (given !== undefined && !isSha256Hex(given)) {
    throw new UserError('The nix-sha256 input must be 64 hex digits (a SHA-256).', 'nix-sha256');
  }
  if (pinned && given && given !== pinned) {
    throw new UserError(
      `The nix-sha256 input contradicts the SHA-256 this tool pins for nix-${version}-${system}.tar.xz (${pinned}); remove nix-sha256 or check the version.`,
      'nix-sha256',
    );
  }
  const sha256 = pinned ?? given;
  if (!sha256) {
    throw new UserError(
      `Nix ${version} is not a release this tool pins a hash for (${Object.keys(PINNED_NIX_RELEASES).join(', ')}); set nix-sha256 to the SHA-256 of nix-${version}-${system}.tar.xz from a source you trust, or pick a pinned nix-version.`,
      'nix-sha256',
    );
  }
  return sha256;
}
