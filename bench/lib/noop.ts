/**
 * No-op rebuild (issue 8 §3): publish the fixture flake once, then time publishes of the unchanged
 * build through the bundled CLI, and time the Nix part alone (the same evaluateImage the CLI runs) in the
 * same rounds. Calls are counted from the emulator's request log.
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

export interface NoopResult {
  publish_seconds: number;
  nix_eval_seconds: number;
  seconds: number;
  api_calls: number;
  calls: string[];
}

interface Logged {
  method: string;
  path: string;
}

export async function noopRebuild(dist: string, emulatorUrl: string, rounds: number): Promise<NoopResult> {
  const cli = join(dist, 'cli', 'index.js');
  if (!existsSync(cli)) throw new Error('dist/cli/index.js is missing: run `npm run bundle` first');
  requireNix();
  await createBucket(emulatorUrl, 'noop-bench', 'noop-images');
  const flake = fixtureRepo();
  const ws = workspace({ 'runner.nix': '{ services.example.enable = true; }\n' });
  try {
    const env = cleanEnv();
    const publish = () =>
      runTimed(
        process.execPath,
        publishArgs(
          cli,
          emulatorUrl,
          { project: 'noop-bench', bucket: 'noop-images', family: 'noop-runners' },
          ['--flake', flake, '--extra-modules', 'runner.nix'],
        ),
        { cwd: ws, env, timeoutMs: 600_000 },
      );
    // The first publish builds, uploads and creates the image; only the later ones are no-ops.
    const first = mustSucceed(await publish(), 'first publish');
    publishOutputs(first.stdout, false, 'first publish');

    const publishTimes: number[] = [];
    const nixTimes: number[] = [];
    let calls: string[] = [];
    for (let i = 0; i < rounds; i++) {
      await fetch(`${emulatorUrl}/_emulator/requests`, { method: 'DELETE' });
      const run = mustSucceed(await publish(), 'no-op publish');
      publishOutputs(run.stdout, true, 'publish of an unchanged build');
      publishTimes.push(run.seconds);
      const log = (await (await fetch(`${emulatorUrl}/_emulator/requests`)).json()) as { requests: Logged[] };
      calls = log.requests.map((r) => `${r.method} ${r.path}`);

      const started = performance.now();
      // The Nix part of an unchanged publish is the evaluation alone: nothing is built.
      await evaluateImage(
        { flake, extraModules: ['runner.nix'], workspace: ws, system: 'x86_64-linux' },
        silentReporter,
      );
      nixTimes.push((performance.now() - started) / 1000);
    }
    const publish_seconds = median(publishTimes);
    const nix_eval_seconds = median(nixTimes);
    return {
      publish_seconds,
      nix_eval_seconds,
      seconds: publish_seconds - nix_eval_seconds,
      api_calls: calls.length,
      calls,
    };
  } finally {
    // fixtureRepo() and workspace() make ngr-test-* directories under the system temp dir.
    for (const dir of [flake, ws]) rmSync(dir, { recursive: true, force: true });
  }
}
