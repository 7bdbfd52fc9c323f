/**
 * Publishing a build whose image is deprecated (by retention, or by a rollback with allow-rolled-back) makes
 * that image the family's current one again, without uploading it twice. The family gives its newest READY,
 * non-deprecated image, so marking an older image ACTIVE is not enough: the newer managed images give way
 * to it, deprecated in its favour as a rollback would, but without the rolled-back mark, so publishing one
 * of them again brings it back the same way.
 */
import type { ImageFamily } from '../gcp/image-family.ts';
import { deprecationState, type Image, type Images } from '../gcp/images.ts';
import type { Reporter } from '../report/events.ts';
import { activeManaged } from './retention.ts';
import { isRolledBack, unmarkRolledBack } from './rolled-back.ts';

/** The managed ACTIVE images newer than `image`: the ones that must give way for it to be current. */
export async function newerThan(family: ImageFamily, image: Image): Promise<Image[]> {
  const created = Date.parse(image.creationTimestamp);
  return activeManaged(await family.list()).filter(
    (i) => i.name !== image.name && Date.parse(i.creationTimestamp) >= created,
  );
}

/**
 * Marks `image` ACTIVE again (its rolled-back mark taken off first), then deprecates the newer managed
 * images in its favour. In that order the family always has an ACTIVE image. Returns what it deprecated.
 */
export async function makeCurrent(
  images: Images,
  family: ImageFamily,
  image: Image,
  timeoutMs: number,
  reporter: Reporter,
): Promise<string[]> {
  if (isRolledBack(image)) await unmarkRolledBack(images, image.name, timeoutMs);
  if (deprecationState(image) !== 'ACTIVE') await family.reactivate(image.name, timeoutMs);
  const deprecated: string[] = [];
  for (const newer of await newerThan(family, image)) {
    await family.deprecate(newer.name, image.selfLink, timeoutMs);
    deprecated.push(newer.name);
    reporter.info(`Deprecated ${newer.name} in favour of ${image.name}, so the family gives this build.`);
  }
  return deprecated;
}
