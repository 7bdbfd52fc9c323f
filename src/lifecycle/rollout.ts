/**
 * Rolls a managed instance group onto an image: a new template from the group's current one
 * (roll-template.ts), the group's version set to it, then the replacement (replacement.ts). With drain (the
 * default) the group's policy is OPPORTUNISTIC and the rollout replaces each old instance itself, only
 * after its guest reported `drained` or its drain deadline passed, at most `max-unavailable` at a time
 * (docs/architecture.md, "The drain protocol"). Without drain it is a plain PROACTIVE rolling replace on the
 * group's own schedule.
 */
import { UserError } from '../errors.ts';
import type { UpdatePolicyResource } from '../gcp/compute-api.ts';
import { ConflictError, GcpApiError } from '../gcp/errors.ts';
import {
  type GroupRef,
  groupSettled,
  groupVersions,
  instanceLocation,
  isStateful,
  type ManagedGroup,
  runsTemplate,
} from '../gcp/groups.ts';
import { imagePath, lastSegment } from '../gcp/resource-path.ts';
import { bootsImage, templateScope } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';
import type { RunState } from '../run-state.ts';
import type { Clients } from './clients.ts';
import type { PlanStep } from './plan.ts';
import { driveWithDrain, waitForGroup } from './replacement.ts';
import {
  changedMeanwhile,
  groupChange,
  policyMatches,
  rollInProgress,
  singleTemplate,
  templateTaken,
  unfinishedRollout,
} from './roll-conflicts.ts';
import { createTemplate, removeTemplate } from './roll-template.ts';
import { templateForImage, templateName } from './template-for-image.ts';
import { whyNotOurs } from './template-match.ts';

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

/** The "instance-group" input names no group: a typo, or the wrong project. */
export function groupNotFound(ref: GroupRef): UserError {
  return new UserError(
    `Instance group "${ref.path}" was not found; check "instance-group" and "project".`,
    'instance-group',
  );
}

export async function roll(
  clients: Clients,
  ref: GroupRef,
  opts: RollOptions,
  reporter: Reporter,
): Promise<RollResult> {
  const group = await clients.groups.get(ref);
  if (!group) throw groupNotFound(ref);
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
  const targetImage = imagePath(clients.project, image.name);
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
  const onImage = bootsImage(clients.project, current, targetImage);
  const scope = templateScope(currentRef);
  const name = templateName(currentRef, targetImage);
  const targetPath = onImage ? currentRef : `projects/${clients.project}/${scope}/instanceTemplates/${name}`;
  if (!opts.dryRun)
    opts.state?.rolling({ group: ref.path, image: image.name, from: currentRef, template: targetPath });
  if (!onImage) {
    const target = await clients.templates.get(targetPath);
    const imageRef = { name: image.name, path: targetImage };
    const why =
      target && whyNotOurs(clients.project, target, templateForImage(current, name, imageRef), imageRef);
    if (target && why) throw templateTaken(ref, target, why, currentRef);
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
        result.templateCreated = await createTemplate(
          clients,
          scope,
          current,
          name,
          { name: image.name, path: targetImage },
          ref,
          opts.operationTimeoutMs,
        );
        if (!result.templateCreated)
          reporter.info(`Template ${name} was made by another run meanwhile; using it.`);
      }
    }
  }
  result.template = targetPath;

  if (onImage && groupSettled(group)) {
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
      detail: `version ${lastSegment(targetPath)}, ${opts.drain ? 'OPPORTUNISTIC' : 'PROACTIVE'} update policy`,
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
      ? `Group ${ref.path} now targets template ${lastSegment(targetPath)} (image ${image.name}).`
      : `Group ${ref.path} already targets template ${lastSegment(targetPath)} (image ${image.name}); carrying on with that rollout, which another run may be driving too.`,
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
      ? `whether group ${ref.path} took template ${lastSegment(targetPath)} is unknown`
      : `group ${ref.path} targets template ${lastSegment(targetPath)} all the same`;
  throw new GcpApiError(
    `${err.message}; ${state}: run roll again to finish, or rollback`,
    err.status,
    err.reason,
  );
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
      const still = lastSegment(sourcePath);
      if (templateGone)
        throw new ConflictError(
          `${err.message}; the new template ${lastSegment(targetPath)} was deleted by someone else before the group used it, so group ${ref.path} is unchanged on template ${still}: run roll again.`,
        );
      throw new GcpApiError(
        `${err.message}; group ${ref.path} is unchanged on template ${still}${leftover}`,
        err.status,
        err.reason,
      );
    }
  }
}
