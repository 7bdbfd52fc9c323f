/**
 * Helpers for staging races against the emulator: hold one call with a `delayMs` fault until the test has
 * changed the resource through the Compute REST API, then let it through; and read the outcome of two runs.
 */
import type { FaultRule, FaultRuleInput } from '../emulator/faults.ts';
import type { Emulator } from '../emulator/index.ts';
import { DRAIN_STATE } from '../lifecycle/guests.ts';
import { groupTemplate, type Lab, last, PROJECT, ZONE } from '../lifecycle/helpers.ts';

export interface Group {
  fingerprint: string;
  targetSize: number;
  versions: { instanceTemplate: string }[];
  updatePolicy: { type: string };
  status: { isStable: boolean; versionTarget: { isReached: boolean } };
}
export interface Template {
  name: string;
  properties: { disks: { initializeParams: { sourceImage: string } }[] };
}

/** Adds a rule that holds the next matching call for `ms`; `arrived` resolves once that call came in. */
export function hold(
  emu: Emulator,
  rule: Omit<FaultRuleInput, 'delayMs' | 'count'>,
  ms = 1000,
): { rule: FaultRule; arrived: Promise<void> } {
  const added = emu.faults.add({ ...rule, count: 1, delayMs: ms });
  const arrived = (async () => {
    const until = Date.now() + 30_000;
    while (added.hits === 0) {
      if (Date.now() > until) throw new Error(`no call matched ${rule.method ?? ''} ${rule.path}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { rule: added, arrived };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error & { lines?: string[] } };

export async function outcome<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

export async function refusal(p: Promise<unknown>): Promise<Error & { lines?: string[] }> {
  const o = await outcome(p);
  if (o.ok) throw new Error('expected the command to fail');
  return o.error;
}

/** Names of our templates (`-ngr-`) in the project. */
export async function ourTemplates(l: Lab): Promise<string[]> {
  const list = await l.get<{ items?: { name: string }[] }>('global/instanceTemplates');
  return (list.items ?? [])
    .map((t) => t.name)
    .filter((n) => n.includes('-ngr-'))
    .sort();
}

export const readGroup = (l: Lab, name: string) =>
  l.get<Group>(`zones/${ZONE}/instanceGroupManagers/${name}`);

/** The image the template a group targets boots. */
export async function groupImage(l: Lab, name: string): Promise<string> {
  const t = await l.get<Template>(`global/instanceTemplates/${await groupTemplate(l, name)}`);
  return last(t.properties.disks[0]?.initializeParams.sourceImage ?? '');
}

/** Instances of a group, by name, as the emulator lists them. */
export async function memberNames(l: Lab, group: string): Promise<string[]> {
  const res = await fetch(
    `${l.emu.url}/compute/v1/projects/${PROJECT}/zones/${ZONE}/instanceGroupManagers/${group}/listManagedInstances`,
    { method: 'POST' },
  );
  const body = (await res.json()) as { managedInstances?: { name: string }[] };
  return (body.managedInstances ?? []).map((m) => m.name).sort();
}

/**
 * The instance event log since `sinceMs`, per instance that existed before: how often it was replaced
 * (recreated or deleted) and how often a drain was signalled to it (the drain key appearing).
 */
export function replacements(emu: Emulator, names: readonly string[], sinceMs: number) {
  const events = emu.compute.instanceEvents.filter((e) => e.ms >= sinceMs);
  return Object.fromEntries(
    names.map((name) => {
      const mine = events.filter((e) => e.instance === name);
      return [
        name,
        {
          replaced: mine.filter((e) => e.event === 'recreated' || e.event === 'deleted').length,
          drainSignals: mine.filter((e) => e.event === 'draining-seen').length,
        },
      ];
    }),
  );
}

/**
 * The most instances of `names` out of service at once: from the drain signal (or, undrained, the start
 * of the replacement) until the replacement came back. Used to check max-unavailable across two runs.
 */
export function mostOutOfService(emu: Emulator, names: readonly string[], sinceMs: number): number {
  const events = emu.compute.instanceEvents.filter((e) => e.ms >= sinceMs);
  const spans = names.map((name) => {
    const mine = events.filter((e) => e.instance === name);
    const start = mine.find((e) => e.event === 'draining-seen' || e.event === 'recreated')?.ms ?? 0;
    const end = mine.find((e) => e.event === 'recreated')?.ms ?? Number.POSITIVE_INFINITY;
    return { start, end };
  });
  let most = 0;
  for (const s of spans)
    most = Math.max(most, spans.filter((o) => o.start <= s.start && s.start < o.end).length);
  return most;
}

/** Every old instance answered drained before it was replaced (or was replaced at its deadline). */
export function drainedBeforeReplaced(emu: Emulator, names: readonly string[], sinceMs: number): string[] {
  const events = emu.compute.instanceEvents.filter((e) => e.ms >= sinceMs);
  const problems: string[] = [];
  for (const name of names) {
    const mine = events.filter((e) => e.instance === name);
    const replaced = mine.find((e) => e.event === 'recreated' || e.event === 'deleted');
    const drained = mine.find(
      (e) => e.event === 'guest-attribute' && e.detail?.path === DRAIN_STATE && e.detail?.value === 'drained',
    );
    if (!replaced) problems.push(`${name} was never replaced`);
    else if (!drained || drained.ms > replaced.ms) problems.push(`${name} was replaced before it drained`);
  }
  return problems;
}
