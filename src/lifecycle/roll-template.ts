/**
 * The writes of the template a roll makes: create it (or use the identical one another run made), and
 * remove it again when the roll fails before the group uses it.
 */
import { GcpApiError } from '../gcp/errors.ts';
import type { GroupRef } from '../gcp/groups.ts';
import { imagePath, lastSegment } from '../gcp/resource-path.ts';
import { bootImage, type InstanceTemplate } from '../gcp/templates.ts';
import type { Clients } from './clients.ts';
import { templateTaken } from './roll-conflicts.ts';
import { templateForImage } from './template-for-image.ts';

export function bootsImage(clients: Clients, template: InstanceTemplate, imageRef: string): boolean {
  const boot = bootImage(template);
  return boot !== undefined && imagePath(clients.project, boot) === imageRef;
}

/**
 * Creates the template; if Google rejects it, makes sure none is left behind, or names it. A 409 means
 * another run made the same template since our read: it is used when it boots the image, never deleted.
 */
export async function createTemplate(
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
export async function removeTemplate(clients: Clients, path: string, timeoutMs: number): Promise<string> {
  try {
    if (!(await clients.templates.get(path))) return '';
    await clients.templates.delete(path, timeoutMs);
    return `; the new template ${lastSegment(path)} was removed`;
  } catch {
    return `; remove the unused template with: gcloud compute instance-templates delete ${lastSegment(path)}${path.includes('/regions/') ? ` --region ${path.split('/')[3]}` : ''}`;
  }
}
