/**
 * Issue 15 §1: an unchanged publish on a runner whose store does not hold the image. The fixture's
 * `slowImage` takes 25 s to build. It is published once (built), its output path is deleted from the local
 * store, and the unchanged publish is timed; `built` says whether that publish put the output path back.
 * The full build of the same derivation is timed in the same run, after those publishes.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateImage } from '../../src/nix/build.ts';
import { silentReporter } from '../../src/report/events.ts';
import { cleanEnv } from '../../test/component/helpers.ts';
import { fixtureRepo, requireNix, workspace } from '../../test/nix-stage/helpers.ts';
import { publishArgs, publishOutputs } from './cli-json.ts';
import { createBucket } from './clients.ts';
import { mustSucceed, runTimed } from './proc.ts';
import { median } from './stats.ts';

export interface NoopColdResult {
  seconds: number;
  built: boolean;
  build_seconds: number;
  ratio_vs_build: number;
  first_publish_seconds: number;
  runs_seconds: number[];
}

export async function noopCold(dist: string, emulatorUrl: string, rounds: number): Promise<NoopColdResult> {
  const cli = join(dist, 'cli', 'index.js');
  requireNix();
  await createBucket(emulatorUrl, 'noop-cold', 'noop-cold-images');
  const flake = fixtureRepo();
  const ws = workspace({});
  try {
    const env = cleanEnv();
    const evaluated = await evaluateImage(
      { flake, flakeAttr: 'slowImage', extraModules: [], workspace: ws, system: 'x86_64-linux' },
      silentReporter,
    );
    const out = evaluated.storePath;
    const removeOutput = async () => {
      if (!existsSync(out)) return;
      mustSucceed(await runTimed('nix-store', ['--delete', out], { env }), `nix-store --delete ${out}`);
      if (existsSync(out)) throw new Error(`${out} is still in the store (a GC root holds it?)`);
    };
    const publish = () =>
      runTimed(
        process.execPath,
        publishArgs(
          cli,
          emulatorUrl,
          { project: 'noop-cold', bucket: 'noop-cold-images', family: 'noop-cold' },
          ['--flake', flake, '--flake-attr', 'slowImage'],
        ),
        { cwd: ws, env, timeoutMs: 600_000 },
      );

    await removeOutput();
    const first = mustSucceed(await publish(), 'first publish (builds slowImage)');
    publishOutputs(first.stdout, false, 'first publish');

    const times: number[] = [];
    let built = false;
    for (let i = 0; i < rounds; i++) {
      await removeOutput();
      const run = mustSucceed(await publish(), 'unchanged publish');
      if (publishOutputs(run.stdout, true, 'unchanged publish')['store-path'] !== out)
        throw new Error(`the unchanged publish was not a no-op of ${out}: ${run.stdout}`);
      times.push(run.seconds);
      built ||= existsSync(out);
    }

    await removeOutput();
    const build = mustSucceed(
      await runTimed('nix-store', ['--realise', evaluated.drvPath], { env, timeoutMs: 600_000 }),
      'nix-store --realise (full build)',
    );
    const seconds = median(times);
    return {
      seconds,
      built,
      build_seconds: build.seconds,
      ratio_vs_build: seconds / build.seconds,
      first_publish_seconds: first.seconds,
      runs_seconds: times,
    };
  } finally {
    // fixtureRepo() and workspace() make ngr-test-* directories under the system temp dir.
    for (const dir of [flake, ws]) rmSync(dir, { recursive: true, force: true });
  }
}
