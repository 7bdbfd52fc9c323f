/**
 * Retention: keep the newest `keep` managed images of the family ACTIVE, deprecate or delete older ones.
 * Only images we labelled (managed-by=nix-glab-runner), READY and ACTIVE are counted or touched, so a
 * deprecated image is never undeprecated or counted, and an unmanaged one is never touched. An image in use
 * by any instance template of the project or of the projects in `retention-check-projects`, or by a disk of
 * the target group's instances, is kept.
 */

import { ConflictError, GcpApiError } from '../gcp/errors.ts';
import { type GroupRef, instanceLocation } from '../gcp/groups.ts';
import { deprecationState, describeState, type Image, isCurrent } from '../gcp/images.ts';
import { imagePath, lastSegment, resourcePath } from '../gcp/resource-path.ts';
import { bootImage, type InstanceTemplate } from '../gcp/templates.ts';
import { MANAGED_BY, MANAGED_BY_KEY } from '../identity.ts';
import type { Reporter } from '../report/events.ts';
import type { Clients } from './clients.ts';
import type { PlanStep } from './plan.ts';

export interface RetentionPolicy {
  keep: number;
  retention: 'deprecate' | 'delete';
  /** Seconds; images younger than this are left alone. */
  minAge?: number;
}

export interface RetentionDecision {
  image: string;
  action: 'keep' | 'deprecate' | 'delete';
  reason: string;
}

export function isManaged(image: Image): boolean {
  return image.labels?.[MANAGED_BY_KEY] === MANAGED_BY;
}

/** Managed, READY, ACTIVE images of a family, newest first: the ones retention counts. */
export function activeManaged(images: readonly Image[]): Image[] {
  return images
    .filter((i) => isManaged(i) && isCurrent(i))
    .sort(
      (a, b) =>
        Date.parse(b.creationTimestamp) - Date.parse(a.creationTimestamp) || (a.name < b.name ? 1 : -1),
    );
}

/**
 * What retention does to each counted image. Pure: `inUse` maps image names to what uses them. The newest
 * `keep` stay, so the family always keeps an ACTIVE image (keep ≥ 1).
 */
export function decideRetention(
  images: readonly Image[],
  inUse: ReadonlyMap<string, string>,
  policy: RetentionPolicy,
  nowMs: number,
): RetentionDecision[] {
  const counted = activeManaged(images);
  return counted.map((image, index): RetentionDecision => {
    if (index < policy.keep)
      return { image: image.name, action: 'keep', reason: `among the newest ${policy.keep}` };
    const user = inUse.get(image.name);
    if (user) return { image: image.name, action: 'keep', reason: `in use by ${user}` };
    const ageSeconds = (nowMs - Date.parse(image.creationTimestamp)) / 1000;
    if (policy.minAge !== undefined && ageSeconds < policy.minAge) {
      return {
        image: image.name,
        action: 'keep',
        reason: `younger than min-age (${Math.floor(ageSeconds)}s old)`,
      };
    }
    return { image: image.name, action: policy.retention, reason: `older than the newest ${policy.keep}` };
  });
}

/**
 * Images of the project in use: by any instance template of the project or of the other projects named in
 * `retention-check-projects` (global or regional; a family reference counts as its newest image), and by
 * the boot disks of the target group's instances. Name → what uses it.
 */
export async function imagesInUse(
  clients: Clients,
  group: GroupRef | undefined,
): Promise<Map<string, string>> {
  const used = new Map<string, string>();
  const ours = `projects/${clients.project}/global/images/`;
  const families = new Map<string, string | undefined>();
  const templates: { template: InstanceTemplate; project: string }[] = [];
  for (const source of [clients.templates, ...clients.otherProjectTemplates]) {
    for (const template of await source.listAll()) templates.push({ template, project: source.project });
  }
  for (const { template, project } of templates) {
    const source = bootImage(template);
    if (!source) continue;
    // A reference without a project names an image of the template's own project.
    const path = imagePath(project, source);
    if (!path.startsWith(ours)) continue;
    let name = path.slice(ours.length);
    if (name.startsWith('family/')) {
      const family = name.slice('family/'.length);
      if (!families.has(family)) {
        const newest = family === clients.family.family ? await clients.family.newest() : undefined;
        families.set(family, newest?.name);
      }
      const resolved = families.get(family);
      if (!resolved) continue;
      name = resolved;
    }
    const of = project === clients.project ? '' : ` of project ${project}`;
    if (!used.has(name)) used.set(name, `instance template ${template.name}${of}`);
  }
  if (group) {
    for (const member of await clients.groups.listManaged(group)) {
      const { zone, name } = instanceLocation(member);
      const instance = await clients.instances.get(zone, name);
      const boot = instance?.disks?.find((d) => d.boot) ?? instance?.disks?.[0];
      if (!boot?.source) continue;
      const disk = await clients.instances.getDisk(zone, lastSegment(resourcePath(boot.source)));
      if (!disk?.sourceImage) continue;
      const path = resourcePath(disk.sourceImage);
      if (path.startsWith(ours) && !used.has(lastSegment(path)))
        used.set(lastSegment(path), `the disk of instance ${name}`);
    }
  }
  return used;
}

export interface PruneResult {
  deprecated: string[];
  deleted: string[];
  plan: PlanStep[];
}

/** Applies retention to the family (or, with dryRun, only plans it). */
export async function prune(
  clients: Clients,
  opts: RetentionPolicy & {
    group?: GroupRef;
    dryRun: boolean;
    operationTimeoutMs: number;
    nowMs?: number;
    /** Dry run of a publish: the image it would create, counted as the newest. */
    pending?: string;
  },
  reporter: Reporter,
): Promise<PruneResult> {
  const images = await clients.family.list();
  if (opts.pending && opts.dryRun) {
    images.push({
      name: opts.pending,
      selfLink: imagePath(clients.project, opts.pending),
      status: 'READY',
      creationTimestamp: new Date(opts.nowMs ?? Date.now()).toISOString(),
      labels: { [MANAGED_BY_KEY]: MANAGED_BY },
    });
  }
  const counted = activeManaged(images);
  const result: PruneResult = { deprecated: [], deleted: [], plan: [] };
  if (counted.length <= opts.keep) {
    reporter.info(
      `Family ${clients.family.family} has ${counted.length} managed ACTIVE image(s), keep is ${opts.keep}: nothing to prune.`,
    );
    result.plan.push({
      action: 'nothing',
      resource: clients.family.family,
      detail: `${counted.length} managed ACTIVE image(s), keep ${opts.keep}`,
    });
    return result;
  }
  const inUse = await imagesInUse(clients, opts.group);
  const decisions = decideRetention(images, inUse, opts, opts.nowMs ?? Date.now());
  const newest = counted[0] as Image;
  for (const d of decisions) {
    if (d.image === opts.pending) continue;
    result.plan.push({
      action: d.action,
      resource: d.image,
      detail: d.action === 'deprecate' ? `${d.reason}; replacement ${newest.name}` : d.reason,
    });
    if (d.action === 'keep' || opts.dryRun) continue;
    // The family may have changed since the list (another prune, a rollback, someone by hand): look again
    // at the image kept as newest and at this one right before writing.
    await assertStillNewest(clients, newest.name, result);
    const gone = `Skipped ${d.image}: someone else deleted it meanwhile.`;
    const image = await clients.images.get(d.image);
    const changed = !image ? gone : changedMeanwhile(image);
    if (changed) {
      reporter.info(changed);
      continue;
    }
    try {
      if (d.action === 'deprecate')
        await clients.family.deprecate(d.image, newest.selfLink, opts.operationTimeoutMs);
      else await clients.images.delete(d.image, opts.operationTimeoutMs);
    } catch (err) {
      // Deleted by someone else between our look and our write: what we wanted, or more.
      if (!(err instanceof GcpApiError && err.status === 404)) throw err;
      reporter.info(gone);
      continue;
    }
    if (d.action === 'deprecate') {
      result.deprecated.push(d.image);
      reporter.info(`Deprecated ${d.image} (${d.reason}); replacement ${newest.name}.`);
    } else {
      result.deleted.push(d.image);
      reporter.info(`Deleted ${d.image} (${d.reason}).`);
    }
  }
  const skipped = decisions.filter((d) => d.action === 'keep' && d.reason.startsWith('in use'));
  for (const d of skipped) reporter.info(`Kept ${d.image}: ${d.reason}.`);
  return result;
}

/** Why an image counted at the list is no longer ours to touch, or undefined when it still is. */
function changedMeanwhile(image: Image): string | undefined {
  if (image.status !== 'READY')
    return `Skipped ${image.name}: it is ${image.status} now (someone else is changing it); left as it is.`;
  if (deprecationState(image) !== 'ACTIVE')
    return `Skipped ${image.name}: someone else made it ${deprecationState(image)} meanwhile; left as it is.`;
  if (!isManaged(image))
    return `Skipped ${image.name}: it no longer carries ${MANAGED_BY_KEY}=${MANAGED_BY}; left as it is.`;
  return undefined;
}

/** The image kept as newest must still be READY and ACTIVE, or pruning could leave the family with none. */
async function assertStillNewest(clients: Clients, name: string, result: PruneResult): Promise<void> {
  const now = await clients.images.get(name);
  if (isCurrent(now)) return;
  const state = describeState(now);
  const done = [...result.deprecated, ...result.deleted];
  throw new ConflictError(
    `Family ${clients.family.family} changed during prune: ${name}, the newest image it keeps, is ${state} now (someone else changed it), so prune stopped ${done.length ? `after pruning ${done.join(', ')}` : 'before changing anything'}; run prune again.`,
  );
}
