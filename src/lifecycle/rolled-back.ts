/**
 * The mark rollback leaves on the image it deprecates. Retention deprecates old images too, so a deprecated
 * image alone does not say the build was rolled back. An image label does: rollback sets it with
 * `images.setLabels` before it deprecates, retention never sets it, it survives deprecation, and anyone can
 * see it (`gcloud compute images describe`). Only a build carrying it stops a publish with exit code 5.
 */
import { GcpApiError } from '../gcp/errors.ts';
import type { Image, Images } from '../gcp/images.ts';

/** Label on an image rollback deprecated; its value is the rollback's UTC time, `20261204t182900z`. */
export const ROLLED_BACK_LABEL = 'nix-glab-runner-rolled-back';

export function isRolledBack(image: Image): boolean {
  return image.labels?.[ROLLED_BACK_LABEL] !== undefined;
}

/** Label values take lowercase letters, digits, `-` and `_` only. */
function rolledBackValue(nowMs = Date.now()): string {
  return new Date(nowMs)
    .toISOString()
    .replace(/\.\d+Z$/, 'z')
    .replace(/[-:]/g, '')
    .toLowerCase();
}

/** Marks the image rolled back (keeping an earlier mark); false when the image is gone. */
export function markRolledBack(images: Images, name: string, timeoutMs: number): Promise<boolean> {
  return changeLabels(images, name, timeoutMs, (labels) => {
    labels[ROLLED_BACK_LABEL] ??= rolledBackValue();
  });
}

/** Takes the mark off: the build was made current again on purpose. */
export function unmarkRolledBack(images: Images, name: string, timeoutMs: number): Promise<boolean> {
  return changeLabels(images, name, timeoutMs, (labels) => {
    delete labels[ROLLED_BACK_LABEL];
  });
}

/**
 * Read, change, write with the fingerprint read: someone else's label change in between (412) makes it read
 * again, so their labels are kept. A retried write that Google had already applied also ends in a 412 and a
 * read that finds the change made.
 */
async function changeLabels(
  images: Images,
  name: string,
  timeoutMs: number,
  change: (labels: Record<string, string>) => void,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const image = await images.get(name);
    if (!image) return false;
    const labels = { ...(image.labels ?? {}) };
    change(labels);
    if (sameLabels(labels, image.labels ?? {})) return true;
    try {
      await images.setLabels(name, labels, image.labelFingerprint ?? '', timeoutMs);
      return true;
    } catch (err) {
      if (!(err instanceof GcpApiError && err.status === 412) || attempt >= 2) throw err;
    }
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
