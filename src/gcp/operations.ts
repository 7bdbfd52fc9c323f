import type { OperationsWait } from './compute-api.ts';
import { GcpApiError } from './errors.ts';
import { lastSegment } from './resource-path.ts';
import type { RestClient } from './rest.ts';

export interface Operation {
  name: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  operationType?: string;
  targetLink?: string;
  zone?: string;
  region?: string;
  progress?: number;
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
  error?: { errors?: { code?: string; message?: string }[] };
}

/** `operations.wait` answers within about two minutes, done or not; a little more before it counts as hung. */
const WAIT_HOLD_MS = 150_000;

/** The operations collection an operation lives in: global, regional or zonal. */
function operationPath(project: string, op: Operation): string {
  if (op.zone) return `/projects/${project}/zones/${lastSegment(op.zone)}/operations/${op.name}`;
  if (op.region) return `/projects/${project}/regions/${lastSegment(op.region)}/operations/${op.name}`;
  return `/projects/${project}/global/operations/${op.name}`;
}

/**
 * Waits until the operation is DONE. `operations.wait` returns after at most ~2 minutes even when not
 * done, so this loops; then it turns `error.errors[]` into an error carrying GCE's own message.
 */
export async function waitForOperation(
  rest: RestClient,
  project: string,
  op: Operation,
  opts: { timeoutMs: number; what: string; onPoll?: (op: Operation) => void },
): Promise<Operation> {
  const deadline = Date.now() + opts.timeoutMs;
  let current = op;
  while (current.status !== 'DONE') {
    rest.signal?.throwIfAborted();
    if (Date.now() >= deadline) {
      throw new GcpApiError(
        `${opts.what} did not finish within ${Math.round(opts.timeoutMs / 1000)}s (operation ${current.name} is ${current.status}); it goes on in Google Cloud, and the next run picks it up instead of starting another`,
        504,
        'timeout',
      );
    }
    current = await rest.call<Operation, OperationsWait>({
      method: 'POST',
      path: `${operationPath(project, current)}/wait`,
      what: `${opts.what}: waiting for operation ${current.name}`,
      holdMs: WAIT_HOLD_MS,
    });
    opts.onPoll?.(current);
  }
  const errors = current.error?.errors ?? [];
  if (errors.length > 0) {
    const message = errors.map((e) => e.message ?? e.code).join('; ');
    throw new GcpApiError(
      `${opts.what} failed: ${message}`,
      current.httpErrorStatusCode ?? 400,
      errors[0]?.code,
    );
  }
  return current;
}
