/**
 * The templates a roll creates would pile up, one per roll, and each keeps its image pinned against
 * retention. After a roll or a rollback, the templates this tool made (our name suffix and our image label)
 * that no group of the project uses are deleted, except:
 * - those booting the image a rollback would now go back to (the family's second-newest managed ACTIVE
 *   image): keeping one keeps that image from retention;
 * - a template created after this command started: it may be another roll's, about to be used by its group.
 * A template we did not make is never touched, whatever its name.
 */
import { GcpApiError } from '../gcp/errors.ts';
import { groupVersions } from '../gcp/groups.ts';
import { imagePath, lastSegment, resourcePath } from '../gcp/resource-path.ts';
import { bootsImage } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';
import type { Clients } from './clients.ts';
import type { PlanStep } from './plan.ts';
import { activeManaged } from './retention.ts';
import { madeByUs } from './template-for-image.ts';

export interface CleanupOptions {
  /** The group just rolled, and the template it runs now (in a dry run: would run). */
  rolled: { group: string; template: string };
  /** A dry run's view of the family: the image a publish would create, the one a rollback would deprecate. */
  pendingImage?: string;
  deprecating?: string;
  /** When the command started: templates created since are left alone. */
  startedMs: number;
  dryRun: boolean;
  operationTimeoutMs: number;
}

/** The image a rollback would go back to now: the second-newest managed ACTIVE image of the family. */
async function rollbackTarget(clients: Clients, opts: CleanupOptions): Promise<string | undefined> {
  const names = activeManaged(await clients.family.list())
    .map((i) => i.name)
    .filter((name) => name !== opts.deprecating && name !== opts.pendingImage);
  if (opts.pendingImage) names.unshift(opts.pendingImage);
  return names[1];
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
  const target = await rollbackTarget(clients, opts);
  const pinned = target && imagePath(clients.project, target);
  const plan: PlanStep[] = [];
  for (const template of await clients.templates.listAll()) {
    const path = resourcePath(template.selfLink);
    if (!madeByUs(template) || used.has(path)) continue;
    if (pinned && bootsImage(clients.project, template, pinned)) continue;
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
      // Google refuses (400) when a group took it up since our list, or it is gone (404): not ours to force.
      if (!(err instanceof GcpApiError && (err.status === 400 || err.status === 404))) throw err;
      reporter.warn(`Left instance template ${lastSegment(path)} in place: ${err.message}`);
    }
  }
  return plan;
}
