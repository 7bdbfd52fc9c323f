#!/usr/bin/env node
/**
 * `nix-glab-runner` on a terminal or in GitLab CI. `--version` and `--help` load nothing heavy, so they
 * answer at once; the pipeline and the Google clients load only for a real command.
 */
import { PUBLISH_OUTPUTS, parseConfig, VERSION } from '../config.ts';
import { ExitCode } from '../errors.ts';
import { describeFailure } from '../failure.ts';
import { handleInterrupts, type Interruption } from '../interrupt.ts';
import { helpText, parseArgs } from './args.ts';
import { failureJson, outputsJson } from './json-output.ts';

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (err) {
    return fail(err, { json: argv.includes('--json') });
  }
  if (args.command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  if (args.command === 'help') {
    process.stdout.write(`${helpText(args.topic)}\n`);
    return ExitCode.Ok;
  }

  const [{ runCommand }, { planTable }, { consoleReporter }, { outputsTable }] = await Promise.all([
    import('../lifecycle/commands.ts'),
    import('../lifecycle/plan.ts'),
    import('../report/console.ts'),
    import('../report/summary.ts'),
  ]);
  const out = args.json ? process.stderr : process.stdout;
  const reporter = consoleReporter({
    out,
    verbose: args.verbose,
    tty: Boolean(out.isTTY) && process.env.CI !== 'true',
  });
  const interruption = handleInterrupts({
    stopping: (signal) => reporter.warn(`${signal} received; stopping (a second signal stops at once).`),
    exitNow: (message) => {
      process.stderr.write(`error: ${message}\n`);
      if (args.json) process.stdout.write(`${failureJson(undefined, message, ExitCode.Interrupted)}\n`);
    },
  });
  try {
    const config = parseConfig(args.raw, {
      workspace: process.cwd(),
      ci: process.env.CI === 'true',
      command: args.command,
    });
    const result = await runCommand(config, reporter, {
      env: process.env,
      signal: interruption.signal,
      state: interruption.state,
    });
    // Outputs that do not apply to the command stay out of the way.
    const shown = Object.fromEntries(
      Object.entries(result.outputs).filter(
        ([k, v]) => v !== '' || (config.command === 'publish' && PUBLISHED.has(k)),
      ),
    );
    if (args.json) {
      const { plan, ...rest } = shown;
      process.stdout.write(`${outputsJson(rest, config.dryRun ? result.plan : undefined)}\n`);
    } else {
      if (config.dryRun)
        process.stdout.write(`\nDry run, nothing changed. Plan:\n${planTable(result.plan)}\n`);
      const { plan: _plan, ...rest } = shown;
      process.stdout.write(`\n${outputsTable(rest)}\n`);
    }
    return ExitCode.Ok;
  } catch (err) {
    return fail(err, { json: args.json, interruption });
  } finally {
    interruption.dispose();
  }
}

/** Publish's own outputs are always printed, empty or not, as before the lifecycle commands existed. */
const PUBLISHED: ReadonlySet<string> = new Set(PUBLISH_OUTPUTS);

/** One `error:` line on stderr and, with `--json`, the failure as one JSON object on stdout. */
function fail(err: unknown, how: { json: boolean; interruption?: Interruption }): number {
  const { message, exitCode } = describeFailure(err, how.interruption);
  process.stderr.write(`error: ${message}\n`);
  if (how.json) process.stdout.write(`${failureJson(err, message, exitCode)}\n`);
  if (exitCode === ExitCode.Failed && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(ExitCode.Failed);
  },
);
