import * as core from '@actions/core';
import type { Reporter } from './events.ts';
import { formatProgress, logThrottle } from './progress.ts';

/** GitHub Actions: one folded group per stage, warnings as annotations, throttled progress lines. */
export function githubReporter(): Reporter {
  const throttle = logThrottle();
  return {
    info: (m) => core.info(m),
    warn: (m) => core.warning(m),
    debug: (m) => core.debug(m),
    group: (title, fn) => {
      throttle.reset();
      return core.group(title, fn);
    },
    progress(stage, done, total) {
      const line = throttle.update(stage, done, total);
      if (line) core.info(formatProgress(line));
    },
    log: (line) => core.info(line),
  };
}
