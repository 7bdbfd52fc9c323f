import { ApiError } from '../http.ts';
import type { ObjectRecord, Preconditions } from './state.ts';

const KEYS = [
  'ifGenerationMatch',
  'ifGenerationNotMatch',
  'ifMetagenerationMatch',
  'ifMetagenerationNotMatch',
] as const;

export function preconditionsFrom(query: URLSearchParams): Preconditions {
  const out: Preconditions = {};
  for (const key of KEYS) {
    const v = query.get(key);
    if (v === null) continue;
    if (!/^-?\d+$/.test(v)) throw new ApiError(400, `Invalid argument for parameter ${key}: "${v}".`);
    out[key] = v;
  }
  return out;
}

/**
 * Google's semantics: ifGenerationMatch=0 means "must not exist"; any other value must equal the live
 * generation. Metageneration conditions against a missing object fail. Unmet → 412 conditionNotMet.
 */
export function checkPreconditions(p: Preconditions, current: ObjectRecord | undefined): void {
  const gen = current?.generation;
  const meta = current ? String(current.metageneration) : undefined;
  const unmet =
    (p.ifGenerationMatch !== undefined &&
      (p.ifGenerationMatch === '0' ? current !== undefined : gen !== p.ifGenerationMatch)) ||
    (p.ifGenerationNotMatch !== undefined &&
      (p.ifGenerationNotMatch === '0' ? current === undefined : gen === p.ifGenerationNotMatch)) ||
    (p.ifMetagenerationMatch !== undefined && meta !== p.ifMetagenerationMatch) ||
    (p.ifMetagenerationNotMatch !== undefined && (meta === undefined || meta === p.ifMetagenerationNotMatch));
  if (unmet)
    throw new ApiError(
      412,
      'At least one of the pre-conditions you specified did not hold.',
      'conditionNotMet',
    );
}
