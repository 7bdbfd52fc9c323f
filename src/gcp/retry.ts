import type { Reporter } from '../report/events.ts';

export interface RetryPolicy {
  /** Give up once this much time has passed since the first failure (or since the last progress). */
  deadlineMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Told of each failed attempt that will be retried, so a long retry is never silent. */
  notify?: (notice: RetryNotice) => void;
}

/** A failed attempt that will be retried: what the call was, why it failed, and how long is left. */
export interface RetryNotice {
  what: string;
  /** Failures so far in this run of retries, 1 for the first. */
  failures: number;
  error: unknown;
  /** The wait before the next attempt. */
  delayMs: number;
  /** Time left before the retry deadline. */
  leftMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { deadlineMs: 120_000, initialDelayMs: 500, maxDelayMs: 16_000 };

/** Our backoff, bounded by the `retry-deadline` input (seconds), reporting its retries to `reporter`. */
export function retryPolicy(deadlineSeconds: number, reporter?: Reporter): RetryPolicy {
  return {
    ...DEFAULT_RETRY,
    deadlineMs: deadlineSeconds * 1000,
    ...(reporter ? { notify: retryReporter(reporter) } : {}),
  };
}

/**
 * The first retry of a call is said once (what failed, why, and for how long it will be retried); with
 * verbose output every further attempt is said too.
 */
function retryReporter(reporter: Reporter): (notice: RetryNotice) => void {
  return (n) => {
    const why = retryCause(n.error);
    const left = `${Math.ceil(n.leftMs / 1000)}s`;
    if (n.failures === 1) reporter.info(`${n.what}: ${why}; retrying for up to ${left} (retry-deadline).`);
    reporter.debug(
      `${n.what}: attempt ${n.failures} failed (${why}); next attempt in ${(n.delayMs / 1000).toFixed(1)}s, ${left} left.`,
    );
  };
}

/** Why an attempt failed, in a few words: the HTTP status or the connection error. */
function retryCause(err: unknown): string {
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.code === 'number' ? e.code : 0;
  const message = (typeof e.message === 'string' ? e.message : String(err)).split('\n')[0] ?? '';
  const short = message.length > 160 ? `${message.slice(0, 157)}...` : message;
  return status >= 100 ? `HTTP ${status}${short ? ` (${short})` : ''}` : short || 'no answer';
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, initial * 2^attempt)]. */
function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
  return Math.round(Math.random() * ceiling);
}

/** The end of a message for a call retried until the deadline: " (gave up after 7 attempts over 4.6s)". */
function gaveUpNote(attempts: number, elapsedMs: number): string {
  return ` (gave up after ${attempts} attempts over ${(elapsedMs / 1000).toFixed(1)}s)`;
}

/** The last error of a call that failed transiently until the deadline; `note` says how long we tried. */
export class GaveUp extends Error {
  override name = 'GaveUp';
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly elapsedMs: number,
  ) {
    super(last instanceof Error ? last.message : String(last));
  }

  get note(): string {
    return gaveUpNote(this.attempts, this.elapsedMs);
  }
}

/**
 * Runs `attempt` until it resolves, throws an error `retryable` refuses (thrown as it is), or the deadline
 * has passed since the first failure (the last error is thrown inside a GaveUp): a slow first answer does
 * not use up the retries. The last backoff is cut short so that one more attempt lands at the deadline
 * rather than giving up early. An attempt that made progress (bytes an upload session took) calls
 * `progressed`: the clock and the backoff start again at the next failure.
 */
export async function retrying<T>(
  policy: RetryPolicy,
  retryable: (err: unknown) => boolean,
  attempt: (n: number, progressed: () => void) => Promise<T>,
  signal?: AbortSignal,
  what = 'a Google Cloud call',
): Promise<T> {
  let since = 0;
  let failures = 0;
  const progressed = () => {
    failures = 0;
  };
  for (let n = 0; ; n++) {
    try {
      return await attempt(n, progressed);
    } catch (err) {
      if (signal?.aborted || !retryable(err)) throw err;
      if (failures++ === 0) since = Date.now();
      const left = policy.deadlineMs - (Date.now() - since);
      if (left <= 0) throw failures > 1 ? new GaveUp(err, failures, Date.now() - since) : err;
      const delayMs = Math.min(backoffDelay(policy, failures - 1), left);
      policy.notify?.({ what, failures, error: err, delayMs, leftMs: left });
      await sleep(delayMs, signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Stops waiting for `work` once `signal` aborts, for calls that take no signal (the storage library's). */
export function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
