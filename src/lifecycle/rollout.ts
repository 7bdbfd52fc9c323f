/**
 * Rolls a managed instance group onto an image: a new template from the group's current one, the group's
 * version set to it, then the replacement. With drain (the default) the group's policy is OPPORTUNISTIC
 * and the rollout replaces each old instance itself, only after its guest reported `drained` or its drain
 * deadline passed, at most `max-unavailable` at a time (DESIGN.md "Contracts: the drain protocol"). Without
 * drain it is a plain PROACTIVE rolling replace on the group's own schedule.
 */
import { UserError } from '../errors.ts';
import { GcpApiError } from '../gcp/errors.ts';
import {
  type GroupRef,
  instanceLocation,
  isStateful,
  type ManagedGroup,
  type ManagedInstance,
} from '../gcp/groups.ts';
import { imagePath, resourcePath } from '../gcp/resource-path.ts';
import { sleep } from '../gcp/retry.ts';
import { bootImage, type InstanceTemplate, templateScope } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';
import type { Clients } from './clients.ts';
import { readGuestDrain, rfc3339, signalDrain } from './drain.ts';
import type { PlanStep } from './plan.ts';
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
  /** Dry run of a publish: the image does not exist yet, plan as if it did. */
  pendingImage?: boolean;
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
  const versions = group.versions?.length
    ? group.versions
    : group.instanceTemplate
      ? [{ instanceTemplate: group.instanceTemplate }]
      : [];
  if (versions.length !== 1) {
    throw new UserError(
      `Instance group "${ref.path}" runs ${versions.length} versions (a canary update?); finish or undo it before rolling, so the roll starts from one template.`,
      'instance-group',
    );
  }
  if (!opts.drain && isStateful(group)) {
    throw new UserError(
      `Instance group "${ref.path}" is stateful, and Google refuses a PROACTIVE update on stateful groups; roll with drain (the default), which replaces instance by instance under an OPPORTUNISTIC policy.`,
      'drain',
    );
  }
  const currentRef = resourcePath((versions[0] as { instanceTemplate: string }).instanceTemplate);
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
  let targetPath = currentRef;
  if (!onImage) {
    const scope = templateScope(currentRef);
    const name = templateName(currentRef, targetImage);
    targetPath = `projects/${clients.project}/${scope}/instanceTemplates/${name}`;
    target = await clients.templates.get(targetPath);
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
      if (!opts.dryRun)
        target = await createTemplate(
          clients,
          scope,
          current,
          name,
          { name: image.name, path: targetImage },
          ref,
          opts.operationTimeoutMs,
        );
      result.templateCreated = !opts.dryRun;
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
    const old = members.filter((m) => resourcePath(m.version?.instanceTemplate ?? '') !== targetPath);
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
        .filter((m) => !onTemplate(m, targetPath))
        .map((m) => instanceLocation(m).name);
  if (opts.drain && opts.rollTimeoutMs <= opts.drainTimeoutMs) {
    reporter.warn(
      `roll-timeout (${opts.rollTimeoutMs / 1000}s) is not longer than drain-timeout (${opts.drainTimeoutMs / 1000}s): a runner that drains slowly will time the roll out before its deadline.`,
    );
  }
  await patchGroup(clients, ref, group, targetPath, opts, result);
  reporter.info(`Group ${ref.path} now targets template ${lastName(targetPath)} (image ${image.name}).`);
  const started = Date.now();
  if (opts.drain) await driveWithDrain(clients, ref, targetPath, opts, reporter, result, started);
  else {
    await waitForGroup(clients, ref, targetPath, opts, reporter, started);
    result.replaced.push(...outdated);
  }
  return result;
}

function lastName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Creates the template; if Google rejects it, makes sure none is left behind, or names it. */
async function createTemplate(
  clients: Clients,
  scope: string,
  source: InstanceTemplate,
  name: string,
  image: { name: string; path: string },
  ref: GroupRef,
  timeoutMs: number,
): Promise<InstanceTemplate> {
  try {
    return await clients.templates.insert(scope, templateForImage(source, name, image), timeoutMs);
  } catch (err) {
    if (!(err instanceof GcpApiError)) throw err;
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

async function patchGroup(
  clients: Clients,
  ref: GroupRef,
  group: ManagedGroup,
  targetPath: string,
  opts: RollOptions,
  result: RollResult,
): Promise<void> {
  const updatePolicy: Record<string, unknown> = {
    type: opts.drain ? 'OPPORTUNISTIC' : 'PROACTIVE',
    minimalAction: 'REPLACE',
    replacementMethod: opts.replacementMethod,
  };
  // RECREATE keeps names and so needs maxSurge 0, whatever the group had.
  const maxSurge = opts.replacementMethod === 'RECREATE' ? (opts.maxSurge ?? 0) : opts.maxSurge;
  if (maxSurge !== undefined) updatePolicy.maxSurge = { fixed: maxSurge };
  if (opts.maxUnavailable !== undefined) updatePolicy.maxUnavailable = { fixed: opts.maxUnavailable };
  try {
    await clients.groups.patch(
      ref,
      { versions: [{ instanceTemplate: targetPath }], updatePolicy, fingerprint: group.fingerprint },
      opts.operationTimeoutMs,
    );
  } catch (err) {
    if (!(err instanceof GcpApiError)) throw err;
    // Google may have taken the update though its operation's wait failed: then the group already runs on
    // the new template, which must stay.
    const now = await clients.groups.get(ref).catch(() => null);
    const targets = now && resourcePath(now.versions?.[0]?.instanceTemplate ?? now.instanceTemplate ?? '');
    if (now === null || targets === targetPath) {
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
    const leftover = result.templateCreated
      ? await removeTemplate(clients, targetPath, opts.operationTimeoutMs)
      : '';
    const still = resourcePath(group.versions?.[0]?.instanceTemplate ?? group.instanceTemplate ?? '');
    throw new GcpApiError(
      `${err.message}; group ${ref.path} is unchanged on template ${lastName(still)}${leftover}`,
      err.status,
      err.reason,
    );
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

function onTemplate(m: ManagedInstance, targetPath: string): boolean {
  return resourcePath(m.version?.instanceTemplate ?? '') === targetPath;
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
    const total = group.targetSize;
    const updated = members.filter((m) => onTemplate(m, targetPath) && m.currentAction === 'NONE').length;
    progress(updated, total);
    const old = members.filter(
      (m) => !onTemplate(m, targetPath) && !handedOver.has(instanceLocation(m).name),
    );
    // An instance that left the group while draining (scale-in, deletion) needs no replacement.
    const present = new Set(members.map((m) => instanceLocation(m).name));
    for (const name of draining.keys()) if (!present.has(name)) draining.delete(name);
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
      );
      draining.set(name, { member: m, zone, name, ...signal });
      reporter.info(`Draining ${name} (${zone}) until ${rfc3339(signal.deadlineMs)}.`);
      if (!signal.canAnswer) {
        reporter.warn(
          `Instance ${name} does not have enable-guest-attributes=TRUE (in its own or the project's metadata), so its runner cannot report drained; waiting until the deadline ${rfc3339(signal.deadlineMs)}.`,
        );
      }
    }

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
      try {
        await clients.groups.replace(
          ref,
          ready.map((d) => d.member.instance),
          opts.operationTimeoutMs,
        );
      } catch (err) {
        if (!(err instanceof GcpApiError)) throw err;
        const done = members.filter((m) => onTemplate(m, targetPath)).length;
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
    const updated = members.filter((m) => onTemplate(m, targetPath) && m.currentAction === 'NONE').length;
    progress(updated, group.targetSize);
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
    .filter((m) => !onTemplate(m, targetPath) || m.currentAction !== 'NONE')
    .map((m) => {
      const { name } = instanceLocation(m);
      const d = draining.get(name);
      const state = [
        m.currentAction,
        m.instanceStatus,
        d ? `drain ${d.lastState ?? 'signalled'} until ${rfc3339(d.deadlineMs)}` : undefined,
        onTemplate(m, targetPath) ? undefined : 'old template',
      ]
        .filter(Boolean)
        .join(', ');
      return `${name} (${state})`;
    });
  const done = members.filter((m) => onTemplate(m, targetPath) && m.currentAction === 'NONE').length;
  return new GcpApiError(
    `Roll of group ${ref.path} did not finish within ${Math.round(opts.rollTimeoutMs / 1000)}s (roll-timeout): ${done}/${total} instances on ${lastName(targetPath)}; stuck: ${stuck.join('; ') || 'none, but the group is not stable'}. The group targets ${lastName(targetPath)}; run roll again to finish, or rollback.`,
    504,
    'timeout',
  );
}
