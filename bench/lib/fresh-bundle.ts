/**
 * Builds the bundles of the current source with the repo's own `scripts/bundle.mjs` (same ncc flags), into
 * a scratch directory: dist/ in the work tree may be stale or half rebuilt, and the bench must not write it.
 * The scratch directory links src, scripts and node_modules back to the repo; ncc resolves through them.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { mustSucceed, runTimed } from './proc.ts';

export async function buildFreshBundles(repo: string, scratch: string): Promise<string> {
  mkdirSync(scratch, { recursive: true });
  for (const entry of ['src', 'scripts', 'node_modules', 'package.json', 'tsconfig.json']) {
    symlinkSync(join(repo, entry), join(scratch, entry));
  }
  const env = { ...process.env, PATH: `${join(repo, 'node_modules', '.bin')}:${process.env.PATH}` };
  mustSucceed(
    await runTimed(process.execPath, [join(scratch, 'scripts', 'bundle.mjs')], {
      cwd: scratch,
      env,
      timeoutMs: 300_000,
    }),
    'npm run bundle (scratch)',
  );
  return join(scratch, 'dist');
}
