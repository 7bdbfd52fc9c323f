// Bundles the action and the CLI with ncc into dist/. CI rebuilds and fails when dist/ differs from git.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const entries = [
  { src: 'src/action.ts', out: 'dist/main' },
  { src: 'src/cli/index.ts', out: 'dist/cli' },
];
for (const { src, out } of entries) {
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    'ncc',
    [
      'build',
      src,
      '-o',
      out,
      '--minify',
      '--license',
      'licenses.txt',
      '--quiet',
      '--target',
      'es2023',
      '--transpile-only',
    ],
    { stdio: 'inherit' },
  );
}
// ncc keeps the shebang of the entry; make the CLI executable for `npx` and the flake's wrapper.
const cli = 'dist/cli/index.js';
const text = readFileSync(cli, 'utf8');
if (!text.startsWith('#!')) writeFileSync(cli, `#!/usr/bin/env node\n${text}`);
chmodSync(cli, 0o755);
