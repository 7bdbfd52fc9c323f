/**
 * Retention: keep the newest `keep` managed images of the family ACTIVE, deprecate or delete older ones.
 * Only images we labelled (managed-by=nix-glab-runner), READY and ACTIVE are counted or touched, so a
 * deprecated image is never undeprecated or counted, and an unmanaged one is never touched. An image in use
 * by any instance template of the project, or by a disk of the target group's instances, is kept.
 */

import { type GroupRef, instanceLocation } from '../gcp/groups.ts';
import { deprecationState, type Image } from '../gcp/images.ts';
import { imagePath, lastSegment, resourcePath } from '../gcp/resource-path.ts';
import { bootImage } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';
import type { Clients } from './clients.ts';
import type { PlanStep } from './plan.ts';

export const MANAGED_LABEL = { key: 'managed-by', value: 'nix-glab-runner' } as const;

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
  return image.labels?.[MANAGED_LABEL.key] === MANAGED_LABEL.value;
}

/** Managed, READY, ACTIVE images of a family, newest first: the ones retention counts. */
export function activeManaged(images: readonly Image[]): Image[] {
  return images
    .filter((i) => isManaged(i) && i.status === 'READY' && deprecationState(i) === 'ACTIVE')
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
 * Images of the project in use: by any instance template (global or regional; a family reference counts as
 * its newest image), and by the boot disks of the target group's instances. Name → what uses it.
 */
export async function imagesInUse(
  clients: Clients,
  group: GroupRef | undefined,
): Promise<Map<string, string>> {
  const used = new Map<string, string>();
  const ours = `projects/${clients.project}/global/images/`;
  const families = new Map<string, string | undefined>();
  for (const template of await clients.templates.listAll()) {
    const source = bootImage(template);
    if (!source) continue;
    const path = imagePath(clients.project, source);
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
    if (!used.has(name)) used.set(name, `instance template ${template.name}`);
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
      selfLink: `projects/${clients.project}/global/images/${opts.pending}`,
      status: 'READY',
      creationTimestamp: new Date(opts.nowMs ?? Date.now()).toISOString(),
      labels: { [MANAGED_LABEL.key]: MANAGED_LABEL.value },
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
  const byName = new Map(images.map((i) => [i.name, i]));
  for (const d of decisions) {
    if (d.image === opts.pending) continue;
    result.plan.push({
      action: d.action,
      resource: d.image,
      detail: d.action === 'deprecate' ? `${d.reason}; replacement ${newest.name}` : d.reason,
    });
    if (d.action === 'keep' || opts.dryRun) continue;
    if (d.action === 'deprecate') {
      await clients.family.deprecate(
        d.image,
        byName.get(newest.name)?.selfLink ?? newest.selfLink,
        opts.operationTimeoutMs,
      );
      result.deprecated.push(d.image);
      reporter.info(`Deprecated ${d.image} (${d.reason}); replacement ${newest.name}.`);
    } else {
      await clients.images.delete(d.image, opts.operationTimeoutMs);
      result.deleted.push(d.image);
      reporter.info(`Deleted ${d.image} (${d.reason}).`);
    }
  }
  const skipped = decisions.filter((d) => d.action === 'keep' && d.reason.startsWith('in use'));
  for (const d of skipped) reporter.info(`Kept ${d.image}: ${d.reason}.`);
  return result;
}
