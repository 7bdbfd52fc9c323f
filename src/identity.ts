import { fileSha256 } from './read-pieces.ts';

/** The label (on images) and metadata key (on objects) that marks what this tool made, and its value. */
export const MANAGED_BY_KEY = 'managed-by';
export const MANAGED_BY = 'nix-glab-runner';

/** `/nix/store/<hash>-<name>`, with the hash in Nix's base-32 alphabet (no e, o, u, t). */
const STORE_PATH = /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-[^/]*/;

/** The 32-character hash of a store path: `/nix/store/<hash>-<name>`. */
export function storePathHash(storePath: string): string | undefined {
  return STORE_PATH.exec(storePath)?.[1];
}

/**
 * The store path holding a prebuilt file, if it is inside one. Other files under /nix/store (such as
 * /nix/store/.links/...) have no store path hash, so they are hashed by content like any other file.
 */
export function storePathOf(file: string): string | undefined {
  return STORE_PATH.exec(file)?.[0];
}

/** Hex digits of a prebuilt tarball's SHA-256 that make its identity, as long as a store path hash. */
const IDENTITY_HASH_LENGTH = 32;

/**
 * Identity of a prebuilt tarball outside the store: the first 32 hex digits of its SHA-256, so the
 * same bytes always map to the same image.
 */
export function prebuiltIdentity(sha256Hex: string): string {
  return sha256Hex.slice(0, IDENTITY_HASH_LENGTH);
}

/** `prebuiltIdentity` of a file, read on its own (a publish takes the SHA-256 from its tarball check). */
export async function fileIdentityHash(path: string): Promise<string> {
  return prebuiltIdentity(await fileSha256(path));
}

export interface LabelSources {
  nixHash: string;
  user: Record<string, string>;
  env: NodeJS.ProcessEnv;
  flakeRev?: string;
}

/** Our labels win over nothing: user labels cannot use the reserved keys (config refuses them). */
export function imageLabels({ nixHash, user, env, flakeRev }: LabelSources): Record<string, string> {
  const gitSha = env.GITHUB_SHA ?? env.CI_COMMIT_SHA;
  return {
    ...user,
    [MANAGED_BY_KEY]: MANAGED_BY,
    'nix-hash': nixHash,
    ...(gitSha && /^[0-9a-f]{7,40}$/i.test(gitSha) ? { 'git-sha': gitSha.toLowerCase() } : {}),
    ...(flakeRev && /^[0-9a-f]{7,40}$/i.test(flakeRev) ? { 'flake-rev': flakeRev.toLowerCase() } : {}),
  };
}

export function imageDescription(
  flakeRef: string,
  flakeRev: string | undefined,
  userDescription?: string,
): string {
  const built = `Built by nix-glab-runner from ${flakeRef}${flakeRev ? ` at ${flakeRev}` : ''}.`;
  return (userDescription ? `${userDescription} ${built}` : built).slice(0, 2048);
}
