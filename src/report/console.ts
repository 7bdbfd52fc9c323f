import type { Reporter } from './events.ts';
import { formatProgress, logThrottle } from './progress.ts';
import { visibleLine } from './visible-line.ts';

export interface ConsoleOptions {
  /** Where logs go: stderr when stdout carries `--json`. */
  out: NodeJS.WritableStream;
  verbose: boolean;
  /** Redraw a progress bar in place (a terminal) or print throttled lines (CI logs). */
  tty: boolean;
  now?: () => number;
}

const BAR_WIDTH = 30;

/** Plain lines for CI logs (GitLab, local runs); a redrawn progress bar on a terminal. */
export function consoleReporter(opts: ConsoleOptions): Reporter {
  const now = opts.now ?? Date.now;
  const write = (line: string) => opts.out.write(`${line}\n`);
  const throttle = logThrottle(now);
  let barDrawn = false;
  const endBar = () => {
    if (barDrawn) opts.out.write('\n');
    barDrawn = false;
  };
  return {
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    debug: (m) => (opts.verbose ? write(`debug: ${m}`) : undefined),
    async group(title, fn) {
      write(`==> ${title}`);
      const started = now();
      throttle.reset();
      try {
        return await fn();
      } finally {
        endBar();
        if (opts.verbose) write(`    (${title}: ${((now() - started) / 1000).toFixed(1)}s)`);
      }
    },
    progress(stage, done, total) {
      if (!opts.tty) {
        const line = throttle.update(stage, done, total);
        if (line) write(formatProgress(line));
        return;
      }
      const line = throttle.redraw(stage, done, total);
      if (!line) return;
      const filled = line.pct === undefined ? 0 : Math.round((line.pct / 100) * BAR_WIDTH);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
      opts.out.write(`\r${stage} ${bar} ${line.pct ?? '?'}% ${line.amount} ${line.rate}   `);
      barDrawn = true;
    },
    log: (line) => write(`    ${visibleLine(line)}`),
  };
}
