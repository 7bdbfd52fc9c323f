/**
 * The rollout side of the drain protocol (docs/architecture.md, "The drain protocol"): signal a drain
 * through instance metadata, then read the guest's answer from guest attributes.
 */
import { GcpApiError } from '../gcp/errors.ts';
import type { Instances } from '../gcp/instances.ts';
import type { MetadataItem } from '../gcp/templates.ts';

/** Metadata key whose value is the RFC 3339 UTC drain deadline. */
export const DRAIN_KEY = 'nix-glab-runner-drain';
/** Guest attribute namespace the runner's drain service writes. */
export const GUEST_NAMESPACE = 'nix-glab-runner';
/** Metadata that lets a guest write guest attributes at all. */
export const GUEST_ATTRIBUTES_KEY = 'enable-guest-attributes';

export interface DrainSignal {
  /** The deadline in force: ours, or an earlier one already set. */
  deadlineMs: number;
  /** False when the instance's metadata does not enable guest attributes: its guest cannot answer. */
  canAnswer: boolean;
}

export type GuestDrainState = 'draining' | 'drained' | 'timeout';

export interface GuestDrain {
  /** Undefined until the guest writes anything. */
  state?: GuestDrainState;
  runningJobs?: number;
  started?: string;
  finished?: string;
}

/** RFC 3339 UTC without fractional seconds, as the guest parses it. */
export function rfc3339(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Whether a guest may write guest attributes: the instance's value, else the project's (as on GCE). */
export function guestAttributesEnabled(
  items: readonly MetadataItem[],
  projectItems: readonly MetadataItem[] = [],
): boolean {
  const value =
    items.find((i) => i.key === GUEST_ATTRIBUTES_KEY)?.value ??
    projectItems.find((i) => i.key === GUEST_ATTRIBUTES_KEY)?.value;
  return (value ?? '').toUpperCase() === 'TRUE';
}

/**
 * Sets the drain deadline on an instance, keeping an earlier one already set (a second roll must not
 * extend a drain in progress). Read-modify-write on the metadata fingerprint, retried when it goes stale.
 * Undefined when the instance is gone, or is no longer the incarnation listed (`id`): it was replaced
 * meanwhile, and its successor must not start drained.
 */
export async function signalDrain(
  instances: Instances,
  zone: string,
  name: string,
  deadlineMs: number,
  operationTimeoutMs: number,
  /** Project metadata, read once per roll, for instances that do not set the key themselves. */
  projectItems: readonly MetadataItem[] = [],
  id?: string,
): Promise<DrainSignal | undefined> {
  for (let attempt = 0; ; attempt++) {
    const instance = await instances.get(zone, name);
    if (!instance || (id !== undefined && instance.id !== undefined && instance.id !== id)) return undefined;
    const items = instance.metadata?.items ?? [];
    const canAnswer = guestAttributesEnabled(items, projectItems);
    const existing = Date.parse(items.find((i) => i.key === DRAIN_KEY)?.value ?? '');
    if (!Number.isNaN(existing) && existing <= deadlineMs) return { deadlineMs: existing, canAnswer };
    const next = [
      ...items.filter((i) => i.key !== DRAIN_KEY),
      { key: DRAIN_KEY, value: rfc3339(deadlineMs) },
    ];
    try {
      await instances.setMetadata(zone, name, instance.metadata?.fingerprint ?? '', next, operationTimeoutMs);
      return { deadlineMs: Date.parse(rfc3339(deadlineMs)), canAnswer };
    } catch (err) {
      // 412: someone changed the metadata between our read and write; read again.
      if (!(err instanceof GcpApiError && err.status === 412) || attempt >= 4) throw err;
    }
  }
}

/** What the guest reports under the `nix-glab-runner` namespace. */
export async function readGuestDrain(instances: Instances, zone: string, name: string): Promise<GuestDrain> {
  const attrs = await instances.guestAttributes(zone, name, GUEST_NAMESPACE);
  const state = attrs['drain-state'];
  const jobs = Number.parseInt(attrs['running-jobs'] ?? '', 10);
  return {
    ...(state === 'draining' || state === 'drained' || state === 'timeout' ? { state } : {}),
    ...(Number.isNaN(jobs) ? {} : { runningJobs: jobs }),
    ...(attrs['drain-started'] ? { started: attrs['drain-started'] } : {}),
    ...(attrs['drain-finished'] ? { finished: attrs['drain-finished'] } : {}),
  };
}
