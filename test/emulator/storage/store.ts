import type { EmulatorContext } from '../context.ts';
import { ApiError } from '../http.ts';
import type { RunningHash } from './hashing.ts';
import { checkPreconditions } from './preconditions.ts';
import { corrupt, objectResource } from './resources.ts';
import type { BucketRecord, ObjectInit, ObjectRecord, Preconditions, StorageState } from './state.ts';

/** One resumable-session PUT, kept in memory so tests can see what was (re)sent. */
export interface UploadEvent {
  uploadId: string;
  contentRange: string | undefined;
  /** Body bytes that arrived in this request. */
  bodyBytes: number;
  committedBefore: number;
  committedAfter: number;
  outcome: 'incomplete' | 'finalized' | 'reset' | 'rejected' | 'query';
}

/** What the storage handlers share. */
export interface Store {
  ctx: EmulatorContext;
  state: StorageState;
  /** In-memory running hashes of resumable sessions, keyed by upload id (rebuilt from disk when absent). */
  sessionHashes: Map<string, RunningHash>;
  uploadEvents: UploadEvent[];
}

export function requireBucket(store: Store, name: string): BucketRecord {
  const b = store.state.buckets[name];
  if (!b) throw new ApiError(404, 'The specified bucket does not exist.', 'notFound');
  return b;
}

export function requireObject(store: Store, bucket: string, name: string): ObjectRecord {
  requireBucket(store, bucket);
  const o = store.state.objectsIn(bucket)[name];
  if (!o) throw new ApiError(404, `No such object: ${bucket}/${name}`, 'notFound');
  return o;
}

export interface FinishedUpload {
  bucket: string;
  name: string;
  init: ObjectInit;
  preconditions: Preconditions;
  hash: RunningHash;
  /** The file holding exactly `hash.length` bytes; renamed into place on success. */
  path: string;
  /** Checksums the client declared in X-Goog-Hash on the final request. */
  headerHashes: { crc32c?: string; md5?: string };
}

/**
 * Turns uploaded bytes into the live object: verifies declared checksums (400 as Google does), the
 * bucket, then the preconditions (412), and stores the object.
 */
export function finalizeUpload(store: Store, up: FinishedUpload): ObjectRecord {
  const { crc32c, md5Hash } = up.hash.digests();
  const wantCrc = up.init.crc32c ?? up.headerHashes.crc32c;
  const wantMd5 = up.init.md5Hash ?? up.headerHashes.md5;
  if (wantCrc !== undefined && wantCrc !== crc32c) {
    throw new ApiError(400, `Provided CRC32C "${wantCrc}" doesn't match calculated CRC32C "${crc32c}".`);
  }
  if (wantMd5 !== undefined && wantMd5 !== md5Hash) {
    throw new ApiError(400, `Provided MD5 hash "${wantMd5}" doesn't match calculated MD5 hash "${md5Hash}".`);
  }
  requireBucket(store, up.bucket);
  checkPreconditions(up.preconditions, store.state.objectsIn(up.bucket)[up.name]);
  const now = new Date().toISOString();
  const record: ObjectRecord = {
    bucket: up.bucket,
    name: up.name,
    generation: store.state.nextGeneration(),
    metageneration: 1,
    size: up.hash.length,
    contentType: up.init.contentType ?? 'application/octet-stream',
    ...(up.init.contentEncoding ? { contentEncoding: up.init.contentEncoding } : {}),
    ...(up.init.contentDisposition ? { contentDisposition: up.init.contentDisposition } : {}),
    ...(up.init.cacheControl ? { cacheControl: up.init.cacheControl } : {}),
    ...(up.init.contentLanguage ? { contentLanguage: up.init.contentLanguage } : {}),
    ...(up.init.metadata ? { metadata: up.init.metadata } : {}),
    crc32c,
    md5Hash,
    storageClass: up.init.storageClass ?? store.state.buckets[up.bucket]?.storageClass ?? 'STANDARD',
    timeCreated: now,
    updated: now,
  };
  store.state.commitObject(record, up.path);
  return record;
}

/** The object JSON for a response, with checksums corrupted when a corruptChecksum fault matched. */
export function objectJson(
  store: Store,
  o: ObjectRecord,
  corruptChecksum: boolean | undefined,
): Record<string, unknown> {
  const json = objectResource(store.ctx.url, o);
  if (corruptChecksum) {
    json.crc32c = corrupt(o.crc32c);
    if (o.md5Hash) json.md5Hash = corrupt(o.md5Hash);
  }
  return json;
}

/** Picks the client-settable object fields out of a JSON body. */
export function objectInitFrom(body: Record<string, unknown>): ObjectInit {
  const init: ObjectInit = {};
  const str = (k: keyof ObjectInit) => {
    const v = body[k];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') throw new ApiError(400, `Invalid value for field '${k}'.`);
    (init as Record<string, unknown>)[k] = v;
  };
  for (const k of [
    'name',
    'contentType',
    'contentEncoding',
    'contentDisposition',
    'cacheControl',
    'contentLanguage',
    'storageClass',
    'crc32c',
    'md5Hash',
  ] as const)
    str(k);
  if (body.metadata !== undefined && body.metadata !== null) {
    if (typeof body.metadata !== 'object') throw new ApiError(400, "Invalid value for field 'metadata'.");
    init.metadata = Object.fromEntries(
      Object.entries(body.metadata as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
  }
  return init;
}
