import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../http.ts';

/** GCE resource names: RFC 1035 label, 1–63 chars. */
export const NAME_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** GCE accepts a numeric id wherever a name goes in a path. */
export const NUMERIC_ID_RE = /^[1-9][0-9]{0,19}$/;
export const NAME_REGEX_TEXT = '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})';

/** Strings stored with this prefix are resource paths; they render as full URLs under the caller's base. */
export const LINK = '@@/';

export function link(path: string): string {
  return `${LINK}${path}`;
}

/** A numeric id as GCE gives it: an unsigned 64-bit integer, as a string. */
export function newId(): string {
  const n = randomBytes(8).readBigUInt64BE() % 9_000_000_000_000_000_000n;
  return (n + 1_000_000_000_000_000_000n).toString();
}

/** RFC 3339 with an explicit offset, as GCE writes creationTimestamp. */
export function timestamp(ms = Date.now()): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000).toISOString().replace('Z', '');
  const sign = off >= 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

/** Base URL for links in a response: the host the client called, as gcloud parses links against its override. */
export function baseUrl(req: IncomingMessage | undefined, fallback: string): string {
  const host = req?.headers.host;
  return host ? `http://${host}` : fallback;
}

/** Replaces stored `@@/path` links with `<base>/compute/v1/path`, deep. */
export function render<T>(value: T, base: string): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'string' && v.startsWith(LINK) ? `${base}/compute/v1/${v.slice(LINK.length)}` : v,
    ),
  ) as T;
}

export function validateName(name: unknown, field = 'resource.name'): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ApiError(
      400,
      `Invalid value for field '${field}': ''. Must be a match of regex '${NAME_REGEX_TEXT}'`,
      'invalid',
    );
  }
  if (!NAME_RE.test(name)) {
    throw new ApiError(
      400,
      `Invalid value for field '${field}': '${name}'. Must be a match of regex '${NAME_REGEX_TEXT}'`,
      'invalid',
    );
  }
  return name;
}

export function notFound(path: string): ApiError {
  return new ApiError(404, `The resource '${path}' was not found`, 'notFound');
}

export function alreadyExists(path: string): ApiError {
  return new ApiError(409, `The resource '${path}' already exists`, 'alreadyExists');
}

export function required(field: string): ApiError {
  return new ApiError(400, `Required field '${field}' not specified`, 'required');
}

/** Last path segment of a name or URL (`.../global/instanceTemplates/t` → `t`). */
export function lastSegment(ref: string): string {
  const parts = ref.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? ref;
}

/** `projects/p/...` part of a full or partial resource URL, for comparing references. */
export function resourcePath(ref: string): string {
  const i = ref.indexOf('projects/');
  return i >= 0 ? ref.slice(i).replace(/^\/+/, '') : ref;
}

/** A short opaque fingerprint, base64 as GCE prints it. */
export function fingerprint(): string {
  return randomBytes(8).toString('base64');
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
