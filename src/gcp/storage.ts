import { type File, Storage } from '@google-cloud/storage';
import { UserError } from '../errors.ts';
import type { Credentials } from './auth.ts';
import { wasmCrc32cGenerator } from './crc32c.ts';
import { type Endpoints, GOOGLE_STORAGE } from './endpoints.ts';
import { GcpApiError, isRetryableStatus, withCause } from './errors.ts';
import { notOurMetadata, type StoredObject } from './object-owner.ts';
import { abortable, DEFAULT_RETRY, GaveUp, type RetryPolicy, retrying } from './retry.ts';

/**
 * The Storage client and the bucket and object calls the pipeline makes, each retried until the
 * `retry-deadline`. The image upload itself is in upload.ts.
 */

/**
 * The retry policy of each client `storageClient` made. Storage calls are retried by `storageCall` on the
 * same policy as Compute's, so one `retry-deadline` bounds every Google call.
 */
const policies = new WeakMap<Storage, RetryPolicy>();

export async function storageClient(
  endpoints: Endpoints,
  credentials: Credentials,
  projectId: string,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<Storage> {
  const custom = endpoints.storage !== GOOGLE_STORAGE;
  const storage = new Storage({
    projectId,
    ...(custom ? { apiEndpoint: endpoints.storage } : {}),
    // The client skips auth for any custom endpoint; a private endpoint is still Google and needs it.
    ...(custom && !endpoints.loopback ? { useAuthWithCustomEndpoint: true } : {}),
    ...(credentials.auth ? { authClient: credentials.auth } : {}),
    crc32cGenerator: await wasmCrc32cGenerator(),
    // Off: we retry every call ourselves. The library's retries stop after 3 attempts whatever the
    // deadline, skip a delete pinned to a generation, and never answer at all once their totalTimeout
    // runs out while retries remain (retry-request 9 drops the callback).
    retryOptions: { autoRetry: false },
  });
  policies.set(storage, retry);
  return storage;
}

export function policyOf(storage: Storage): RetryPolicy {
  return policies.get(storage) ?? DEFAULT_RETRY;
}

/** Retries a library call on 408, 429, 5xx and broken connections; fails as "<what> failed: <Google's message>". */
export async function storageCall<T>(
  storage: Storage,
  what: string,
  call: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  try {
    // The library takes no signal: an interrupted run stops waiting for it, and the process exits.
    return await retrying(
      policyOf(storage),
      isTransientStorageError,
      () => abortable(call(), signal),
      signal,
      what,
    );
  } catch (err) {
    // Interrupted: the signal's reason, not a storage failure.
    if (signal?.aborted) throw err;
    throw storageError(what, err);
  }
}

/** The HTTP status of a library error: ApiError has it as `code`, GaxiosError (upload sessions) as `status`. */
export function statusOf(err: unknown): number {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const v of [e.code, e.status, e.response?.status]) {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d{3}$/.test(v)) return Number(v);
  }
  return 0;
}

/** A retryable status, or no answer at all: a system error such as ECONNRESET or ECONNREFUSED. */
export function isTransientStorageError(err: unknown): boolean {
  if (err instanceof GcpApiError) return err.status === 0 || isRetryableStatus(err.status);
  const status = statusOf(err);
  if (status) return isRetryableStatus(status);
  // fetch() puts the system error in `cause`.
  const { code, type, cause } = err as { code?: unknown; type?: unknown; cause?: { code?: unknown } };
  return (
    [code, cause?.code].some((c) => typeof c === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(c)) ||
    type === 'system'
  );
}

/** One GcpApiError: what we were doing, Google's message verbatim, and how long we retried. */
export function storageError(what: string, err: unknown): GcpApiError {
  const last = err instanceof GaveUp ? err.last : err;
  const note = err instanceof GaveUp ? err.note : '';
  const reason =
    last instanceof GcpApiError
      ? last.reason
      : (last as { errors?: { reason?: string }[] }).errors?.[0]?.reason;
  const message = last instanceof Error ? withCause(last) : String(last);
  return new GcpApiError(`${what} failed: ${message}${note}`, statusOf(last), reason);
}

/** Fails with a bad-input error when the bucket is missing: a read, done before anything is built. */
export async function checkBucket(storage: Storage, bucket: string, signal?: AbortSignal): Promise<void> {
  const [exists] = await storageCall(
    storage,
    `checking bucket "${bucket}"`,
    () => storage.bucket(bucket).exists(),
    signal,
  );
  if (!exists) {
    throw new UserError(
      `Input "bucket" names gs://${bucket}, which does not exist or is not visible to these credentials; create it or fix the name.`,
      'bucket',
    );
  }
}

export async function deleteObject(
  storage: Storage,
  bucket: string,
  object: string,
  generation: string,
  signal?: AbortSignal,
): Promise<void> {
  // The generation guard keeps us from deleting an object someone replaced in the meantime, and makes a
  // retry safe: a repeated delete of a deleted generation is a 404, which counts as done.
  await storageCall(
    storage,
    `deleting gs://${bucket}/${object}`,
    () =>
      storage
        .bucket(bucket)
        .file(object, { generation: Number(generation) })
        .delete({ ignoreNotFound: true }),
    signal,
  );
}

/** Whether the object exists now (a read). */
export async function objectExists(storage: Storage, bucket: string, object: string): Promise<boolean> {
  return (await objectMetadata(storage, storage.bucket(bucket).file(object))) !== undefined;
}

/**
 * Deletes an image object an earlier run of this build left behind (it stopped before its clean-up): only
 * when its metadata is ours and this build's (`notOurMetadata`) and the run that uploaded it meant to
 * delete it (its `keep-object` metadata is "false"), and only that generation. True when deleted.
 */
export async function removeLeftoverObject(
  storage: Storage,
  bucket: string,
  object: string,
  nixHash: string,
): Promise<boolean> {
  const found = await objectMetadata(storage, storage.bucket(bucket).file(object));
  if (!found) return false;
  if (notOurMetadata(found, { 'nix-hash': nixHash })) return false;
  if (found.metadata?.['keep-object'] !== 'false') return false;
  await deleteObject(storage, bucket, object, found.generation);
  return true;
}

export async function objectMetadata(
  storage: Storage,
  file: File,
  signal?: AbortSignal,
): Promise<StoredObject | undefined> {
  return storageCall(
    storage,
    `reading gs://${file.bucket.name}/${file.name}`,
    async () => {
      try {
        const [meta] = await file.getMetadata();
        return {
          crc32c: meta.crc32c,
          size: meta.size,
          generation: String(meta.generation),
          metadata: meta.metadata ?? undefined,
        };
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    signal,
  );
}
