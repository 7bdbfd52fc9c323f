import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';
import type { Reporter } from './events.ts';
import { formatProgress, logThrottle } from './progress.ts';
import { visibleLine } from './visible-line.ts';

/**
 * GitHub Actions: one folded group per stage, warnings as annotations, throttled progress lines.
 *
 * The runner reads workflow commands (`::set-output …`, `::add-mask::`, `##[error]…`) from every line a
 * step prints, so lines we did not write (the build log) are printed between `::stop-commands::<token>`
 * and `::<token>::`, with a fresh random token each time: nothing in them is run as a command. Our own
 * messages resume command processing first, so their annotations still work.
 */
export function githubReporter(): Reporter & { resumeCommands(): void } {
  const throttle = logThrottle();
  let stopToken: string | undefined;
  const resume = () => {
    if (stopToken === undefined) return;
    core.info(`::${stopToken}::`);
    stopToken = undefined;
  };
  const ours =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      resume();
      fn(...args);
    };
  return {
    /** For the entry point's own commands (`::error::`) outside the reporter: a failure mid-build. */
    resumeCommands: resume,
    info: ours((m: string) => core.info(m)),
    warn: ours((m: string) => core.warning(m)),
    debug: ours((m: string) => core.debug(m)),
    group: (title, fn) => {
      resume();
      throttle.reset();
      return core.group(title, async () => {
        try {
          return await fn();
        } finally {
          // Before ::endgroup::, which must be read as a command.
          resume();
        }
      });
    },
    progress: ours((stage: string, done: number, total: number | undefined) => {
      const line = throttle.update(stage, done, total);
      if (line) core.info(formatProgress(line));
    }),
    log: (line) => {
      if (stopToken === undefined) {
        stopToken = randomBytes(16).toString('hex');
        core.info(`::stop-commands::${stopToken}`);
      }
      core.info(visibleLine(line));
    },
  };
}
