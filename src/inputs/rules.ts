/**
 * Google Cloud naming rules, as pure checks. Each returns the rule a value breaks, phrased to follow
 * `Input "x" …`, or undefined when the value is fine. Config turns a broken rule into a UserError.
 */

/** RFC 1035 label, ≤ 63 chars: image names and families (docs/architecture.md, "Compute Engine images"). */
export const RESOURCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const RESOURCE_NAME_RULE =
  'must be 1-63 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen';

export function checkResourceName(value: string): string | undefined {
  return RESOURCE_NAME.test(value) ? undefined : RESOURCE_NAME_RULE;
}

/**
 * Project ids: 6-30 chars, `[a-z][-a-z0-9]{4,28}[a-z0-9]`. Legacy domain-scoped ids (`example.com:my-proj`)
 * are still valid project ids, so accept them too.
 */
const PROJECT_ID = /^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

export function checkProjectId(value: string): string | undefined {
  return PROJECT_ID.test(value)
    ? undefined
    : 'must be a project id: 6-30 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen, optionally scoped as "example.com:my-project"';
}

/** GCS bucket naming rules (cloud.google.com/storage/docs/buckets#naming). */
export function checkBucket(value: string): string | undefined {
  if (/^gs:\/\//i.test(value) || value.includes('/')) return 'must be a bare bucket name, not a URL or path';
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(value)) {
    return 'must use only lowercase letters, digits, hyphens, underscores and dots, and start and end with a letter or digit';
  }
  if (value.includes('.')) {
    if (value.length < 3 || value.length > 222) return 'must be 3-222 characters when it contains dots';
    if (value.split('.').some((part) => part.length === 0 || part.length > 63)) {
      return 'must have dot-separated parts of 1-63 characters each';
    }
  } else if (value.length < 3 || value.length > 63) {
    return 'must be 3-63 characters';
  }
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(value)) return 'must not be an IP address';
  if (value.startsWith('goog')) return 'must not start with the reserved prefix "goog"';
  if (/g[o0][o0]gle/.test(value)) return 'must not contain "google" or a look-alike of it';
  return undefined;
}

/** Object names are ≤ 1024 bytes; leave room for `{image-name}.raw.tar.gz` (63 + 11 bytes). */
export const MAX_OBJECT_PREFIX_BYTES = 1024 - 63 - '.raw.tar.gz'.length;

export function checkObjectPrefix(value: string): string | undefined {
  if (value.startsWith('/')) return 'must not start with "/"';
  if (/[\r\n\0]/.test(value)) return 'must not contain newlines or NUL characters';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we refuse
  if (/[\x00-\x1f\x7f]/.test(value)) return 'must not contain control characters';
  if (value.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'must not contain "." or ".." path segments';
  }
  if (value.includes('//')) return 'must not contain empty path segments ("//")';
  if (Buffer.byteLength(value, 'utf8') > MAX_OBJECT_PREFIX_BYTES) {
    return `must be at most ${MAX_OBJECT_PREFIX_BYTES} bytes, leaving room for the object name`;
  }
  return undefined;
}

/** GCE labels (cloud.google.com/compute/docs/labeling-resources): ASCII subset of the documented rules. */
export const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
export const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
export const MAX_LABELS = 64;

export function checkLabelKey(key: string): string | undefined {
  return LABEL_KEY.test(key)
    ? undefined
    : 'must have keys of 1-63 lowercase letters, digits, underscores and hyphens, starting with a letter';
}

export function checkLabelValue(value: string): string | undefined {
  return LABEL_VALUE.test(value)
    ? undefined
    : 'must have values of 0-63 lowercase letters, digits, underscores and hyphens';
}

/** Storage locations: a multi-region (`us`, `eu`, `asia`) or a region (`us-central1`). */
export function checkStorageLocation(value: string): string | undefined {
  return /^[a-z][a-z0-9-]{0,62}$/.test(value) && !value.endsWith('-')
    ? undefined
    : 'must be a Cloud Storage location of lowercase letters, digits and hyphens, such as "us", "eu" or "us-central1"';
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * API endpoints: https anywhere, plain http only on loopback, which is the emulator. Credentials in the URL
 * would end up in logs, so refuse them.
 */
export function checkEndpoint(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an absolute http(s) URL';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.search || url.hash) return 'must not contain a query or fragment';
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    return 'must use https unless the host is a loopback address such as 127.0.0.1';
  }
  return undefined;
}

export { isLoopback };
