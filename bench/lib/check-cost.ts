/**
 * Issue 17 §1: what checking the whole tarball costs. The identity pass of a prebuilt tarball used to be
 * a SHA-256 of the file alone (`fileIdentityHash`); it now also gunzips and walks the tar in the same read
 * (`inspectImageTarball`). Both are timed on the same file, interleaved, plus the check alone (the pass a
 * Nix-built tarball gets). Wall and CPU (user + system, all threads: zlib inflates on the thread pool).
 */
import { fileIdentityHash } from '../../src/identity.ts';
import { inspectImageTarball } from '../../src/nix/image-file.ts';
import { median, rotate } from './stats.ts';

export interface PassCost {
  seconds: number;
  cpu_seconds: number;
}

export interface CheckCost {
  hash_only: PassCost;
  check_only: PassCost;
  hash_and_check: PassCost;
  /** (hash and check) / (hash only), wall: the identity pass's cost of the check. */
  ratio_vs_hash_only: number;
}

export async function checkCost(file: string, rounds: number): Promise<CheckCost> {
  const passes = {
    hash_only: () => fileIdentityHash(file),
    check_only: () => inspectImageTarball(file),
    hash_and_check: () => inspectImageTarball(file, { sha256: true }),
  };
  const runs: Record<keyof typeof passes, PassCost[]> = { hash_only: [], check_only: [], hash_and_check: [] };
  const names = Object.keys(passes) as (keyof typeof passes)[];
  for (let r = 0; r < rounds; r++) {
    for (const name of rotate(names, r)) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await passes[name]();
      const used = process.cpuUsage(cpu);
      runs[name].push({
        seconds: (performance.now() - started) / 1000,
        cpu_seconds: (used.user + used.system) / 1e6,
      });
    }
  }
  const med = (xs: PassCost[]): PassCost => ({
    seconds: median(xs.map((x) => x.seconds)),
    cpu_seconds: median(xs.map((x) => x.cpu_seconds)),
  });
  const result = {
    hash_only: med(runs.hash_only),
    check_only: med(runs.check_only),
    hash_and_check: med(runs.hash_and_check),
  };
  return { ...result, ratio_vs_hash_only: result.hash_and_check.seconds / result.hash_only.seconds };
}
