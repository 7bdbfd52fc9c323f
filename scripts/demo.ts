/**
 * `npm run demo`: a whole publish on this machine, no Google account needed. It starts the local
 * emulator, makes a tiny builder flake (the upstream `builders.<system>.gceImage` interface, no nixpkgs)
 * plus one extra NixOS module, and runs `nix-glab-runner publish` twice: the first run builds, uploads
 * and creates the image; the second finds the same build already published and does nothing.
 *
 * `npm run demo -- --workdir DIR` publishes once more from an earlier demo's directory, against an emulator
 * started on that demo's data: after an edit of DIR/infra/runner.nix, a new image joins the first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { startEmulator } from '../test/emulator/index.ts';

const root = join(import.meta.dirname, '..');
const PROJECT = 'demo-project';
const BUCKET = 'demo-runner-images';

function requireTool(tool: string, hint: string): void {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`The demo needs ${tool}: ${hint}`);
    process.exit(1);
  }
}
requireTool('nix', 'run "bash scripts/setup.sh" (installs Debian\'s nix-bin) or install Nix from nixos.org.');
requireTool('git', 'install git.');

function demoOptions(): { workdir?: string } {
  try {
    return parseArgs({ options: { workdir: { type: 'string' } } }).values;
  } catch (err) {
    console.error(`${(err as Error).message.replace(/\.?$/, '.')} The demo takes only --workdir DIR.`);
    process.exit(2);
  }
}
const values = demoOptions();
const again = values.workdir !== undefined;
const work = again ? resolve(values.workdir as string) : mkdtempSync(join(tmpdir(), 'nix-glab-runner-demo-'));
const flake = join(work, 'builder-flake');
const workspace = join(work, 'infra');
if (again && !existsSync(join(workspace, 'runner.nix'))) {
  console.error(
    `--workdir ${work} is not a demo's directory (it has no infra/runner.nix): run "npm run demo" first.`,
  );
  process.exit(2);
}
if (!again) {
  cpSync(join(root, 'test/fixtures/builder-flake'), flake, { recursive: true });
  for (const args of [
    ['init', '-q'],
    ['add', '.'],
    ['-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', 'commit', '-q', '-m', 'demo'],
  ]) {
    spawnSync('git', ['-C', flake, ...args], { stdio: 'inherit' });
  }
  cpSync(join(root, 'examples/demo'), workspace, { recursive: true });
}

// The emulator keeps its buckets and images in the data directory, so a later --workdir run sees them.
const emulator = await startEmulator({ dataDir: join(work, 'emulator') });
const bucket = new Storage({ apiEndpoint: emulator.url, projectId: PROJECT }).bucket(BUCKET);
if (!(await bucket.exists())[0]) await bucket.create();
console.log(
  `Emulator at ${emulator.url} (data in ${join(work, 'emulator')}); bucket gs://${BUCKET} ready.\n`,
);

const args = [
  'publish',
  '--flake',
  flake,
  '--extra-modules',
  'runner.nix',
  '--project',
  PROJECT,
  '--bucket',
  BUCKET,
  '--storage-endpoint',
  emulator.url,
  '--compute-endpoint',
  emulator.url,
];
const nixConfig = [process.env.NIX_CONFIG, 'experimental-features = nix-command flakes', 'substituters =']
  .filter(Boolean)
  .join('\n');

async function publish(title: string): Promise<void> {
  console.log(`\n### ${title}\n$ nix-glab-runner ${args.join(' ')}\n`);
  emulator.requests.clear();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist/cli/index.js'), ...args], {
      cwd: workspace,
      stdio: 'inherit',
      env: { ...process.env, NIX_CONFIG: nixConfig },
    });
    child.on('close', resolve);
  });
  const calls = emulator.requests.entries.map((e) => `${e.method} ${e.path} -> ${e.status}`);
  console.log(`\n(${calls.length} API calls, ${emulator.requests.mutating().length} of them mutating)`);
  if (code !== 0) {
    await emulator.stop();
    process.exit(code ?? 1);
  }
}

if (again) {
  await publish(`Publish ${join(workspace, 'runner.nix')} again: a new image if it changed`);
} else {
  await publish('First run: build, upload, create the image');
  await publish('Second run, nothing changed: nothing to do');
}

const images = (await (
  await fetch(`${emulator.url}/compute/v1/projects/${PROJECT}/global/images`)
).json()) as {
  items?: { name: string; family: string; status: string; labels: Record<string, string> }[];
};
console.log('\nImages in the emulator:');
for (const i of images.items ?? [])
  console.log(`  ${i.name}  family=${i.family}  ${i.status}  labels=${JSON.stringify(i.labels)}`);
writeFileSync(join(work, 'README.txt'), `Demo workspace of nix-glab-runner; safe to delete.\n`);
console.log(
  `\nThe demo's files are in ${work}. Edit ${join(workspace, 'runner.nix')}, then publish it as a new image with:\n  npm run demo -- --workdir ${work}`,
);
await emulator.stop();
