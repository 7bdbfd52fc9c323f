/**
 * The writes of the template a roll makes: create it (or use the identical one another run made), and
 * remove it again when the roll fails before the group uses it.
 */
import { GcpApiError } from '../gcp/errors.ts';
import type { GroupRef } from '../gcp/groups.ts';
import { lastSegment } from '../gcp/resource-path.ts';
import { deleteTemplateCommand, type InstanceTemplate } from '../gcp/templates.ts';
import type { Clients } from './clients.ts';
import { templateTaken } from './roll-conflicts.ts';
import { templateForImage } from './template-for-image.ts';
import { whyNotOurs } from './template-match.ts';

/**
 * Creates the template; if Google rejects it, makes sure none is left behind, or names it. A 409 means
 * someone made a template under that name since our read: it is used only when it is exactly the one this
 * roll would make (another run of the same roll), and never deleted. True when this run created it.
 */
export async function createTemplate(
  clients: Clients,
  scope: string,
  source: InstanceTemplate,
  name: string,
  image: { name: string; path: string },
  ref: GroupRef,
  timeoutMs: number,
): Promise<boolean> {
  const wanted = templateForImage(source, name, image);
  try {
    await clients.templates.insert(scope, wanted, timeoutMs);
    return true;
  } catch (err) {
    if (!(err instanceof GcpApiError)) throw err;
    if (err.status === 409) {
      const theirs = await clients.templates.get(
        `projects/${clients.project}/${scope}/instanceTemplates/${name}`,
      );
      const why = theirs && whyNotOurs(clients.project, theirs, wanted, image);
      if (theirs && !why) return false;
      if (theirs && why) throw templateTaken(ref, theirs, why, source.selfLink);
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
    return `; remove the unused template with: ${deleteTemplateCommand(path)}`;
  }
}
