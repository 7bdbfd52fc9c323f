import { randomUUID } from 'node:crypto';

/**
 * A fault rule. It matches requests by method and a regular expression on the path (query excluded),
 * lets the first `skip` matches through, then fires for the next `count` matches (default: every match) or
 * with `probability`, and has one effect.
 */
export interface FaultRuleInput {
  method?: string;
  /** Regular expression source matched against the URL path, e.g. `^/upload/storage/v1/`. */
  path: string;
  /** Let this many matching requests through before the rule fires (e.g. to hit the second of a kind). */
  skip?: number;
  count?: number;
  probability?: number;
  /** Answer with this status and Google's error shape instead of handling the request. */
  status?: number;
  /** Wait this long before handling (or failing) the request. */
  delayMs?: number;
  /**
   * Hold each matching request until this many have arrived, then let them all through together: two
   * runs meet at this call whatever their timing before it. After `barrierTimeoutMs` (default 60 s) a held
   * request goes on alone, so a run that never arrives fails the test instead of hanging it.
   */
  barrier?: number;
  barrierTimeoutMs?: number;
  /** Destroy the connection after this many request-body bytes. */
  resetAfterBytes?: number;
  /** The operation this request starts ends DONE with this error. */
  operationError?: { code: string; message: string };
  /** Storage answers with a wrong crc32c/md5Hash for the object. */
  corruptChecksum?: boolean;
}

export interface FaultRule extends FaultRuleInput {
  id: string;
  hits: number;
  skipped: number;
}

export class FaultRules {
  private rules: FaultRule[] = [];
  /** Releases of the requests held at each rule's barrier, by rule id. */
  private held = new Map<string, (() => void)[]>();

  add(input: FaultRuleInput): FaultRule {
    new RegExp(input.path); // throws early on a bad pattern
    const rule: FaultRule = { ...input, id: randomUUID(), hits: 0, skipped: 0 };
    this.rules.push(rule);
    return rule;
  }

  remove(id: string): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  list(): readonly FaultRule[] {
    return this.rules;
  }

  /** Resolves once `rule.barrier` requests have reached it, or after its timeout. */
  async atBarrier(rule: FaultRule): Promise<void> {
    const waiting = this.held.get(rule.id) ?? [];
    if (rule.hits >= (rule.barrier ?? 0)) {
      this.held.delete(rule.id);
      for (const release of waiting) release();
      return;
    }
    this.held.set(rule.id, waiting);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, rule.barrierTimeoutMs ?? 60_000);
      waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The first rule that fires for this request; counts it and retires exhausted rules. */
  take(method: string, path: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (!new RegExp(rule.path).test(path)) continue;
      if (rule.skipped < (rule.skip ?? 0)) {
        rule.skipped++;
        continue;
      }
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      rule.hits++;
      if (rule.count !== undefined && rule.hits >= rule.count) this.remove(rule.id);
      return rule;
    }
    return undefined;
  }
}
