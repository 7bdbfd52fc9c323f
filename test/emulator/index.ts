import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ComputeService, createComputeService } from './compute/index.ts';
import {
  apiSurface,
  isUnknownNameRefusal,
  unknownQueryError,
  unknownQueryParameters,
} from './conformance/index.ts';
import { noteApiCall } from './conformance/suite-log.ts';
import type { EmulatorContext, EmulatorOptions, EmulatorService } from './context.ts';
import { type FaultRule, type FaultRuleInput, FaultRules } from './faults.ts';
import { ApiError, faultyBody, type RouteContext, Router, readJson, sendError, sendJson } from './http.ts';
import { isMutating, RequestLog } from './request-log.ts';
import { createStorageService, type StorageService } from './storage/index.ts';

export type { EmulatorOptions } from './context.ts';
export type { FaultRuleInput } from './faults.ts';

export interface Emulator {
  url: string;
  port: number;
  dataDir: string;
  requests: RequestLog;
  faults: FaultRules;
  storage: StorageService;
  compute: ComputeService;
  stop(): Promise<void>;
}

const DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  operationMs: 150,
  waitMaxMs: 2_000,
  instanceStepMs: 100,
  resumableSessionTtlMs: 7 * 24 * 3600 * 1000,
};

/**
 * Starts the Cloud Storage + Compute Engine emulator on loopback.
 * Admin paths under `/_emulator/` expose the request log and fault rules over HTTP.
 */
export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const options = { ...DEFAULTS, ...stripUndefined(opts) } as Required<EmulatorOptions>;
  const router = new Router();
  const ctx: EmulatorContext = {
    options,
    router,
    faults: new FaultRules(),
    requests: new RequestLog(),
    url: '',
    services: {},
  };
  addAdminRoutes(ctx);
  // Each service is registered as soon as it exists: compute looks storage up while it starts.
  const storage = createStorageService(ctx);
  ctx.services.storage = storage;
  const compute = createComputeService(ctx);
  ctx.services.compute = compute;
  const services: EmulatorService[] = [storage, compute];

  const server = createServer((req, res) => void handle(ctx, req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  ctx.url = `http://${options.host}:${port}`;

  return {
    url: ctx.url,
    port,
    dataDir: options.dataDir,
    requests: ctx.requests,
    faults: ctx.faults,
    storage,
    compute,
    async stop() {
      for (const s of services) await s.close?.();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handle(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', ctx.url || 'http://127.0.0.1');
  const admin = url.pathname.startsWith('/_emulator/');
  const fault = admin ? undefined : ctx.faults.take(method, url.pathname);
  const api = admin ? undefined : apiSurface().match(method, url.pathname);
  const unknownQuery = api ? unknownQueryParameters(api, url) : [];
  let refused: string | undefined;
  res.on('finish', () => {
    if (admin) return;
    ctx.requests.push({
      time: new Date().toISOString(),
      method,
      path: url.pathname,
      query: url.search,
      status: res.statusCode,
      mutating: isMutating(method, url.pathname, req.headers),
      ...(req.headers['x-emulator-batch'] ? { batch: true } : {}),
      ...(fault ? { fault: fault.id } : {}),
      ...(api ? { api: api.id } : {}),
      ...(refused ? { refused } : {}),
    });
    if (api)
      noteApiCall({
        api: api.id,
        ...(refused ? { refused } : {}),
        ...(req.headers['x-emulator-expect-refusal'] ? { expected: true } : {}),
      });
  });
  try {
    if (fault?.barrier) await ctx.faults.atBarrier(fault);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.status) {
      req.resume();
      throw new ApiError(fault.status, faultMessage(fault.status));
    }
    // Google refuses a query parameter the method does not define before anything else.
    if (unknownQuery[0] !== undefined) {
      req.resume();
      throw unknownQueryError(unknownQuery[0]);
    }
    const found = ctx.router.match(method, url.pathname);
    if (!found) {
      req.resume();
      if (ctx.router.hasPath(url.pathname))
        throw new ApiError(405, `Method ${method} is not allowed on ${url.pathname}.`);
      throw new ApiError(404, `Not Found: ${method} ${url.pathname}`);
    }
    const routeCtx: RouteContext = {
      req,
      res,
      method,
      url,
      params: found.params,
      fault,
      emulator: ctx,
      body: () => faultyBody(req, fault),
      ...(api ? { api } : {}),
    };
    await found.handler(routeCtx);
  } catch (err) {
    if (res.headersSent || !req.socket || req.socket.destroyed) {
      res.destroy();
      return;
    }
    if (isUnknownNameRefusal(err)) refused = err.message;
    if (err instanceof ApiError) sendError(res, err);
    else sendError(res, new ApiError(500, `Internal emulator error: ${(err as Error).message}`));
  }
}

function faultMessage(status: number): string {
  if (status === 429) return 'Rate Limit Exceeded (injected fault).';
  if (status === 503) return 'Service Unavailable: Backend Error (injected fault).';
  return `Injected fault with status ${status}.`;
}

function addAdminRoutes(ctx: EmulatorContext): void {
  const r = ctx.router;
  r.add('GET', '/_emulator/requests', ({ res }) => sendJson(res, 200, { requests: ctx.requests.entries }));
  r.add('DELETE', '/_emulator/requests', ({ res }) => {
    ctx.requests.clear();
    sendJson(res, 200, {});
  });
  r.add('GET', '/_emulator/faults', ({ res }) => sendJson(res, 200, { faults: ctx.faults.list() }));
  r.add('POST', '/_emulator/faults', async (c) => {
    const input = await readJson<FaultRuleInput>(c);
    if (typeof input.path !== 'string')
      throw new ApiError(400, 'A fault rule needs "path", a regular expression.');
    let rule: FaultRule;
    try {
      rule = ctx.faults.add(input);
    } catch (err) {
      throw new ApiError(400, `Bad fault rule: ${(err as Error).message}`);
    }
    sendJson(c.res, 200, rule);
  });
  r.add('DELETE', '/_emulator/faults', ({ res }) => {
    ctx.faults.clear();
    sendJson(res, 200, {});
  });
  r.add('DELETE', '/_emulator/faults/{id}', ({ res, params }) => {
    ctx.faults.remove(params.id as string);
    sendJson(res, 200, {});
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
