import { stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { gitTopLevel, isInside, isTracked } from '../inputs/git.ts';

/**
 * Turns the `flake` input into a flake reference Nix can fetch without copying secrets into the store.
 * - A URL-like reference (`github:o/r`, `git+https://…`) is used as given; `path:` only outside the
 *   workspace, since it copies a directory wholesale.
 * - A local directory in a git repository becomes `git+file://<top>?dir=<sub>`: Nix then copies only
 *   git-tracked files, so an untracked `gha-creds-*.json` never reaches the store.
 * - A local directory outside git becomes `path:` only when it lies outside the workspace (e.g. the
 *   action's own checkout, which GitHub downloads without .git); the workspace itself must be git.
 * `input` names the input for error messages (`flake`).
 */
export async function resolveFlakeRef(flake: string, workspace: string, input = 'flake'): Promise<string> {
  const trimmed = flake.trim();
  if (trimmed === '')
    throw new UserError(
      `The ${input} input is empty; give a flake reference such as github:owner/repo or a directory.`,
      input,
    );
  if (/^path:/i.test(trimmed)) {
    // path: copies a directory wholesale, credentials included: never for the workspace.
    const target = resolve(workspace, decodeURIComponent(trimmed.slice(5).replace(/[?#].*$/, '')));
    if (isInside(target, workspace) || isInside(workspace, target)) {
      throw new UserError(
        `The ${input} input "${flake}" would copy the whole workspace into the world-readable Nix store (credential files included); name the directory instead (e.g. "."), which uses git-tracked files only.`,
        input,
      );
    }
    return trimmed;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return trimmed;
  const dir = resolve(workspace, trimmed);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    // Not a directory: leave indirect references (registry names) to Nix, refuse path-looking ones.
    if (/^[.~/]/.test(trimmed) || trimmed.includes('/')) {
      throw new UserError(`The ${input} input "${flake}" is not a directory (resolved to ${dir}).`, input);
    }
    return trimmed;
  }
  // A plain string join: ncc's asset relocator would copy every flake.nix it can see for resolve(dir, 'flake.nix').
  if (!(await stat(`${dir}/flake.nix`).catch(() => undefined))) {
    throw new UserError(`The ${input} input "${flake}" points at ${dir}, which has no flake.nix.`, input);
  }
  const top = gitTopLevel(dir);
  if (top === undefined) {
    if (isInside(dir, workspace) || isInside(workspace, dir)) {
      throw new UserError(
        `The ${input} input "${flake}" is a directory of the workspace that is not a git repository; only git-tracked files may enter the Nix store (credential files live in the workspace), so check it out with git.`,
        input,
      );
    }
    return `path:${dir}`;
  }
  const sub = relative(top, dir);
  if (!isTracked(top, sub === '' ? 'flake.nix' : `${sub}/flake.nix`)) {
    throw new UserError(
      `The ${input} input "${flake}" has a flake.nix that git does not track; Nix only sees git-tracked files, so git add it.`,
      input,
    );
  }
  return `git+file://${top}${sub === '' ? '' : `?dir=${encodeURIComponent(sub).replaceAll('%2F', '/')}`}`;
}
