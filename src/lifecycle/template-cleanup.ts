/**
 * The templates a roll creates would pile up, one per roll, and each keeps its image pinned against
 * retention. After a roll or a rollback, the templates this tool made (our name suffix and our image label)
 * that no group of the project uses are deleted, except:
 * - the template the group ran before a roll: it boots the image a rollback goes back to, and keeping it
 *   keeps that image from retention;
 * - a template created after this command started: it may be another roll's, about to be used by its group.
 * A template we did not make is never touched, whatever its name.
 */
import { GcpApiError } from '../gcp/errors.ts';
import { groupVersions } from '../gcp/groups.ts';
import { lastSegment, resourcePath } from '../gcp/resource-path.ts';
import type { InstanceTemplate } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';
import type { Clients } from './clients.ts';
import type { PlanStep } from './plan.ts';
import { IMAGE_LABEL, OUR_SUFFIX } from './template-for-image.ts';

export interface CleanupOptions {
  /** Template paths to keep whether a group uses them or not (the group's previous one after a roll). */
  keep: string[];
  /** The group just rolled, and the template it runs now (in a dry run: would run). */
  rolled: { group: string; template: string };
  /** When the command started: templates created since are left alone. */
  startedMs: number;
  dryRun: boolean;
  operationTimeoutMs: number;
}

export function madeByUs(template: InstanceTemplate): boolean {
  return OUR_SUFFIX.test(template.name) && template.properties.labels?.[IMAGE_LABEL] !== undefined;
}

/** Deletes (or, in a dry run, plans to delete) our templates no group uses; returns the plan steps. */
export async function removeUnusedTemplates(
  clients: Clients,
  opts: CleanupOptions,
  reporter: Reporter,
): Promise<PlanStep[]> {
  const used = new Set([resourcePath(opts.rolled.template)]);
  for (const group of await clients.groups.listAll()) {
    // In a dry run the rolled group still runs its old template; it counts as on its new one.
    if (resourcePath(group.selfLink) === resourcePath(opts.rolled.group)) continue;
    if (group.instanceTemplate) used.add(resourcePath(group.instanceTemplate));
    for (const v of groupVersions(group)) used.add(resourcePath(v.instanceTemplate));
  }
  const keep = new Set(opts.keep.map(resourcePath));
  const plan: PlanStep[] = [];
  for (const template of await clients.templates.listAll()) {
    const path = resourcePath(template.selfLink);
    if (!madeByUs(template) || used.has(path) || keep.has(path)) continue;
    const created = Date.parse(String(template.creationTimestamp ?? ''));
    if (!(created < opts.startedMs)) continue;
    plan.push({
      action: 'delete',
      resource: path,
      detail: 'template made by nix-glab-runner that no group uses',
    });
    if (opts.dryRun) continue;
    try {
      await clients.templates.delete(path, opts.operationTimeoutMs);
      reporter.info(`Removed instance template ${template.name}: made by nix-glab-runner, used by no group.`);
    } catch (err) {
      // A group took it up since our list (Google refuses), or someone deleted it: either way, not ours to force.
      if (!(err instanceof GcpApiError)) throw err;
      reporter.warn(`Left instance template ${lastSegment(path)} in place: ${err.message}`);
    }
  }
  return plan;
}
