/**
 * The source of an earlier commit, extracted beside the bench's scratch bundles, so a change's effect is
 * measured against the code before it in the same run, on the same machine and load. Its CLI is bundled
 * with that commit's own `scripts/bundle.mjs`, and its bench workers with that commit's `bench/`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The commit before the memory work of issue 15 §2 (young-generation collections in the identity pass,
 * reused buffers for whole-file hashes). BENCH_BASELINE_REV picks another.
 */
export const DEFAULT_BASELINE_REV = '10e9c72';

/** Extracts `rev`'s src, scripts and bench into `dir`, with node_modules linked to the repo's. */
export function extractBaseline(repo: string, rev: string, dir: string): string {
  let commit: string;
  try {
    commit = execFileSync('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
      encoding: 'utf8',
    }).trim();
  } catch {
    throw new Error(
      `baseline commit ${rev} is not in this clone (a shallow clone? run git fetch --unshallow, or set BENCH_BASELINE_REV)`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const paths = ['src', 'scripts', 'bench', 'package.json', 'tsconfig.json'];
  const archive = execFileSync('git', ['-C', repo, 'archive', '--format=tar', commit, '--', ...paths], {
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return commit;
}
