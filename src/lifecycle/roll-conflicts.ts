/**
 * Other writers of a group a roll is rolling: another roll of the same group (live or stopped), or anyone
 * changing the group in the meantime. Managed instance groups carry no labels, so a roll in progress is read
 * from what Google shows: the group's one version is one of our templates (our name suffix and image label),
 * for another image, and `status.versionTarget.isReached` is false.
 */
import type { UpdatePolicyResource } from '../gcp/compute-api.ts';
import { ConflictError } from '../gcp/errors.ts';
import {
  type GroupRef,
  groupVersions,
  type ManagedGroup,
  type ManagedInstance,
  runsTemplate,
  type UpdatePolicy,
} from '../gcp/groups.ts';
import { imagePath, lastSegment, resourcePath } from '../gcp/resource-path.ts';
import { bootImage, deleteTemplateCommand, type InstanceTemplate } from '../gcp/templates.ts';
import type { Clients } from './clients.ts';
import { madeByUs } from './template-for-image.ts';

/** How to keep two runs apart, for the messages. */
const SERIALIZE =
  'the GitLab component holds resource_group nix-glab-runner-<family> for this, and a GitHub workflow needs a `concurrency:` group';

/** The template of a group that runs exactly one version, as a path; undefined for a canary. */
export function singleTemplate(group: ManagedGroup): string | undefined {
  const versions = groupVersions(group);
  return versions.length === 1 ? resourcePath(versions[0]?.instanceTemplate ?? '') : undefined;
}

/** The image a rollout onto `template` is bringing, when it is our template and it has not finished. */
export function unfinishedRollout(
  project: string,
  group: ManagedGroup,
  template: InstanceTemplate,
): string | undefined {
  const boot = bootImage(template);
  if (!madeByUs(template) || !boot || group.status?.versionTarget?.isReached !== false) return undefined;
  return lastSegment(imagePath(project, boot));
}

/** What someone else did to a group between our read and our patch. */
export type GroupChange =
  /** Still on the template the roll started from: an unrelated edit, such as a resize. */
  | { kind: 'unrelated' }
  /** Already on the roll's own template: a second roll onto the same image got there first. */
  | { kind: 'ours' }
  /** On one of our templates for another image, not reached yet: another roll has the group. */
  | { kind: 'rolling'; template: string; image: string }
  /** Anything else: a template of someone else's, or a canary. */
  | { kind: 'other' };

export async function groupChange(
  clients: Clients,
  group: ManagedGroup,
  sourcePath: string,
  targetPath: string,
): Promise<GroupChange> {
  const now = singleTemplate(group);
  if (now === sourcePath) return { kind: 'unrelated' };
  if (now === targetPath) return { kind: 'ours' };
  const template = now ? await clients.templates.get(now) : undefined;
  const image = template && unfinishedRollout(clients.project, group, template);
  return now && image ? { kind: 'rolling', template: now, image } : { kind: 'other' };
}

/** Another roll has the group: the run that comes second stops before it changes anything. */
export function rollInProgress(
  ref: GroupRef,
  templatePath: string,
  image: string,
  members: readonly ManagedInstance[],
  leftover = '',
): ConflictError {
  const on = members.filter((m) => runsTemplate(m, templatePath)).length;
  return new ConflictError(
    `Instance group ${ref.path} is being rolled onto image ${image} (template ${lastSegment(templatePath)}, ${on} of ${members.length} instances on it) by another run, so this roll changed nothing${leftover}: wait for that run to finish and run this one again, or, if it was stopped, roll image ${image} again to finish it first (${SERIALIZE}).`,
  );
}

/** The group was moved off the version this roll set, by someone else, while the roll drove it. */
export function movedAway(ref: GroupRef, targetPath: string, now: string | undefined): ConflictError {
  const where = now ? `template ${lastSegment(now)}` : 'two versions';
  return new ConflictError(
    `Instance group ${ref.path} was moved from template ${lastSegment(targetPath)} to ${where} by someone else during this roll, so this roll stopped and leaves the group to that change: find out who else rolls it (${SERIALIZE}) before running it again.`,
  );
}

/** The group's version changed between our read and our patch, to something that is not a roll of ours. */
export function changedMeanwhile(
  ref: GroupRef,
  google: string,
  now: string | undefined,
  leftover: string,
): ConflictError {
  const where = now ? `template ${lastSegment(now)}` : 'two versions';
  return new ConflictError(
    `${google}; instance group ${ref.path} was changed by someone else meanwhile and now runs ${where}, so this roll changed nothing${leftover}; run it again once that change is done.`,
  );
}

/** Whether the group's update policy already has every field the roll would set. */
export function policyMatches(current: UpdatePolicy | undefined, wanted: UpdatePolicyResource): boolean {
  if (!current) return false;
  for (const [key, value] of Object.entries(wanted)) {
    const have = current[key];
    if (typeof value === 'object' && value !== null) {
      const fixed = (value as { fixed?: number }).fixed;
      if ((have as { fixed?: number } | undefined)?.fixed !== fixed) return false;
    } else if (have !== value) return false;
  }
  return true;
}

/**
 * A template under the name this roll would create or reuse is not the one it would make (another image,
 * no label of ours, other content): someone else made it, and it is neither used nor deleted.
 */
export function templateTaken(
  ref: GroupRef,
  template: InstanceTemplate,
  why: string,
  source: string,
): ConflictError {
  return new ConflictError(
    `Instance template ${template.name} already exists but ${why}, so someone else made a template under the name this roll uses; group ${ref.path} is unchanged on template ${lastSegment(source)}: delete that template (${deleteTemplateCommand(template.selfLink)}) and run again.`,
  );
}
