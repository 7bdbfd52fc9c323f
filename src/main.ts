/**
 * The GitHub Action. `run()` is exported for @github/local-action; src/action.ts calls it when bundled.
 * The `command` input picks publish (the default), roll, prune or rollback.
 */
import * as core from '@actions/core';
import { actionCommand, parseConfig, readActionInputs } from './config.ts';
import { describeFailure } from './failure.ts';
import { runCommand } from './lifecycle/commands.ts';
import { planTable } from './lifecycle/plan.ts';
import { jobSummaryMarkdown } from './lifecycle/summary.ts';
import { githubReporter } from './report/github.ts';

export async function run(): Promise<void> {
  try {
    const raw = readActionInputs(process.env);
    // Mask before anything can print it.
    if (raw['github-token']) core.setSecret(raw['github-token']);
    const command = actionCommand(raw);
    const config = parseConfig(raw, {
      workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      ci: true,
      actionPath: process.env.GITHUB_ACTION_PATH,
      command,
    });
    const result = await runCommand(config, githubReporter(), { env: process.env });
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, value);
    if (config.dryRun) core.info(`Dry run, nothing changed. Plan:\n${planTable(result.plan)}`);
    // core.summary throws without GITHUB_STEP_SUMMARY (local runs, other CI).
    if (process.env.GITHUB_STEP_SUMMARY) {
      await core.summary.addRaw(jobSummaryMarkdown(result)).write();
    }
  } catch (err) {
    const { message, exitCode } = describeFailure(err);
    core.setFailed(message);
    process.exitCode = exitCode;
  }
}
