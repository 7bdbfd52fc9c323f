import { ApiError } from '../http.ts';
import type { Json } from './state.ts';

const ACTIONS = ['NONE', 'REFRESH', 'RESTART', 'REPLACE'] as const;
export type Action = (typeof ACTIONS)[number];

export function actionRank(a: unknown): number {
  const i = ACTIONS.indexOf(a as Action);
  return i < 0 ? 3 : i;
}

const invalid = (field: string, value: unknown, why: string) =>
  new ApiError(
    400,
    `Invalid value for field 'resource.updatePolicy.${field}': '${typeof value === 'object' ? JSON.stringify(value) : String(value)}'. ${why}`,
    'invalid',
  );

/** A `FixedOrPercent` as GCE reports it, with `calculated` filled in. */
export function calculate(v: Json | undefined, targetSize: number, roundUp: boolean): Json {
  if (v && typeof v.percent === 'number') {
    const exact = (v.percent * targetSize) / 100;
    return { percent: v.percent, calculated: roundUp ? Math.ceil(exact) : Math.floor(exact) };
  }
  const fixed = typeof v?.fixed === 'number' ? v.fixed : 0;
  return { fixed, calculated: fixed };
}

/**
 * Fills GCE's defaults into an update policy and validates it against the group (docs/architecture.md, "Rolling a
 * managed instance group"): maxSurge/maxUnavailable default to the number of zones, at least one > 0,
 * percentages need ≥ 10 instances, a regional fixed value is 0 or ≥ the number of zones, RECREATE needs
 * maxSurge 0, and a stateful group refuses PROACTIVE.
 */
export function normalizeUpdatePolicy(
  input: Json | undefined,
  o: { zones: number; regional: boolean; targetSize: number; stateful: boolean },
): Json {
  const p: Json = { ...(input ?? {}) };
  p.type ??= 'OPPORTUNISTIC';
  p.minimalAction ??= 'REPLACE';
  p.replacementMethod ??= 'SUBSTITUTE';
  if (o.regional) p.instanceRedistributionType ??= 'PROACTIVE';
  if (!['PROACTIVE', 'OPPORTUNISTIC'].includes(p.type as string))
    throw invalid('type', p.type, 'Must be one of [OPPORTUNISTIC, PROACTIVE]');
  if (!ACTIONS.includes(p.minimalAction as Action))
    throw invalid('minimalAction', p.minimalAction, 'Must be one of [NONE, REFRESH, REPLACE, RESTART]');
  if (
    p.mostDisruptiveAllowedAction !== undefined &&
    !ACTIONS.includes(p.mostDisruptiveAllowedAction as Action)
  ) {
    throw invalid(
      'mostDisruptiveAllowedAction',
      p.mostDisruptiveAllowedAction,
      'Must be one of [NONE, REFRESH, REPLACE, RESTART]',
    );
  }
  if (
    p.mostDisruptiveAllowedAction !== undefined &&
    actionRank(p.mostDisruptiveAllowedAction) < actionRank(p.minimalAction)
  ) {
    throw invalid(
      'mostDisruptiveAllowedAction',
      p.mostDisruptiveAllowedAction,
      'Must not be less disruptive than minimalAction.',
    );
  }
  if (!['SUBSTITUTE', 'RECREATE'].includes(p.replacementMethod as string))
    throw invalid('replacementMethod', p.replacementMethod, 'Must be one of [RECREATE, SUBSTITUTE]');
  for (const f of ['maxSurge', 'maxUnavailable'] as const) {
    const v = p[f] as Json | undefined;
    const given = v && (typeof v.fixed === 'number' || typeof v.percent === 'number');
    const dflt = f === 'maxSurge' && p.replacementMethod === 'RECREATE' ? 0 : o.zones;
    const base: Json = given
      ? { ...(typeof v.percent === 'number' ? { percent: v.percent } : { fixed: v.fixed }) }
      : { fixed: dflt };
    if (typeof base.percent === 'number') {
      if (base.percent < 0 || base.percent > 100)
        throw invalid(`${f}.percent`, base.percent, 'Must be between 0 and 100.');
      if (o.targetSize < 10)
        throw invalid(
          `${f}.percent`,
          base.percent,
          'Percent values are allowed only for groups with 10 or more instances.',
        );
    } else {
      if (!Number.isInteger(base.fixed) || (base.fixed as number) < 0)
        throw invalid(`${f}.fixed`, base.fixed, 'Must be a non-negative integer.');
      if (o.regional && base.fixed !== 0 && (base.fixed as number) < o.zones) {
        throw invalid(
          `${f}.fixed`,
          base.fixed,
          `Fixed updatePolicy.${f} for regional managed instance group has to be either 0 or at least equal to the number of zones (${o.zones}).`,
        );
      }
    }
    p[f] = calculate(base, o.targetSize, f === 'maxSurge');
  }
  const surge = (p.maxSurge as Json).calculated as number;
  const unavailable = (p.maxUnavailable as Json).calculated as number;
  if (p.replacementMethod === 'RECREATE' && surge !== 0) {
    throw invalid(
      'maxSurge',
      p.maxSurge,
      'maxSurge must be equal to 0 when replacementMethod is set to RECREATE.',
    );
  }
  if (surge === 0 && unavailable === 0 && o.targetSize > 0) {
    throw invalid(
      'maxUnavailable',
      p.maxUnavailable,
      'At least one of maxSurge or maxUnavailable must be greater than 0.',
    );
  }
  if (o.stateful && p.type === 'PROACTIVE') {
    throw new ApiError(
      400,
      "Invalid value for field 'resource.updatePolicy.type': 'PROACTIVE'. UpdatePolicy with type set to PROACTIVE is not allowed when Stateful is used (instanceGroupManager has statefulPolicy or perInstanceConfigs). Set updatePolicy.type to OPPORTUNISTIC to apply this update.",
      'invalid',
    );
  }
  return p;
}

/** A stateful policy that preserves disks or metadata makes the group stateful. */
export function isStateful(statefulPolicy: unknown): boolean {
  const ps = (statefulPolicy as Json | undefined)?.preservedState as Json | undefined;
  if (!ps) return false;
  return ['disks', 'metadata', 'internalIPs', 'externalIPs'].some(
    (k) => ps[k] && Object.keys(ps[k] as Json).length > 0,
  );
}

/** RFC 7396 JSON merge patch: objects merge, arrays and scalars replace, null deletes. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
