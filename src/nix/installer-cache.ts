import { constants, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Reporter } from '../report/events.ts';

/**
 * Where downloaded Nix release tarballs are kept between runs. The installer runs as root, so the cache
 * must be one only this user can write: a tarball in it is still hashed before every use, and a directory
 * anyone else could write to is not used at all.
 */
export function installerCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.RUNNER_TOOL_CACHE || env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'nix-glab-runner');
}

/**
 * Makes `dir` a private directory: creates it 0700, or accepts an existing real directory (never a symlink)
 * owned by this user that neither group nor others can write, narrowing its mode to 0700. Returns why
 * not otherwise; the caller then works without a cache.
 */
export async function privateDir(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return `it cannot be created (${(err as Error).message})`;
  }
  const info = await lstat(dir);
  if (info.isSymbolicLink()) return 'it is a symbolic link';
  if (!info.isDirectory()) return 'it is not a directory';
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) return `it belongs to user ${info.uid}, not to us (${uid})`;
  if ((info.mode & 0o022) !== 0) {
    return `group or others may write to it (mode ${(info.mode & 0o777).toString(8)}), so anything in it may be planted`;
  }
  if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  return undefined;
}

/**
 * Copies the cached tarball, if there is one, into `dest` without following a symlink. The copy, which
 * nobody else can change, is what the caller verifies and unpacks. False when there is none.
 */
export async function copyCached(cacheDir: string, name: string, dest: string): Promise<boolean> {
  const handle = await open(join(cacheDir, name), constants.O_RDONLY | constants.O_NOFOLLOW).catch(
    () => undefined,
  );
  if (!handle) return false;
  try {
    if (!(await handle.stat()).isFile()) return false;
    await pipeline(handle.createReadStream({ autoClose: false }), createWriteStream(dest, { mode: 0o600 }));
    return true;
  } finally {
    await handle.close();
  }
}

/** Stores a verified tarball in the cache: written beside its final name, then renamed into place. */
export async function storeInCache(cacheDir: string, file: string, reporter: Reporter): Promise<void> {
  const name = basename(file);
  const partial = join(cacheDir, `.${name}.${process.pid}.partial`);
  try {
    const handle = await open(file, constants.O_RDONLY);
    try {
      await pipeline(
        handle.createReadStream({ autoClose: false }),
        createWriteStream(partial, { mode: 0o600 }),
      );
    } finally {
      await handle.close();
    }
    await rename(partial, join(cacheDir, name));
  } catch (err) {
    await rm(partial, { force: true });
    reporter.debug(`Could not cache ${name} in ${cacheDir}: ${(err as Error).message}`);
  }
}

/** Removes a cached tarball that failed verification, so the next run does not try it again. */
export async function dropCached(cacheDir: string, name: string): Promise<void> {
  await rm(join(cacheDir, name), { force: true });
}
