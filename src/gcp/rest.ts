import type { Credentials } from './auth.ts';
import type { ApiMethod } from './compute-api.ts';
import { GcpApiError, googleErrorMessage, isRetryableStatus, withCause } from './errors.ts';
import { DEFAULT_RETRY, GaveUp, type RetryPolicy, retrying } from './retry.ts';

/** One call of the Compute method `M` (compute-api.ts): only the query and body fields it defines. */
export interface RestRequest<M extends ApiMethod = never> {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path below the API base, e.g. `/projects/p/global/images`. */
  path: string;
  query?: M['query'];
  body?: M['body'];
  /** What we were doing, for error messages: "creating image x". */
  what: string;
  /** 404 resolves to undefined instead of throwing. */
  allowNotFound?: boolean;
  /** How long Google may rightly hold this call before answering (an operation's `wait`). */
  holdMs?: number;
}

/** One answer that was not a success: its status (0 for no answer at all) and body or network error. */
class Failure extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(text);
  }
}

/**
 * A small JSON REST client for Compute Engine. Every call is retried on 429, 5xx and network errors with
 * jittered backoff until the policy's deadline (the `retry-deadline` input); mutations are made safe to
 * retry by the caller (requestId where the method defines it, fingerprints on updates).
 *
 * Why not the `@google-cloud/compute` client: loading it (`require('@google-cloud/compute')`) costs about
 * a second of CPU and brings a Node process to about 290 MB of resident memory, against about 45 MB for
 * Node alone, for the dozen calls a run makes. We keep its value, Google's generated request and resource
 * types, through type-only imports (compute-api.ts): every call names its method, so a parameter or body
 * field the method does not define fails the typecheck, and nothing of the package is loaded or bundled.
 */
export class RestClient {
  constructor(
    readonly baseUrl: string,
    private readonly credentials: Credentials,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** Aborts every call and backoff (SIGINT, SIGTERM); pollers built on this client stop with it. */
    readonly signal?: AbortSignal,
  ) {}

  /** `T` is what the call returns; `M` the method (compute-api.ts) whose query and body it sends. */
  async call<T, M extends ApiMethod = never>(req: RestRequest<NoInfer<M>>): Promise<T> {
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>))
      if (v !== undefined) url.searchParams.set(k, String(v));
    try {
      return await retrying(
        this.retry,
        (err) => err instanceof Failure && (err.status === 0 || isRetryableStatus(err.status)),
        () => this.once<T>(url, req as RestRequest<ApiMethod>),
        this.signal,
        req.what,
      );
    } catch (err) {
      const failure = err instanceof GaveUp ? err.last : err;
      if (!(failure instanceof Failure)) throw err;
      const { message, reason } =
        failure.status === 0
          ? { message: failure.text, reason: undefined }
          : googleErrorMessage(failure.status, failure.text);
      const note = err instanceof GaveUp ? err.note : '';
      throw new GcpApiError(`${req.what} failed: ${message}${note}`, failure.status, reason);
    }
  }

  /**
   * How long one attempt may go unanswered before it counts as a broken connection: the retry deadline, so
   * a hung request cannot outlast it, or longer for a call Google may hold on purpose.
   */
  private attemptTimeoutMs(req: { holdMs?: number }): number {
    return Math.max(this.retry.deadlineMs, req.holdMs ?? 0);
  }

  private async once<T>(url: URL, req: RestRequest<ApiMethod>): Promise<T> {
    // Outside the try: missing credentials are the user's to fix, not a broken connection to retry.
    const headers = await this.credentials.headers();
    const timeoutMs = this.attemptTimeoutMs(req);
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: req.method,
        headers: {
          ...headers,
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: this.signal ? AbortSignal.any([this.signal, timeout]) : timeout,
      });
      text = await res.text();
    } catch (err) {
      if (this.signal?.aborted) throw err;
      if (timeout.aborted) throw new Failure(0, `no answer within ${Math.round(timeoutMs / 1000)}s`);
      throw new Failure(0, withCause(err as Error));
    }
    if (res.ok) return (text ? JSON.parse(text) : {}) as T;
    if (res.status === 404 && req.allowNotFound) return undefined as T;
    throw new Failure(res.status, text);
  }
}

/**
 * Every item of a paged list call: `page` fetches one page (the first with no token), `items` picks what it
 * holds; pages are read until one comes without a `nextPageToken`.
 */
export async function listAllPages<P extends { nextPageToken?: string }, T>(
  page: (pageToken: string | undefined) => Promise<P>,
  items: (page: P) => readonly T[],
): Promise<T[]> {
  const out: T[] = [];
  let pageToken: string | undefined;
  do {
    const res = await page(pageToken);
    out.push(...items(res));
    pageToken = res.nextPageToken;
  } while (pageToken);
  return out;
}
