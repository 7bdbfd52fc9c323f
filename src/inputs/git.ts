/** Where a path lies and what git tracks: the checks that keep untracked workspace files out of the Nix store. */
import { execFileSync } from 'node:child_process';
import { isAbsolute, relative, resolve } from 'node:path';

/** True when `child` is `parent` or lies below it (by path only; symlinks are not followed). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel));
}

/** The top directory of the git work tree holding `dir`, or undefined outside git. */
export function gitTopLevel(dir: string): string | undefined {
  try {
    return (
      execFileSync('git', ['-C', dir, 'rev-parse', '--show-toplevel'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined
    );
  } catch {
    return undefined; // not a repository, or git is absent: treated the same
  }
}

/** Whether git tracks `file` (absolute, or relative to `top`) in the work tree at `top`. */
export function isTracked(top: string, file: string): boolean {
  try {
    execFileSync('git', ['-C', top, 'ls-files', '--error-unmatch', '--', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
