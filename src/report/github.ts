import * as core from '@actions/core';
import type { Reporter } from './events.ts';

/** GitHub Actions: one folded group per stage, warnings as annotations, throttled progress lines. */
export function githubReporter(): Reporter {
  let lastPrint = 0;
  let lastDecile = -1;
  return {
    info: (m) => core.info(m),
    warn: (m) => core.warning(m),
    debug: (m) => core.debug(m),
    group: (title, fn) =>
      core.group(title, async () => {
        lastDecile = -1;
        return fn();
      }),
    progress(stage, done, total) {
      const pct = total ? Math.floor((done / total) * 100) : undefined;
      const decile = pct === undefined ? -1 : Math.floor(pct / 10);
      const t = Date.now();
      if (decile > lastDecile || t - lastPrint >= 10_000) {
        lastDecile = Math.max(decile, lastDecile);
        lastPrint = t;
        core.info(`${stage}: ${pct === undefined ? '' : `${pct}% `}${(done / 2 ** 20).toFixed(0)} MiB`);
      }
    },
    log: (line) => core.info(line),
  };
}
