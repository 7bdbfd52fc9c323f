import { randomBytes } from 'node:crypto';
import type { EmulatorContext } from '../context.ts';
import type { FaultRule } from '../faults.ts';
import { ApiError } from '../http.ts';
import { link, newId, notFound, render, timestamp } from './common.ts';
import type { ComputeState, Json, OperationRecord } from './state.ts';

/**
 * Runs an operation's side effect once it may be DONE. `failed` is true when the operation already carries
 * an error (an injected fault), so the effect can mark its resource FAILED instead of applying. Returning
 * `false` means "not ready yet" (e.g. the tarball is still being read); the operation stays RUNNING.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: most effects return nothing, which means "applied".
export type Effect = (op: OperationRecord, failed: boolean) => boolean | undefined | void;

export interface StartOperation {
  project: string;
  scope: string;
  operationType: string;
  targetPath: string;
  targetId?: string;
  effect?: Json & { kind: string };
  fault?: FaultRule;
  requestId?: string;
  /** Error known up front that still belongs in the operation, not the HTTP answer. */
  error?: { code: string; message: string; httpStatus?: number };
}

const HTTP_TEXT: Record<number, string> = {
  400: 'BAD REQUEST',
  404: 'NOT FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION FAILED',
};

/** Global, regional and zonal operations: PENDING → RUNNING → DONE over `operationMs`. */
export class Operations {
  private readonly effects = new Map<string, Effect>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly state: ComputeState,
    private readonly ctx: EmulatorContext,
  ) {}

  onDone(kind: string, effect: Effect): void {
    this.effects.set(kind, effect);
  }

  /** Picks up operations left unfinished by a previous emulator run. */
  resume(): void {
    for (const op of Object.values(this.state.value.operations)) if (!op.finished) this.schedule(op, 0);
  }

  /** The operation a `requestId` already started, if any (GCE answers a retried insert with it). */
  byRequestId(project: string, requestId: string | null): OperationRecord | undefined {
    if (!requestId) return undefined;
    const name = this.state.value.requestIds[`${project}/${requestId}`];
    return name ? this.state.value.operations[name] : undefined;
  }

  start(s: StartOperation): OperationRecord {
    const now = Date.now();
    const hex = () => randomBytes(4).toString('hex');
    const name = `operation-${now}-${randomBytes(6).toString('hex')}-${hex()}-${hex()}`;
    const body: Json = {
      kind: 'compute#operation',
      id: newId(),
      name,
      operationType: s.operationType,
      targetLink: link(s.targetPath),
      ...(s.targetId ? { targetId: s.targetId } : {}),
      user: 'emulator@nix-glab-runner.local',
      insertTime: timestamp(now),
      selfLink: link(`projects/${s.project}/${s.scope}/operations/${name}`),
    };
    if (s.scope.startsWith('zones/')) body.zone = link(`projects/${s.project}/${s.scope}`);
    if (s.scope.startsWith('regions/')) body.region = link(`projects/${s.project}/${s.scope}`);
    const op: OperationRecord = {
      project: s.project,
      scope: s.scope,
      body,
      insertMs: now,
      doneMs: now + this.ctx.options.operationMs,
      finished: false,
      ...(s.effect ? { effect: s.effect } : {}),
    };
    const faultErr = s.fault?.operationError;
    if (faultErr) op.error = { ...faultErr };
    else if (s.error) op.error = s.error;
    this.state.value.operations[name] = op;
    if (s.requestId) this.state.value.requestIds[`${s.project}/${s.requestId}`] = name;
    this.state.save();
    this.schedule(op, this.ctx.options.operationMs);
    return op;
  }

  /** Finds an operation by name or numeric id within its scope; 404 otherwise. */
  get(project: string, scope: string, nameOrId: string): OperationRecord {
    const ops = this.state.value.operations;
    const op =
      ops[nameOrId] ??
      Object.values(ops).find((o) => o.body.id === nameOrId && o.project === project && o.scope === scope);
    if (!op || op.project !== project || op.scope !== scope) {
      throw notFound(`projects/${project}/${scope}/operations/${nameOrId}`);
    }
    this.tryFinish(op);
    return op;
  }

  list(project: string, scope: string): OperationRecord[] {
    return Object.values(this.state.value.operations)
      .filter((o) => o.project === project && o.scope === scope)
      .sort((a, b) => a.insertMs - b.insertMs);
  }

  delete(project: string, scope: string, nameOrId: string): void {
    const op = this.get(project, scope, nameOrId);
    delete this.state.value.operations[op.body.name as string];
    this.state.save();
  }

  /** Resolves when the operation is DONE or after `maxMs`, whichever comes first. */
  async wait(op: OperationRecord, maxMs: number): Promise<void> {
    if (op.finished) return;
    const name = op.body.name as string;
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(name) ?? new Set();
      this.waiters.set(name, set);
      const done = () => {
        clearTimeout(t);
        set.delete(done);
        resolve();
      };
      const t = setTimeout(done, maxMs);
      set.add(done);
    });
  }

  /** The API body at this moment. */
  view(op: OperationRecord, base: string): Json {
    const now = Date.now();
    const started = op.insertMs + Math.floor(this.ctx.options.operationMs / 3);
    const body: Json = { ...op.body };
    if (op.finished) {
      body.status = 'DONE';
      body.progress = 100;
      body.startTime = timestamp(started);
      body.endTime = timestamp(Math.max(op.doneMs, started));
      if (op.error) {
        body.error = { errors: [{ code: op.error.code, message: op.error.message }] };
        const http = op.error.httpStatus ?? 400;
        body.httpErrorStatusCode = http;
        body.httpErrorMessage = HTTP_TEXT[http] ?? 'BAD REQUEST';
      }
    } else if (now < started) {
      body.status = 'PENDING';
      body.progress = 0;
    } else {
      body.status = 'RUNNING';
      body.startTime = timestamp(started);
      const span = Math.max(1, op.doneMs - started);
      body.progress = Math.min(99, Math.floor(((now - started) / span) * 100));
    }
    return render(body, base);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const set of this.waiters.values()) for (const w of [...set]) w();
  }

  private schedule(op: OperationRecord, delayMs: number): void {
    if (this.closed) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.tryFinish(op) && !op.finished) this.schedule(op, 20);
      },
      Math.max(0, delayMs),
    );
    this.timers.add(t);
  }

  /** Runs the effect once the operation's time is up; true when it is DONE. */
  private tryFinish(op: OperationRecord): boolean {
    if (op.finished) return true;
    if (Date.now() < op.doneMs) return false;
    const effect = op.effect ? this.effects.get(op.effect.kind) : undefined;
    if (effect) {
      // biome-ignore lint/suspicious/noConfusingVoidType: see Effect.
      let ready: boolean | undefined | void;
      try {
        ready = effect(op, op.error !== undefined);
      } catch (err) {
        // An effect that finds the world changed under it (stale fingerprint, vanished target) fails the operation.
        const e = err instanceof ApiError ? err : new ApiError(500, (err as Error).message);
        op.error = { code: operationCode(e), message: e.message, httpStatus: e.code };
      }
      if (ready === false) return false;
    }
    op.finished = true;
    op.doneMs = Math.max(op.doneMs, Date.now());
    this.state.save();
    const set = this.waiters.get(op.body.name as string);
    if (set) for (const w of [...set]) w();
    return true;
  }
}

/** GCE's operation error codes for the HTTP-ish failures effects raise. */
export function operationCode(e: ApiError): string {
  switch (e.reason) {
    case 'notFound':
      return 'RESOURCE_NOT_FOUND';
    case 'alreadyExists':
      return 'RESOURCE_ALREADY_EXISTS';
    case 'conditionNotMet':
      return 'CONDITION_NOT_MET';
    case 'resourceInUseByAnotherResource':
      return 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE';
    default:
      return e.code >= 500 ? 'INTERNAL_ERROR' : 'INVALID_USAGE';
  }
}
