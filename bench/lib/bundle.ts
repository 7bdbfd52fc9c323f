/**
 * Cold start and bundle size (issue 8 §4), measured on bundles built by `npm run bundle`, plus the
 * one dependency question worth measuring: hash-wasm's index pulls in every algorithm's WASM, while we use
 * only CRC32. Two one-line entries are bundled with esbuild and their load times compared.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type CpuTimed, timedCommand } from './timed-cpu.ts';

export interface BundleResult {
  coldstart: CpuTimed;
  node_baseline: CpuTimed;
  action_load: CpuTimed;
  cli_bytes: number;
  cli_eager_bytes: number;
  action_bytes: number;
  hash_wasm: {
    index_bytes: number;
    crc32_only_bytes: number;
    index_load: CpuTimed;
    crc32_only_load: CpuTimed;
  };
}

function dirBytes(dir: string, skip = /licenses\.txt$/): number {
  return readdirSync(dir)
    .filter((f) => !skip.test(f))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

export async function bundleFigures(repo: string, dist: string, runs: number): Promise<BundleResult> {
  const cliDir = join(dist, 'cli');
  const mainDir = join(dist, 'main');
  for (const f of [join(cliDir, 'index.js'), join(mainDir, 'index.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run bundle\` first`);
  }
  const quiet: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const node_baseline = await timedCommand(['-e', ''], runs);
  const coldstart = await timedCommand([join(cliDir, 'index.js'), '--version'], runs);
  // The action runs on import; with no INPUT_* it loads everything, fails validation and exits: load time.
  const action_load = await timedCommand([join(mainDir, 'index.js')], runs, quiet);

  const outDir = join(repo, 'bench', 'build');
  const probe = async (name: string, source: string) => {
    const entry = join(outDir, `${name}.entry.mjs`);
    const outfile = join(outDir, `${name}.mjs`);
    writeFileSync(entry, source);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'error',
    });
    return { bytes: statSync(outfile).size, load: await timedCommand([outfile], runs) };
  };
  const index = await probe(
    'hash-wasm-index',
    "import { createCRC32 } from 'hash-wasm';\nawait createCRC32(0x82f63b78);\n",
  );
  const only = await probe(
    'hash-wasm-crc32',
    "import hw from 'hash-wasm/dist/crc32.umd.min.js';\nawait hw.createCRC32(0x82f63b78);\n",
  );
  return {
    coldstart,
    node_baseline,
    action_load,
    cli_bytes: dirBytes(cliDir),
    cli_eager_bytes: statSync(join(cliDir, 'index.js')).size,
    action_bytes: dirBytes(mainDir),
    hash_wasm: {
      index_bytes: index.bytes,
      crc32_only_bytes: only.bytes,
      index_load: index.load,
      crc32_only_load: only.load,
    },
  };
}
