export interface LoggedRequest {
  time: string;
  method: string;
  path: string;
  query: string;
  status: number;
  /** True for calls that change state; status queries and operation waits are not. */
  mutating: boolean;
  /** Set for requests that arrived inside a batch envelope. */
  batch?: boolean;
  /** Set when a fault rule fired for this request. */
  fault?: string;
  /** The API method called, e.g. `compute.images.insert`, when the request is a call of one. */
  api?: string;
  /** Set when the emulator refused a query parameter or body field the method does not define. */
  refused?: string;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isMutating(
  method: string,
  path: string,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  if (READ_METHODS.has(method)) return false;
  if (/\/operations\/[^/]+\/wait$/.test(path)) return false;
  // Compute's read-only custom methods are POSTs too: listManagedInstances, listErrors, listPerInstanceConfigs.
  if (/\/list[A-Za-z]*$/.test(path)) return false;
  // The batch envelope is not a call of its own; its parts are logged one by one.
  if (path.startsWith('/batch/')) return false;
  // A resumable-upload status query (`Content-Range: bytes */N`) only reads.
  const range = headers['content-range'];
  if (method === 'PUT' && typeof range === 'string' && /^bytes \*\//.test(range)) return false;
  return true;
}

export class RequestLog {
  readonly entries: LoggedRequest[] = [];

  push(entry: LoggedRequest): void {
    this.entries.push(entry);
  }

  clear(): void {
    this.entries.length = 0;
  }

  mutating(): LoggedRequest[] {
    return this.entries.filter((e) => e.mutating);
  }

  /** Entries whose `METHOD path` matches the expression, e.g. `/^POST \/upload\//`. */
  matching(pattern: RegExp): LoggedRequest[] {
    return this.entries.filter((e) => pattern.test(`${e.method} ${e.path}`));
  }
}
