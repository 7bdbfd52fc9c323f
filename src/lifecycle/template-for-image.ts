/**
 * The instance template a roll creates: the group's current template with only the boot image, an image
 * label and `enable-guest-attributes=TRUE` changed. Templates are immutable, so a new image needs a new one.
 */
import { createHash } from 'node:crypto';
import type { InstanceTemplateResource } from '../gcp/compute-api.ts';
import { lastSegment, resourcePath } from '../gcp/resource-path.ts';
import type { InstanceTemplate, MetadataItem } from '../gcp/templates.ts';
import { DRAIN_KEY, GUEST_ATTRIBUTES_KEY } from './drain.ts';

/** Label on templates we create, naming the image they boot. */
export const IMAGE_LABEL = 'nix-glab-runner-image';
/** Suffix of templates we create: `-ngr-` plus 10 hex digits of the hash. */
export const OUR_SUFFIX = /-ngr-[0-9a-f]{10}$/;
const MAX_NAME = 63;

/**
 * A template this tool made: our name suffix and our image label. Either alone can be someone else's (a
 * copy of ours keeps the label, a name can be chosen by anyone).
 */
export function madeByUs(template: InstanceTemplate): boolean {
  return OUR_SUFFIX.test(template.name) && template.properties.labels?.[IMAGE_LABEL] !== undefined;
}

/**
 * Deterministic from the source template and the image: the same roll always names the same template, so
 * a rerun after an interruption finds it instead of creating another. The source's own suffix is dropped
 * first, so rolling one of our templates does not grow the name.
 */
export function templateName(sourceSelfLink: string, imagePath: string): string {
  const hash = createHash('sha256')
    .update(`${resourcePath(sourceSelfLink)}\n${resourcePath(imagePath)}`)
    .digest('hex')
    .slice(0, 10);
  const suffix = `-ngr-${hash}`;
  const base = lastSegment(resourcePath(sourceSelfLink)).replace(OUR_SUFFIX, '');
  return `${base.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** The new template's body: a copy of the source with the three changes, and nothing the API sets itself. */
export function templateForImage(
  source: InstanceTemplate,
  name: string,
  image: { name: string; path: string },
): InstanceTemplateResource & { name: string } {
  const properties = structuredClone(source.properties);
  const disks = properties.disks ?? [];
  const boot = disks.find((d) => d.boot === true) ?? disks[0];
  if (!boot) throw new Error(`instance template ${source.name} has no disks`);
  boot.initializeParams = { ...(boot.initializeParams ?? {}), sourceImage: image.path };
  properties.labels = { ...(properties.labels ?? {}), [IMAGE_LABEL]: image.name };
  // A drain key copied into a template would start every new instance drained.
  const items: MetadataItem[] = (properties.metadata?.items ?? []).filter(
    (i) => i.key !== GUEST_ATTRIBUTES_KEY && i.key !== DRAIN_KEY,
  );
  items.push({ key: GUEST_ATTRIBUTES_KEY, value: 'TRUE' });
  properties.metadata = { items };
  return {
    name,
    description: `nix-glab-runner: ${source.name} with image ${image.name}.`,
    properties,
  };
}
