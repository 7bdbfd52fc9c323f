/** A Google API call that failed. `message` is Google's own text, verbatim, prefixed with what we were doing. */
export class GcpApiError extends Error {
  override name = 'GcpApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * Another writer changed what we were changing, between our read and our write (Google answers such races
 * with 409 or 412). The message says what changed and what to do; the exit code is that of a failed call.
 */
export class ConflictError extends GcpApiError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(message, 409, 'conflict');
  }
}

/** Pulls Google's message out of `{error: {code, message, errors: [...]}}`, or falls back to the raw text. */
export function googleErrorMessage(status: number, text: string): { message: string; reason?: string } {
  try {
    const body = JSON.parse(text) as { error?: { message?: string; errors?: { reason?: string }[] } };
    const message = body.error?.message;
    if (message) return { message, reason: body.error?.errors?.[0]?.reason };
  } catch {
    // not JSON: use the text
  }
  return { message: text.trim().slice(0, 500) || `HTTP ${status}` };
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** fetch says only "fetch failed"; the reason (refused, reset, timed out) is in its cause. */
export function withCause(err: Error): string {
  const cause = err.cause as { message?: string; code?: string } | undefined;
  if (!cause?.message || err.message.includes(cause.message)) return err.message;
  return `${err.message} (${cause.code ? `${cause.code}: ` : ''}${cause.message})`;
}
