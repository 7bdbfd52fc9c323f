/**
 * The GitHub Action. `run()` is exported for @github/local-action; src/action.ts calls it when bundled.
 * The `command` input picks publish (the default), roll, prune or rollback.
 */
import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import { actionCommand, type Command, parseConfig, readActionInputs } from './config.ts';
import { describeFailure } from './failure.ts';
import { handleInterrupts } from './interrupt.ts';
import { runCommand } from './lifecycle/commands.ts';
import { planTable } from './lifecycle/plan.ts';
import { interruptedSummaryMarkdown, jobSummaryMarkdown } from './lifecycle/summary.ts';
import { githubReporter } from './report/github.ts';

export async function run(): Promise<void> {
  const reporter = githubReporter();
  let command: Command = 'publish';
  const interruption = handleInterrupts({
    stopping: (signal) => reporter.warn(`${signal} received; stopping (a second signal stops at once).`),
    exitNow: (message) => {
      reporter.resumeCommands();
      reportInterruption(command, message);
    },
  });
  try {
    const raw = readActionInputs(process.env);
    // Mask before anything can print it.
    if (raw['github-token']) core.setSecret(raw['github-token']);
    command = actionCommand(raw);
    const config = parseConfig(raw, {
      workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      ci: true,
      actionPath: process.env.GITHUB_ACTION_PATH,
      command,
    });
    const result = await runCommand(config, reporter, {
      env: process.env,
      signal: interruption.signal,
      state: interruption.state,
    });
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, value);
    if (config.dryRun) core.info(`Dry run, nothing changed. Plan:\n${planTable(result.plan)}`);
    // core.summary throws without GITHUB_STEP_SUMMARY (local runs, other CI).
    if (process.env.GITHUB_STEP_SUMMARY) {
      await core.summary.addRaw(jobSummaryMarkdown(result)).write();
    }
  } catch (err) {
    const { message, exitCode } = describeFailure(err, interruption);
    reporter.resumeCommands();
    if (interruption.received) reportInterruption(command, message);
    else core.setFailed(message);
    process.exitCode = exitCode;
  } finally {
    interruption.dispose();
  }
}

/**
 * The failure line and the job summary of an interrupted run. Synchronous, because after a second signal
 * the process exits right away.
 */
function reportInterruption(command: string, message: string): void {
  core.setFailed(message);
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) appendFileSync(summary, interruptedSummaryMarkdown(command, message));
}
