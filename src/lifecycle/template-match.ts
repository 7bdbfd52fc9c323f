/**
 * Whether a template under the name a roll uses is exactly the one this roll would create. Anyone allowed to
 * create templates could plant one under that name with an extra startup-script; only the template equal
 * to `templateForImage` (our label included) may be reused, so nothing we did not make is rolled out.
 */
import { lastSegment } from '../gcp/resource-path.ts';
import { bootImage, bootsImage, type InstanceTemplate } from '../gcp/templates.ts';
import { IMAGE_LABEL } from './template-for-image.ts';

/** Fields Google sets itself on a template, at the top level. */
const SET_BY_GOOGLE = new Set(['kind', 'id', 'creationTimestamp', 'selfLink', 'region']);
/** Fields Google adds to nested objects on read (`compute#metadata`, the metadata fingerprint). */
const SET_BY_GOOGLE_NESTED = new Set(['kind', 'fingerprint']);

/**
 * Why `existing` is not the template `wanted` describes, in words for a message, or undefined when it is.
 * The source of `wanted` was read from Google too, so defaults Google adds on read are on both sides.
 */
export function whyNotOurs(
  project: string,
  existing: InstanceTemplate,
  wanted: object,
  image: { name: string; path: string },
): string | undefined {
  if (!bootsImage(project, existing, image.path)) {
    const boots = bootImage(existing);
    return `boots ${boots ? lastSegment(boots) : 'no image'}, not ${image.name}`;
  }
  if (existing.properties.labels?.[IMAGE_LABEL] !== image.name)
    return `does not carry the label ${IMAGE_LABEL}=${image.name}`;
  const differs = firstDifference(topLevel(existing), topLevel(wanted), '');
  return differs === undefined
    ? undefined
    : `is not the template this roll would make (${differs || 'the template'} differs)`;
}

function topLevel(template: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(template).filter(([k]) => !SET_BY_GOOGLE.has(k)));
}

/** A full URL and a partial path to the same resource compare equal (`https://…/projects/p/…`). */
function normalize(value: string): string {
  return /^https?:\/\/\S*?\/projects\//.test(value) ? value.slice(value.indexOf('projects/')) : value;
}

/** The path of the first field where the two differ ('' for the values themselves), or undefined. */
function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (typeof a === 'string' && typeof b === 'string') return normalize(a) === normalize(b) ? undefined : path;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return path;
    for (const [i, item] of a.entries()) {
      const d = firstDifference(item, b[i], path);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !SET_BY_GOOGLE_NESTED.has(k)));
    for (const key of [...keys].sort()) {
      const d = firstDifference(a[key], b[key], path ? `${path}.${key}` : key);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return a === b ? undefined : path;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
