import type { InstanceRecord } from './state.ts';

/** What a scripted guest is told. */
export interface GuestEvent {
  /** `booted` after creation or recreation; `metadata` after a setMetadata took effect. */
  type: 'booted' | 'metadata';
  instance: string;
  zone: string;
  template: string;
  metadata: Record<string, string>;
  previous: Record<string, string>;
  /** Keys added, changed or removed by this change. */
  changed: string[];
}

/** What a scripted guest can do, like a VM writing to its metadata server. */
export interface GuestApi {
  readonly instance: string;
  readonly zone: string;
  /** Writes `namespace/key`; false (and nothing written) when guest attributes are disabled. */
  setGuestAttribute(path: string, value: string): boolean;
  deleteGuestAttribute(path: string): void;
  metadata(): Record<string, string>;
  /** Runs later unless this incarnation of the VM is gone (deleted or recreated) by then. */
  after(ms: number, fn: () => void): void;
  /** True while this incarnation still runs. */
  alive(): boolean;
}

export type GuestMatcher =
  | string
  | RegExp
  | ((instance: { name: string; zone: string; group?: string; template: string }) => boolean);
export type GuestScript = (event: GuestEvent, api: GuestApi) => void;

export function matches(m: GuestMatcher, i: InstanceRecord): boolean {
  if (typeof m === 'string') return i.name === m;
  if (m instanceof RegExp) return m.test(i.name);
  return m({ name: i.name, zone: i.zone, ...(i.group ? { group: i.group } : {}), template: i.template });
}

export function metadataMap(i: InstanceRecord): Record<string, string> {
  return Object.fromEntries(i.metadata.items.map((it) => [it.key, it.value]));
}

/**
 * GCE lets a guest write attributes only with `enable-guest-attributes=TRUE` in instance metadata, or in
 * project metadata when the instance does not set the key (instance values win).
 */
export function guestAttributesEnabled(
  i: InstanceRecord,
  projectItems: { key: string; value: string }[] = [],
): boolean {
  const own = metadataMap(i)['enable-guest-attributes'];
  const project = projectItems.find((x) => x.key === 'enable-guest-attributes')?.value;
  return (own ?? project ?? '').toUpperCase() === 'TRUE';
}
