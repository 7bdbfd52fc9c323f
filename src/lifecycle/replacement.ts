/**
 * The replacement phase of a roll, once the group targets the new template. With drain, the drain loop
 * (`driveWithDrain`) signals old instances within the `max-unavailable` window and hands each one to the
 * group once its guest reported `drained` or its deadline passed. Without drain, `waitForGroup` waits for
 * the group's own PROACTIVE replacement to settle.
 */
import { GcpApiError } from '../gcp/errors.ts';
import {
  type GroupRef,
  groupSettled,
  instanceLocation,
  type ManagedGroup,
  type ManagedInstance,
  runsTemplate,
} from '../gcp/groups.ts';
import { lastSegment } from '../gcp/resource-path.ts';
import { sleep } from '../gcp/retry.ts';
import type { Reporter } from '../report/events.ts';
import type { RollProgress } from '../run-state.ts';
import type { Clients } from './clients.ts';
import { readGuestDrain, rfc3339, signalDrain } from './drain.ts';
import { movedAway, singleTemplate } from './roll-conflicts.ts';
import type { RollOptions, RollResult } from './rollout.ts';

const DEFAULT_POLL_MS = 5000;

interface Draining {
  member: ManagedInstance;
  zone: string;
  name: string;
  deadlineMs: number;
  canAnswer: boolean;
  lastState?: string;
}

/** How many instances may be draining or in replacement at once: max-unavailable, else 1. */
function windowOf(group: ManagedGroup | undefined): number {
  const up = group?.updatePolicy;
  const unavailable = up?.maxUnavailable?.calculated ?? up?.maxUnavailable?.fixed ?? 1;
  return Math.max(1, unavailable);
}

/** A member that runs the target template and has nothing left to do. */
function settledOn(m: ManagedInstance, targetPath: string): boolean {
  return runsTemplate(m, targetPath) && m.currentAction === 'NONE';
}

/**
 * One look at the group and its members, as both loops poll them; a group gone, or moved off the target by
 * someone else, ends the roll.
 */
async function observeGroup(
  clients: Clients,
  ref: GroupRef,
  targetPath: string,
): Promise<{ group: ManagedGroup; members: ManagedInstance[] }> {
  const [group, members] = await Promise.all([clients.groups.get(ref), clients.groups.listManaged(ref)]);
  if (!group)
    throw new GcpApiError(`instance group "${ref.path}" disappeared during the roll`, 404, 'notFound');
  if (singleTemplate(group) !== targetPath) throw movedAway(ref, targetPath, singleTemplate(group));
  return { group, members };
}

/** The drain loop: signal within the window, replace each instance once drained or past its deadline. */
export async function driveWithDrain(
  clients: Clients,
  ref: GroupRef,
  targetPath: string,
  opts: RollOptions,
  reporter: Reporter,
  result: RollResult,
  started: number,
): Promise<void> {
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const progress = progressPrinter(reporter);
  // Guest attributes may be enabled project-wide rather than per instance.
  const projectItems = await clients.instances.projectMetadata();
  const draining = new Map<string, Draining>();
  const handedOver = new Set<string>();
  for (;;) {
    const { group, members } = await observeGroup(clients, ref, targetPath);
    const total = group.targetSize;
    const updated = members.filter((m) => settledOn(m, targetPath)).length;
    progress(updated, total);
    const record = (handing: readonly Draining[] = []) =>
      opts.state?.rollProgress(rollProgress(members, targetPath, total, draining, handing));
    // In name order, so that two runs of one rollout drain the same instances first and share the window.
    const old = members
      .filter((m) => !runsTemplate(m, targetPath) && !handedOver.has(instanceLocation(m).name))
      .sort((a, b) => (instanceLocation(a).name < instanceLocation(b).name ? -1 : 1));
    // A drain that needs us no more: the instance left the group (scale-in), or another run of this rollout
    // handed it over already (it is being replaced, runs the target, or is a new incarnation).
    const byName = new Map(members.map((m) => [instanceLocation(m).name, m]));
    for (const [name, d] of draining) {
      const m = byName.get(name);
      if (!m || runsTemplate(m, targetPath) || m.currentAction !== 'NONE' || m.id !== d.member.id)
        draining.delete(name);
    }
    if (old.length === 0 && draining.size === 0 && groupSettled(group)) {
      reporter.info(`Group ${ref.path}: ${updated}/${total} instances on ${lastSegment(targetPath)}.`);
      return;
    }
    if (Date.now() - started > opts.rollTimeoutMs)
      throw rollTimeout(ref, targetPath, members, draining, opts, total);

    // Start draining old instances while the window has room; a replacement in progress takes room too.
    const busy = () => draining.size + members.filter((m) => m.currentAction !== 'NONE').length;
    for (const m of old) {
      if (busy() >= windowOf(group)) break;
      const { zone, name } = instanceLocation(m);
      if (draining.has(name) || m.currentAction !== 'NONE') continue;
      const signal = await signalDrain(
        clients.instances,
        zone,
        name,
        Date.now() + opts.drainTimeoutMs,
        opts.operationTimeoutMs,
        projectItems,
        m.id,
      );
      // Replaced or gone since the listing (another run of this rollout): nothing to drain.
      if (!signal) continue;
      draining.set(name, { member: m, zone, name, ...signal });
      reporter.info(`Draining ${name} (${zone}) until ${rfc3339(signal.deadlineMs)}.`);
      if (!signal.canAnswer) {
        reporter.warn(
          `Instance ${name} does not have enable-guest-attributes=TRUE (in its own or the project's metadata), so its runner cannot report drained; waiting until the deadline ${rfc3339(signal.deadlineMs)}.`,
        );
      }
    }

    record();

    // Hand drained (or overdue) instances to the group for replacement.
    const ready: Draining[] = [];
    for (const d of draining.values()) {
      const guest = await readGuestDrain(clients.instances, d.zone, d.name);
      if (guest.state && guest.state !== d.lastState) {
        reporter.debug(
          `${d.name}: drain-state ${guest.state}${guest.runningJobs !== undefined ? `, ${guest.runningJobs} running job(s)` : ''}.`,
        );
        d.lastState = guest.state;
      }
      if (guest.state === 'drained') {
        result.drained.push(d.name);
        ready.push(d);
      } else if (guest.state === 'timeout' || Date.now() >= d.deadlineMs) {
        const why =
          guest.state === 'timeout'
            ? 'reported timeout'
            : `did not report drained (${guest.state ?? 'no answer'})`;
        const jobs = guest.runningJobs ? ` with ${guest.runningJobs} job(s) still running` : '';
        reporter.warn(
          `Instance ${d.name} ${why} by its drain deadline ${rfc3339(d.deadlineMs)}; replacing it anyway${jobs}.`,
        );
        result.drainTimeouts.push(d.name);
        ready.push(d);
      }
    }
    if (ready.length > 0) {
      record(ready);
      try {
        await clients.groups.replace(
          ref,
          ready.map((d) => d.member.instance),
          opts.operationTimeoutMs,
        );
      } catch (err) {
        if (!(err instanceof GcpApiError)) throw err;
        const done = members.filter((m) => runsTemplate(m, targetPath)).length;
        throw new GcpApiError(
          `${err.message}; group ${ref.path} targets template ${lastSegment(targetPath)} and ${done} of ${total} instances run it; drained instances ${ready.map((d) => d.name).join(', ')} wait for replacement: run roll again to finish, or rollback`,
          err.status,
          err.reason,
        );
      }
      for (const d of ready) {
        draining.delete(d.name);
        handedOver.add(d.name);
        result.replaced.push(d.name);
        reporter.info(`Replacing ${d.name}.`);
      }
      continue;
    }
    await sleep(pollMs, opts.signal);
  }
}

/** Without drain: the group replaces on its own; wait for it to be stable on the version. */
export async function waitForGroup(
  clients: Clients,
  ref: GroupRef,
  targetPath: string,
  opts: RollOptions,
  reporter: Reporter,
  started: number,
): Promise<void> {
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const progress = progressPrinter(reporter);
  for (;;) {
    const { group, members } = await observeGroup(clients, ref, targetPath);
    const updated = members.filter((m) => settledOn(m, targetPath)).length;
    progress(updated, group.targetSize);
    opts.state?.rollProgress(rollProgress(members, targetPath, group.targetSize, new Map()));
    if (groupSettled(group)) {
      reporter.info(
        `Group ${ref.path}: ${updated}/${group.targetSize} instances on ${lastSegment(targetPath)}.`,
      );
      return;
    }
    if (Date.now() - started > opts.rollTimeoutMs)
      throw rollTimeout(ref, targetPath, members, new Map(), opts, group.targetSize);
    await sleep(pollMs, opts.signal);
  }
}

/** Where the roll stands, for the message of an interrupted run; `handing` are being handed to the group. */
function rollProgress(
  members: ManagedInstance[],
  targetPath: string,
  total: number,
  draining: ReadonlyMap<string, Draining>,
  handing: readonly Draining[] = [],
): RollProgress {
  const handed = new Set(handing.map((d) => d.name));
  return {
    updated: members.filter((m) => settledOn(m, targetPath)).length,
    total,
    draining: [...draining.keys()].filter((name) => !handed.has(name)),
    replacing: [
      ...handed,
      ...members.filter((m) => m.currentAction !== 'NONE').map((m) => instanceLocation(m).name),
    ],
  };
}

/**
 * Prints "updated/total" when it changes. Reporter.progress is for bytes (it prints MiB and MiB/s), so the
 * roll reports instance counts as plain lines.
 */
function progressPrinter(reporter: Reporter): (updated: number, total: number) => void {
  let last = '';
  return (updated, total) => {
    const line = `${updated}/${total}`;
    if (line !== last) reporter.info(`Roll progress: ${line} instances updated.`);
    last = line;
  };
}

function rollTimeout(
  ref: GroupRef,
  targetPath: string,
  members: ManagedInstance[],
  draining: Map<string, Draining>,
  opts: RollOptions,
  total: number,
): GcpApiError {
  const stuck = members
    .filter((m) => !settledOn(m, targetPath))
    .map((m) => {
      const { name } = instanceLocation(m);
      const d = draining.get(name);
      const state = [
        m.currentAction,
        m.instanceStatus,
        d ? `drain ${d.lastState ?? 'signalled'} until ${rfc3339(d.deadlineMs)}` : undefined,
        runsTemplate(m, targetPath) ? undefined : 'old template',
      ]
        .filter(Boolean)
        .join(', ');
      return `${name} (${state})`;
    });
  const done = members.filter((m) => settledOn(m, targetPath)).length;
  return new GcpApiError(
    `Roll of group ${ref.path} did not finish within ${Math.round(opts.rollTimeoutMs / 1000)}s (roll-timeout): ${done}/${total} instances on ${lastSegment(targetPath)}; stuck: ${stuck.join('; ') || 'none, but the group is not stable'}. The group targets ${lastSegment(targetPath)}; run roll again to finish, or rollback.`,
    504,
    'timeout',
  );
}
