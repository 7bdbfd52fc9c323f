import type { EmulatorContext } from '../context.ts';
import { ApiError, type RouteContext, sendJson } from '../http.ts';
import { baseUrl } from './common.ts';
import type { Operations } from './operations.ts';
import type { ComputeState, OperationRecord } from './state.ts';

/** What every compute module shares. */
export interface Core {
  ctx: EmulatorContext;
  state: ComputeState;
  ops: Operations;
}

export const P = '/compute/v1/projects/{project}';

export function base(core: Core, rc?: RouteContext): string {
  return baseUrl(rc?.req, core.ctx.url);
}

export function sendOperation(core: Core, rc: RouteContext, op: OperationRecord): void {
  sendJson(rc.res, 200, core.ops.view(op, base(core, rc)));
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `requestId` of a mutating call: GCE requires a non-zero UUID. Returns the operation a previous call
 * with the same id started, which is answered again instead of repeating the mutation.
 */
export function requestIdOf(
  core: Core,
  rc: RouteContext,
): { requestId?: string; previous?: OperationRecord } {
  const requestId = rc.url.searchParams.get('requestId');
  if (requestId === null) return {};
  if (!UUID_RE.test(requestId) || /^[0-]+$/.test(requestId)) {
    throw new ApiError(
      400,
      `Invalid value for field 'requestId': '${requestId}'. The request ID must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000).`,
      'invalid',
    );
  }
  const previous = core.ops.byRequestId(rc.params.project as string, requestId);
  return previous ? { requestId, previous } : { requestId };
}
