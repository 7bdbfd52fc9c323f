import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { gitTopLevel, isInside, isTracked } from './git.ts';

/**
 * The rule for an extra module file, which is copied into the world-readable Nix store: a regular file
 * inside the workspace, reached through no symlink, never under `.git/` (on GitHub `.git/config` holds the
 * checkout's auth header) nor a `gha-creds-*.json` credentials file; in a git workspace also tracked by
 * git, so only what the repository holds can enter the store. Returns the broken rule, phrased to follow
 * `Input "extra-modules" …`, or the file's absolute path.
 */
export function checkModuleFile(given: string, workspace: string): { path: string } | { broken: string } {
  const top = path.resolve(workspace);
  const absolute = path.resolve(top, given);
  const rel = path.relative(top, absolute);
  if (rel === '' || !isInside(absolute, top)) {
    return { broken: 'must name files inside the workspace' };
  }
  const segments = rel.split(path.sep);
  if (segments.includes('.git')) return { broken: 'must not name files under .git/' };
  if (/^gha-creds-.*\.json$/.test(segments.at(-1) ?? '')) {
    return { broken: 'must not name a gha-creds-*.json credentials file' };
  }
  // lstat each step below the workspace: a symlink anywhere could lead to .git/config or out of the workspace.
  let at = top;
  for (const [i, segment] of segments.entries()) {
    at = path.join(at, segment);
    let info: ReturnType<typeof lstatSync>;
    try {
      info = lstatSync(at);
    } catch {
      return { broken: 'must name files that exist, relative to the workspace' };
    }
    if (info.isSymbolicLink()) {
      return { broken: 'must name regular files inside the workspace, not symlinks or paths through them' };
    }
    const last = i === segments.length - 1;
    if (last && !info.isFile()) return { broken: 'must name regular files, not directories' };
  }
  const repo = gitTopLevel(top);
  if (repo !== undefined && !isTracked(repo, absolute)) {
    return { broken: 'must name files git tracks in this git workspace (git add and commit them)' };
  }
  return { path: realpathSync(absolute) };
}
