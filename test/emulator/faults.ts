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
