/**
 * Rolls a managed instance group onto an image: a new template from the group's current one, the group's
 * version set to it, then the replacement. With drain (the default) the group's policy is OPPORTUNISTIC
 * and the rollout replaces each old instance itself, only after its guest reported `drained` or its drain
 * deadline passed, at most `max-unavailable` at a time (DESIGN.md "Contracts: the drain protocol"). Without
 * drain it is a plain PROACTIVE rolling replace on the group's own schedule.
 */
import { UserError } from '../errors.ts';
import type { UpdatePolicyResource } from '../gcp/compute-api.ts';
import { ConflictError, GcpApiError } from '../gcp/errors.ts';
import {
  type GroupRef,
  groupVersions,
  instanceLocation,
  isStateful,
  type ManagedGroup,
  type ManagedInstance,
  runsTemplate,
} from '../gcp/groups.ts';
import { imagePath } from '../gcp/resource-path.ts';
import { sleep } from '../gcp/retry.ts';
import { bootImage, type InstanceTemplate, templateScope } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';
import type { RollProgress, RunState } from '../run-state.ts';
import type { Clients } from './clients.ts';
import { readGuestDrain, rfc3339, signalDrain } from './drain.ts';
import type { PlanStep } from './plan.ts';
import {
  changedMeanwhile,
  groupChange,
  movedAway,
  policyMatches,
  rollInProgress,
  singleTemplate,
  templateTaken,
  unfinishedRollout,
} from './roll-conflicts.ts';
import { templateForImage, templateName } from './template-for-image.ts';

export interface RollOptions {
  /** Image name in the project. */
  image: string;
  drain: boolean;
  drainTimeoutMs: number;
  maxSurge?: number;
  maxUnavailable?: number;
  replacementMethod: 'SUBSTITUTE' | 'RECREATE';
  rollTimeoutMs: number;
  operationTimeoutMs: number;
  dryRun: boolean;
  /** How often the group and the guests are polled. */
  pollMs?: number;
  /** Stops the waits between polls (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /** Records the roll's progress, for the message of an interrupted run. */
  state?: RunState;
  /** Dry run of a publish: the image does not exist yet, plan as if it did. */
  pendingImage?: boolean;
  /** Rollback: an unfinished roll onto this image (the one rolled back) may be taken over. */
  supersede?: string;
}

export interface RollResult {
  group: string;
  /** The template the group runs (created, reused, or already there). */
  template: string;
  templateCreated: boolean;
  replaced: string[];
  drained: string[];
  drainTimeouts: string[];
  /** True when the group already ran the image. */
  noop: boolean;
  plan: PlanStep[];
}

const DEFAULT_POLL_MS = 5000;

export async function roll(
  clients: Clients,
  ref: GroupRef,
  opts: RollOptions,
  reporter: Reporter,
): Promise<RollResult> {
  const group = await clients.groups.get(ref);
  if (!group) {
    throw new UserError(
      `Instance group "${ref.path}" was not found; check "instance-group" and "project".`,
      'instance-group',
    );
  }
  const currentRef = singleTemplate(group);
  if (!currentRef) {
    throw new UserError(
      `Instance group "${ref.path}" runs ${groupVersions(group).length} versions (a canary update?); finish or undo it before rolling, so the roll starts from one template.`,
      'instance-group',
    );
  }
  if (!opts.drain && isStateful(group)) {
    throw new UserError(
      `Instance group "${ref.path}" is stateful, and Google refuses a PROACTIVE update on stateful groups; roll with drain (the default), which replaces instance by instance under an OPPORTUNISTIC policy.`,
      'drain',
    );
  }
  const current = await clients.templates.get(currentRef);
  if (!current)
    throw new UserError(
      `Instance template "${currentRef}" of group "${ref.path}" was not found.`,
      'instance-group',
    );
  const found = await clients.images.get(opts.image);
  const image =
    found ?? (opts.dryRun && opts.pendingImage ? { name: opts.image, status: 'READY' as const } : undefined);
  if (image?.status !== 'READY') {
    throw new UserError(
      `Image "${opts.image}" is not READY in project ${clients.project} (${image?.status ?? 'not found'}); nothing was rolled.`,
      'image',
    );
  }
  const targetImage = `projects/${clients.project}/global/images/${image.name}`;
  // Another roll of this group onto another image has not finished: it keeps the group.
  const unfinished = unfinishedRollout(clients.project, group, current);
  if (unfinished && unfinished !== image.name) {
    if (opts.supersede !== unfinished)
      throw rollInProgress(ref, currentRef, unfinished, await clients.groups.listManaged(ref));
    reporter.warn(
      `Group ${ref.path} is still being rolled onto ${unfinished}, the image rolled back; this roll takes it over.`,
    );
  }
  const result: RollResult = {
    group: ref.path,
    template: currentRef,
    templateCreated: false,
    replaced: [],
    drained: [],
    drainTimeouts: [],
    noop: false,
    plan: [],
  };

  // The target template: the current one when it already boots the image (a resumed roll), else ours.
  const currentBoot = bootImage(current);
  const onImage = currentBoot !== undefined && imagePath(clients.project, currentBoot) === targetImage;
  let target: InstanceTemplate | undefined = onImage ? current : undefined;
  const scope = templateScope(currentRef);
  const name = templateName(currentRef, targetImage);
  const targetPath = onImage ? currentRef : `projects/${clients.project}/${scope}/instanceTemplates/${name}`;
  if (!opts.dryRun)
    opts.state?.rolling({ group: ref.path, image: image.name, from: currentRef, template: targetPath });
  if (!onImage) {
    target = await clients.templates.get(targetPath);
    if (target && !bootsImage(clients, target, targetImage))
      throw templateTaken(ref, target, image.name, currentRef);
    if (target)
      result.plan.push({
        action: 'reuse',
        resource: targetPath,
        detail: `template for ${image.name}, made by an earlier run`,
      });
    else {
      result.plan.push({
        action: 'create',
        resource: targetPath,
        detail: `${current.name} with image ${image.name}`,
      });
      if (!opts.dryRun) {
        const made = await createTemplate(
          clients,
          scope,
          current,
          name,
          { name: image.name, path: targetImage },
          ref,
          opts.operationTimeoutMs,
        );
        target = made.template;
        result.templateCreated = made.created;
        if (!made.created) reporter.info(`Template ${name} was made by another run meanwhile; using it.`);
      }
    }
  }
  result.template = targetPath;

  if (onImage && group.status?.isStable && group.status.versionTarget?.isReached) {
    reporter.info(
      `Group ${ref.path} already runs image ${image.name} (template ${current.name}); nothing to roll.`,
    );
    result.noop = true;
    result.plan.push({ action: 'nothing', resource: ref.path, detail: `already on ${image.name}` });
    return result;
  }

  if (opts.dryRun) {
    const members = await clients.groups.listManaged(ref);
    const old = members.filter((m) => !runsTemplate(m, targetPath));
    result.plan.push({
      action: 'patch',
      resource: ref.path,
      detail: `version ${lastName(targetPath)}, ${opts.drain ? 'OPPORTUNISTIC' : 'PROACTIVE'} update policy`,
    });
    for (const m of old) {
      const { name } = instanceLocation(m);
      if (opts.drain)
        result.plan.push({
          action: 'drain',
          resource: name,
          detail: `stops taking jobs, up to ${Math.round(opts.drainTimeoutMs / 1000)}s to finish them`,
        });
      result.plan.push({
        action: 'replace',
        resource: name,
        detail: opts.drain ? 'after drained or its deadline' : `by the group (${opts.replacementMethod})`,
      });
    }
    return result;
  }

  // Without drain the group replaces on its own; note who is outdated now, to report them afterwards.
  const outdated = opts.drain
    ? []
    : (await clients.groups.listManaged(ref))
        .filter((m) => !runsTemplate(m, targetPath))
        .map((m) => instanceLocation(m).name);
  if (opts.drain && opts.rollTimeoutMs <= opts.drainTimeoutMs) {
    reporter.warn(
      `roll-timeout (${opts.rollTimeoutMs / 1000}s) is not longer than drain-timeout (${opts.drainTimeoutMs / 1000}s): a runner that drains slowly will time the roll out before its deadline.`,
    );
  }
  opts.state?.retargeted(false);
  const patched = await patchGroup(clients, ref, group, currentRef, targetPath, opts, result);
  opts.state?.retargeted(true);
  reporter.info(
    patched
      ? `Group ${ref.path} now targets template ${lastName(targetPath)} (image ${image.name}).`
      : `Group ${ref.path} already targets template ${lastName(targetPath)} (image ${image.name}); carrying on with that rollout, which another run may be driving too.`,
  );
  const started = Date.now();
  if (opts.drain) await driveWithDrain(clients, ref, targetPath, opts, reporter, result, started);
  else {
    await waitForGroup(clients, ref, targetPath, opts, reporter, started);
    result.replaced.push(...outdated);
  }
  return result;
}

/**
 * Google may have taken the update though its operation's wait failed: then the group already runs on the
 * new template, which must stay, and the error says so instead of "unchanged".
 */
async function throwIfTakenAnyway(
  clients: Clients,
  ref: GroupRef,
  targetPath: string,
  err: GcpApiError,
): Promise<void> {
  const now = await clients.groups.get(ref).catch(() => null);
  if (now !== null && (now === undefined || singleTemplate(now) !== targetPath)) return;
  const state =
    now === null
      ? `whether group ${ref.path} took template ${lastName(targetPath)} is unknown`
      : `group ${ref.path} targets template ${lastName(targetPath)} all the same`;
  throw new GcpApiError(
    `${err.message}; ${state}: run roll again to finish, or rollback`,
    err.status,
    err.reason,
  );
}

function lastName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function bootsImage(clients: Clients, template: InstanceTemplate, imageRef: string): boolean {
  const boot = bootImage(template);
  return boot !== undefined && imagePath(clients.project, boot) === imageRef;
}

/**
 * Creates the template; if Google rejects it, makes sure none is left behind, or names it. A 409 means
 * another run made the same template since our read: it is used when it boots the image, never deleted.
 */
async function createTemplate(
  clients: Clients,
  scope: string,
  source: InstanceTemplate,
  name: string,
  image: { name: string; path: string },
  ref: GroupRef,
  timeoutMs: number,
): Promise<{ template: InstanceTemplate; created: boolean }> {
  try {
    const template = await clients.templates.insert(scope, templateForImage(source, name, image), timeoutMs);
    return { template, created: true };
  } catch (err) {
    if (!(err instanceof GcpApiError)) throw err;
    if (err.status === 409) {
      const theirs = await clients.templates.get(
        `projects/${clients.project}/${scope}/instanceTemplates/${name}`,
      );
      if (theirs && bootsImage(clients, theirs, image.path)) return { template: theirs, created: false };
      if (theirs) throw templateTaken(ref, theirs, image.name, source.selfLink);
    }
    const leftover = await removeTemplate(
      clients,
      `projects/${clients.project}/${scope}/instanceTemplates/${name}`,
      timeoutMs,
    );
    throw new GcpApiError(
      `${err.message}; group ${ref.path} is unchanged on template ${source.name}${leftover}`,
      err.status,
      err.reason,
    );
  }
}

/** Deletes a template this run created and no group uses; returns a note for the error message. */
async function removeTemplate(clients: Clients, path: string, timeoutMs: number): Promise<string> {
  try {
    if (!(await clients.templates.get(path))) return '';
    await clients.templates.delete(path, timeoutMs);
    return `; the new template ${lastName(path)} was removed`;
  } catch {
    return `; remove the unused template with: gcloud compute instance-templates delete ${lastName(path)}${path.includes('/regions/') ? ` --region ${path.split('/')[3]}` : ''}`;
  }
}

/**
 * Sets the group's version and update policy, guarded by the fingerprint read at the start. A 412 means
 * someone changed the group since: it is read again, and patched once more when it still runs the template
 * the roll started from (an unrelated edit, such as a resize) or already runs ours (a second roll onto the
 * same image). Any other change wins, and the template this roll made is removed. False when the group was
 * already set as wanted, so nothing was written.
 */
async function patchGroup(
  clients: Clients,
  ref: GroupRef,
  group: ManagedGroup,
  sourcePath: string,
  targetPath: string,
  opts: RollOptions,
  result: RollResult,
): Promise<boolean> {
  const updatePolicy: UpdatePolicyResource = {
    type: opts.drain ? 'OPPORTUNISTIC' : 'PROACTIVE',
    minimalAction: 'REPLACE',
    replacementMethod: opts.replacementMethod,
  };
  // RECREATE keeps names and so needs maxSurge 0, whatever the group had.
  const maxSurge = opts.replacementMethod === 'RECREATE' ? (opts.maxSurge ?? 0) : opts.maxSurge;
  if (maxSurge !== undefined) updatePolicy.maxSurge = { fixed: maxSurge };
  if (opts.maxUnavailable !== undefined) updatePolicy.maxUnavailable = { fixed: opts.maxUnavailable };
  // Already set (a resumed roll, or a second roll onto the same image): writing it again changes nothing.
  if (singleTemplate(group) === targetPath && policyMatches(group.updatePolicy, updatePolicy)) return false;
  let fingerprint = group.fingerprint;
  for (let attempt = 0; ; attempt++) {
    try {
      await clients.groups.patch(
        ref,
        { versions: [{ instanceTemplate: targetPath }], updatePolicy, fingerprint },
        opts.operationTimeoutMs,
      );
      return true;
    } catch (err) {
      if (!(err instanceof GcpApiError)) throw err;
      if (err.status !== 412) await throwIfTakenAnyway(clients, ref, targetPath, err);
      // 412: someone changed the group since our read; look at what they did.
      const fresh = err.status === 412 ? await clients.groups.get(ref) : undefined;
      const change = fresh && (await groupChange(clients, fresh, sourcePath, targetPath));
      if (change?.kind === 'ours' && policyMatches(fresh?.updatePolicy, updatePolicy)) return false;
      const retry =
        change?.kind === 'unrelated' ||
        change?.kind === 'ours' ||
        (change?.kind === 'rolling' && change.image === opts.supersede);
      if (fresh && retry && attempt === 0) {
        fingerprint = fresh.fingerprint;
        continue;
      }
      const templateGone = err.status === 404 && !(await clients.templates.get(targetPath));
      const leftover = result.templateCreated
        ? await removeTemplate(clients, targetPath, opts.operationTimeoutMs)
        : '';
      if (change?.kind === 'rolling')
        throw rollInProgress(
          ref,
          change.template,
          change.image,
          await clients.groups.listManaged(ref),
          leftover,
        );
      if (change) throw changedMeanwhile(ref, err.message, fresh && singleTemplate(fresh), leftover);
      const still = lastName(sourcePath);
      if (templateGone)
        throw new ConflictError(
          `${err.message}; the new template ${lastName(targetPath)} was deleted by someone else before the group used it, so group ${ref.path} is unchanged on template ${still}: run roll again.`,
        );
      throw new GcpApiError(
        `${err.message}; group ${ref.path} is unchanged on template ${still}${leftover}`,
        err.status,
        err.reason,
      );
    }
  }
}

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

/** The drain loop: signal within the window, replace each instance once drained or past its deadline. */
async function driveWithDrain(
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
    const [group, members] = await Promise.all([clients.groups.get(ref), clients.groups.listManaged(ref)]);
    if (!group)
      throw new GcpApiError(`instance group "${ref.path}" disappeared during the roll`, 404, 'notFound');
    if (singleTemplate(group) !== targetPath) throw movedAway(ref, targetPath, singleTemplate(group));
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
    if (
      old.length === 0 &&
      draining.size === 0 &&
      group.status?.isStable &&
      group.status.versionTarget?.isReached
    ) {
      reporter.info(`Group ${ref.path}: ${updated}/${total} instances on ${lastName(targetPath)}.`);
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
          `${err.message}; group ${ref.path} targets template ${lastName(targetPath)} and ${done} of ${total} instances run it; drained instances ${ready.map((d) => d.name).join(', ')} wait for replacement: run roll again to finish, or rollback`,
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
async function waitForGroup(
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
    const [group, members] = await Promise.all([clients.groups.get(ref), clients.groups.listManaged(ref)]);
    if (!group)
      throw new GcpApiError(`instance group "${ref.path}" disappeared during the roll`, 404, 'notFound');
    if (singleTemplate(group) !== targetPath) throw movedAway(ref, targetPath, singleTemplate(group));
    const updated = members.filter((m) => settledOn(m, targetPath)).length;
    progress(updated, group.targetSize);
    opts.state?.rollProgress(rollProgress(members, targetPath, group.targetSize, new Map()));
    if (group.status?.isStable && group.status.versionTarget?.isReached) {
      reporter.info(
        `Group ${ref.path}: ${updated}/${group.targetSize} instances on ${lastName(targetPath)}.`,
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
    `Roll of group ${ref.path} did not finish within ${Math.round(opts.rollTimeoutMs / 1000)}s (roll-timeout): ${done}/${total} instances on ${lastName(targetPath)}; stuck: ${stuck.join('; ') || 'none, but the group is not stable'}. The group targets ${lastName(targetPath)}; run roll again to finish, or rollback.`,
    504,
    'timeout',
  );
}
