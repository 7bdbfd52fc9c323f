import type { FaultRules } from './faults.ts';
import type { Router } from './http.ts';
import type { RequestLog } from './request-log.ts';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Where objects and state live; a restart with the same directory resumes. */
  dataDir: string;
  /** Time an operation takes from PENDING to DONE (Compute). */
  operationMs?: number;
  /** Longest an `operations.wait` call blocks before answering the current state (Google: ~2 min). */
  waitMaxMs?: number;
  /** Time for one simulated instance step in a managed group (create, delete, boot). */
  instanceStepMs?: number;
  /** Lifetime of a resumable upload session (Google: one week). */
  resumableSessionTtlMs?: number;
}

/** What every service sees of the emulator. */
export interface EmulatorContext {
  readonly options: Required<EmulatorOptions>;
  readonly router: Router;
  readonly faults: FaultRules;
  readonly requests: RequestLog;
  /** The base URL, e.g. `http://127.0.0.1:41234`; set once listening. */
  url: string;
  /** Services look each other up here, e.g. compute asks storage whether an object exists. */
  readonly services: Record<string, unknown>;
}

export interface EmulatorService {
  /** Stop timers; state is already on disk. */
  close?(): Promise<void> | void;
}
