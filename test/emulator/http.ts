import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import { type SurfaceMethod, unknownBodyError } from './conformance/surface.ts';
import type { EmulatorContext } from './context.ts';
import type { FaultRule } from './faults.ts';

/** Fields Google's newer front end adds to an error: the canonical `status` and typed `details`. */
export interface ErrorExtras {
  status?: string;
  details?: unknown[];
}

/** An error answered in Google's JSON shape: `{error: {code, message, errors: [{message, domain, reason}]}}`. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string = reasonFor(code),
    readonly extras: ErrorExtras = {},
  ) {
    super(message);
  }
}

function reasonFor(code: number): string {
  switch (code) {
    case 400:
      return 'invalid';
    case 401:
      return 'required';
    case 403:
      return 'forbidden';
    case 404:
      return 'notFound';
    case 409:
      return 'alreadyExists';
    case 412:
      return 'conditionNotMet';
    case 429:
      return 'rateLimitExceeded';
    case 503:
      return 'backendError';
    default:
      return code >= 500 ? 'backendError' : 'invalid';
  }
}

export function errorBody(code: number, message: string, reason = reasonFor(code), extras: ErrorExtras = {}) {
  return { error: { code, message, errors: [{ message, domain: 'global', reason }], ...extras } };
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  /** Path parameters, percent-decoded. A `{name*}` parameter holds the rest of the path. */
  params: Record<string, string>;
  /** A matched fault rule whose effect the handler applies (operation error, corrupted checksum). */
  fault: FaultRule | undefined;
  emulator: EmulatorContext;
  /** The request body. Always read it through this stream: it applies connection-reset faults. */
  body: () => Readable;
  /** The API method the request is a call of, when it is one (conformance/). */
  api?: SurfaceMethod;
}

export type Handler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

/** Routes `METHOD /a/{b}/c/{rest*}` patterns; first match in insertion order wins. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | undefined {
    const parts = pathname.split('/').filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { handler: route.handler, params };
    }
    return undefined;
  }

  /** True when some route has this path under another method (for 405 vs 404). */
  hasPath(pathname: string): boolean {
    const parts = pathname.split('/').filter(Boolean);
    return this.routes.some((r) => matchSegments(r.segments, parts) !== undefined);
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as string;
    if (seg.startsWith('{') && seg.endsWith('*}')) {
      const rest = parts.slice(i);
      if (rest.length === 0) return undefined;
      params[seg.slice(1, -2)] = rest.map(safeDecode).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith('{') && seg.endsWith('}')) params[seg.slice(1, -1)] = safeDecode(part);
    else if (seg !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiError(400, `Invalid percent-encoding in path segment "${s}".`);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, errorBody(err.code, err.message, err.reason, err.extras));
}

/** Reads a whole (small) body; for JSON metadata, never for object bytes. */
export async function readSmallBody(stream: Readable, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, `Request body larger than ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson<T = Record<string, unknown>>(ctx: RouteContext): Promise<T> {
  const buf = await readSmallBody(ctx.body());
  if (buf.length === 0) return {} as T;
  let body: T;
  try {
    body = JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw new ApiError(400, 'Parse Error: the request body is not valid JSON.', 'parseError');
  }
  checkBody(ctx, body);
  return body;
}

/** Google refuses a body field the method does not define before it does anything else. */
export function checkBody(ctx: RouteContext, body: unknown): void {
  const unknown = ctx.api?.unknownBodyField?.(body);
  if (unknown) throw unknownBodyError(unknown);
}

/**
 * Wraps the request body so that a `resetAfterBytes` fault destroys the connection once that many body
 * bytes have passed, as a broken network would.
 */
export function faultyBody(req: IncomingMessage, fault: FaultRule | undefined): Readable {
  const resetAt = fault?.resetAfterBytes;
  if (resetAt === undefined) return req;
  let seen = 0;
  const gate = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const room = resetAt - seen;
      seen += chunk.length;
      if (room > chunk.length) return done(null, chunk);
      if (room > 0) this.push(chunk.subarray(0, room));
      req.socket.destroy();
      done(new Error(`emulator fault: connection reset after ${resetAt} body bytes`));
    },
  });
  req.on('error', (e) => gate.destroy(e));
  return req.pipe(gate);
}
