/**
 * The GitHub Action. `run()` is exported for @github/local-action; src/action.ts calls it when bundled.
 */
import * as core from '@actions/core';
import { parseConfig, readActionInputs } from './config.ts';
import { describeFailure } from './failure.ts';
import { publish } from './pipeline.ts';
import { githubReporter } from './report/github.ts';
import { summaryMarkdown } from './report/summary.ts';

export async function run(): Promise<void> {
  try {
    const raw = readActionInputs(process.env);
    // Mask before anything can print it.
    if (raw['github-token']) core.setSecret(raw['github-token']);
    const config = parseConfig(raw, {
      workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      ci: true,
      actionPath: process.env.GITHUB_ACTION_PATH,
    });
    const result = await publish(config, githubReporter(), { env: process.env });
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, value);
    // core.summary throws without GITHUB_STEP_SUMMARY (local runs, other CI).
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryMarkdown(result)).write();
  } catch (err) {
    const { message, exitCode } = describeFailure(err);
    core.setFailed(message);
    process.exitCode = exitCode;
  }
}
