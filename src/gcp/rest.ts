import type { Credentials } from './auth.ts';
import { GcpApiError, googleErrorMessage, isRetryableStatus } from './errors.ts';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, sleep } from './retry.ts';

export interface RestRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path below the API base, e.g. `/projects/p/global/images`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** What we were doing, for error messages: "creating image x". */
  what: string;
  /** 404 resolves to undefined instead of throwing. */
  allowNotFound?: boolean;
}

/**
 * A small JSON REST client for Compute Engine. Every call is retried on 429, 5xx and network errors with
 * jittered backoff until the policy's deadline; mutations are made safe to retry by the caller
 * (requestId on inserts, fingerprints on updates).
 */
export class RestClient {
  constructor(
    readonly baseUrl: string,
    private readonly credentials: Credentials,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** Aborts every call and backoff (SIGINT, SIGTERM); pollers built on this client stop with it. */
    readonly signal?: AbortSignal,
  ) {}

  async call<T>(req: RestRequest): Promise<T> {
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let text = '';
      try {
        const res = await fetch(url, {
          method: req.method,
          headers: {
            ...(await this.credentials.headers()),
            ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: this.signal,
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        if (this.signal?.aborted) throw err;
        text = (err as Error).message;
      }
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
      if (status === 404 && req.allowNotFound) return undefined as T;
      const retryable = status === 0 || isRetryableStatus(status);
      const delay = backoffDelay(this.retry, attempt);
      if (retryable && Date.now() - started + delay < this.retry.deadlineMs) {
        await sleep(delay, this.signal);
        continue;
      }
      const { message, reason } =
        status === 0 ? { message: text, reason: undefined } : googleErrorMessage(status, text);
      const tail = retryable && attempt > 0 ? ` (gave up after ${attempt + 1} attempts)` : '';
      throw new GcpApiError(`${req.what} failed: ${message}${tail}`, status, reason);
    }
  }
}
