/**
 * Bundles a bench worker (upload-worker or pass-worker) with esbuild (tsx's own, already installed) so it runs on plain Node like the
 * shipped ncc bundle: running it through tsx would add a loader thread (~17 MB) to every RSS figure.
 */

import { join } from 'node:path';
import { build } from 'esbuild';

export async function buildWorker(repo: string, name = 'upload-worker'): Promise<string> {
  const outfile = join(repo, 'bench', 'build', `${name}.mjs`);
  await build({
    entryPoints: [join(repo, 'bench', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // A native addon cannot be bundled; it resolves from node_modules next to bench/build.
    external: ['@node-rs/crc32'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}
