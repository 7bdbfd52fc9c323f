/**
 * The GitHub Action. `run()` is exported for @github/local-action; src/action.ts calls it when bundled.
 * The `command` input picks publish (the default), roll, prune or rollback.
 */
import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import { actionCommand, type Command, INPUTS, parseConfig, readActionInputs } from './config.ts';
import { describeFailure } from './failure.ts';
import { handleInterrupts } from './interrupt.ts';
import { runCommand } from './lifecycle/commands.ts';
import { planTable } from './lifecycle/plan.ts';
import { interruptedSummaryMarkdown, jobSummaryMarkdown } from './lifecycle/summary.ts';
import { ACCESS_TOKENS_LINE } from './nix/install.ts';
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
    for (const value of secretValues(raw)) core.setSecret(value);
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
 * The values to mask: every secret input, and for nix.conf text (extra-nix-config) the tokens of its
 * access-tokens lines rather than the whole text.
 */
function secretValues(raw: Record<string, string | undefined>): Set<string> {
  const values = new Set<string>();
  for (const spec of INPUTS) {
    const value = raw[spec.name];
    if (!spec.secret || !value) continue;
    if (spec.name !== 'extra-nix-config') {
      values.add(value);
      continue;
    }
    for (const line of value.match(ACCESS_TOKENS_LINE) ?? []) {
      // `access-tokens = host=token host=PAT:token`: mask the token, which also masks `PAT:token`.
      for (const entry of line
        .slice(line.indexOf('=') + 1)
        .trim()
        .split(/\s+/)) {
        const token = entry.slice(entry.indexOf('=') + 1).replace(/^(?:PAT|OAuth2):/, '');
        if (token) values.add(token);
      }
    }
  }
  return values;
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
