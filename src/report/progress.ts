/** Progress figures for one stage: percentage, amount and rate, from bytes done so far. */
export interface ProgressLine {
  stage: string;
  pct: number | undefined;
  /** e.g. `512/1024 MiB`. */
  amount: string;
  /** e.g. `370 MiB/s`. */
  rate: string;
}

export function formatProgress(line: ProgressLine): string {
  return `${line.stage}: ${line.pct === undefined ? '' : `${line.pct}% `}${line.amount} (${line.rate})`;
}

/**
 * Decides when a progress update is worth printing in a log: at each further 10%, or every 10 s when the
 * total is unknown or progress is slow. `reset` starts a new stage.
 */
export function logThrottle(now: () => number = Date.now) {
  let started = 0;
  let lastPrint = 0;
  let lastDecile = -1;
  return {
    update(stage: string, done: number, total: number | undefined): ProgressLine | undefined {
      const t = now();
      if (started === 0) started = t;
      const line = measure(stage, done, total, started, t);
      const decile = line.pct === undefined ? -1 : Math.floor(line.pct / 10);
      if (decile <= lastDecile && t - lastPrint < 10_000) return undefined;
      lastDecile = Math.max(decile, lastDecile);
      lastPrint = t;
      return line;
    },
    /** For a redrawn terminal line: every update, with the figures, and whether to redraw now (≤ 10/s). */
    redraw(stage: string, done: number, total: number | undefined): ProgressLine | undefined {
      const t = now();
      if (started === 0) started = t;
      const line = measure(stage, done, total, started, t);
      if (t - lastPrint < 100 && line.pct !== 100) return undefined;
      lastPrint = t;
      return line;
    },
    reset() {
      started = 0;
      lastPrint = 0;
      lastDecile = -1;
    },
  };
}

function measure(
  stage: string,
  done: number,
  total: number | undefined,
  started: number,
  t: number,
): ProgressLine {
  const seconds = Math.max((t - started) / 1000, 0.001);
  return {
    stage,
    pct: total ? Math.min(100, Math.floor((done / total) * 100)) : undefined,
    amount: `${(done / 2 ** 20).toFixed(0)}${total ? `/${(total / 2 ** 20).toFixed(0)}` : ''} MiB`,
    rate: `${(done / 2 ** 20 / seconds).toFixed(0)} MiB/s`,
  };
}
