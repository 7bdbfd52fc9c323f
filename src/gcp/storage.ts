import { type FileHandle, open, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type File, Storage } from '@google-cloud/storage';
import { UserError } from '../errors.ts';
import type { Reporter } from '../report/events.ts';
import type { Credentials } from './auth.ts';
import { fileCrc32c, wasmCrc32cGenerator } from './crc32c.ts';
import { type Endpoints, GOOGLE_STORAGE } from './endpoints.ts';
import { GcpApiError, googleErrorMessage, isRetryableStatus, withCause } from './errors.ts';
import { abortable, DEFAULT_RETRY, GaveUp, type RetryPolicy, retrying } from './retry.ts';

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

function policyOf(storage: Storage): RetryPolicy {
  return policies.get(storage) ?? DEFAULT_RETRY;
}

/** Retries a library call on 408, 429, 5xx and broken connections; fails as "<what> failed: <Google's message>". */
async function storageCall<T>(
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
    );
  } catch (err) {
    // Interrupted: the signal's reason, not a storage failure.
    if (signal?.aborted) throw err;
    throw storageError(what, err);
  }
}

/** The HTTP status of a library error: ApiError has it as `code`, GaxiosError (upload sessions) as `status`. */
function statusOf(err: unknown): number {
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
function storageError(what: string, err: unknown): GcpApiError {
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

export interface UploadedObject {
  bucket: string;
  name: string;
  gcsUri: string;
  generation: string;
  crc32c: string;
  size: number;
  /** True when an identical object was already there and nothing was sent. */
  reused: boolean;
}

export interface UploadOptions {
  bucket: string;
  object: string;
  file: string;
  metadata: Record<string, string>;
  reporter: Reporter;
  /** Stops the upload (SIGINT, SIGTERM): the PUT is destroyed, hashing stops, nothing is retried. */
  signal?: AbortSignal;
  /** How far into the file the bytes handed to the network reach, of `size`; 0 first. */
  onSent?: (sent: number, size: number) => void;
}

/**
 * Uploads the tarball resumably, CRC32C-validated end to end. The library opens the session (auth,
 * metadata, preconditions); `putSession` streams the bytes in one request (behind an HTTP proxy the
 * library sends them). `ifGenerationMatch: 0` makes it create-only. The content type is tar and there is
 * never a gzip Content-Encoding: GCE refuses gzip-encoded objects.
 */
export async function uploadImageObject(storage: Storage, opts: UploadOptions): Promise<UploadedObject> {
  const file = storage.bucket(opts.bucket).file(opts.object);
  const size = (await stat(opts.file)).size;
  opts.onSent?.(0, size);
  const existing = await objectMetadata(storage, file, opts.signal);
  let ifGenerationMatch: string | number = 0;
  if (existing) {
    const crc32c = await fileCrc32c(opts.file, opts.signal);
    if (existing.crc32c === crc32c && Number(existing.size) === size) {
      opts.reporter.info(
        `gs://${opts.bucket}/${opts.object} already holds these bytes (CRC32C ${crc32c}); not uploading again.`,
      );
      return result(opts, existing.generation, crc32c, size, true);
    }
    opts.reporter.warn(
      `gs://${opts.bucket}/${opts.object} exists with other content; replacing generation ${existing.generation}.`,
    );
    ifGenerationMatch = existing.generation;
  }

  const what = `uploading to gs://${opts.bucket}/${opts.object}`;
  const failed = (err: unknown): never => {
    throw err instanceof GcpApiError ? err : storageError(what, err);
  };
  const started = Date.now();
  const upload = behindProxy()
    ? storageCall(storage, what, () => libraryUpload(storage, opts, ifGenerationMatch, size), opts.signal)
    : leanUpload(storage, file, opts, ifGenerationMatch, size);
  const sent = await upload.catch(async (err: unknown) => {
    // Interrupted: the signal's reason, not an upload failure.
    if (opts.signal?.aborted) throw err;
    // 412: another run stored the object first (uploads are create-only). The same bytes are as good as ours.
    if (statusOf(err) !== 412) return failed(err);
    const now = await objectMetadata(storage, file, opts.signal);
    const crc32c = await fileCrc32c(opts.file, opts.signal);
    if (now?.crc32c !== crc32c || Number(now.size) !== size) return failed(err);
    opts.reporter.info(
      `Another run stored the same bytes at gs://${opts.bucket}/${opts.object} meanwhile; using that object.`,
    );
    return { generation: now.generation, crc32c, reused: true };
  });
  if ('reused' in sent) return result(opts, sent.generation, sent.crc32c, size, true);
  const seconds = (Date.now() - started) / 1000;
  opts.reporter.info(
    `Uploaded ${(size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)}s (${(size / 2 ** 20 / Math.max(seconds, 0.001)).toFixed(0)} MiB/s), CRC32C ${sent.crc32c}.`,
  );
  return result(opts, sent.generation, sent.crc32c, size, false);
}

/** The stored object's generation and CRC32C, once its CRC32C is known to match the file's. */
interface Sent {
  generation: string;
  crc32c: string;
}

/**
 * An HTTP(S) proxy in the environment: gaxios (the library's transport) honours it and NO_PROXY, our PUT
 * does not, so behind a proxy the library sends the bytes, slower but through the proxy.
 */
function behindProxy(): boolean {
  const env = process.env;
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}

/** The library's own single-request resumable upload, CRC32C-validated by the library. */
async function libraryUpload(
  storage: Storage,
  opts: UploadOptions,
  ifGenerationMatch: string | number,
  size: number,
): Promise<Sent> {
  // The library takes no signal: an interrupted run stops waiting for it, and the process exits.
  const [uploaded] = await abortable(
    storage.bucket(opts.bucket).upload(opts.file, {
      destination: opts.object,
      resumable: true,
      validation: 'crc32c',
      gzip: false,
      preconditionOpts: { ifGenerationMatch },
      metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
      onUploadProgress: (e: { bytesWritten: number }) => {
        opts.onSent?.(e.bytesWritten, size);
        opts.reporter.progress('upload', e.bytesWritten, size);
      },
    }),
    opts.signal,
  );
  return { generation: String(uploaded.metadata.generation), crc32c: String(uploaded.metadata.crc32c) };
}

/** The library opens the session; `putSession` sends the bytes; the stored CRC32C and size are checked. */
async function leanUpload(
  storage: Storage,
  file: File,
  opts: UploadOptions,
  ifGenerationMatch: string | number,
  size: number,
): Promise<Sent> {
  const target = `gs://${opts.bucket}/${opts.object}`;
  // A new session per attempt is harmless: an unused one expires; the precondition keeps it create-only.
  const [uri] = await storageCall(
    storage,
    `starting the upload to ${target}`,
    () =>
      file.createResumableUpload({
        preconditionOpts: { ifGenerationMatch },
        metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
      }),
    opts.signal,
  );
  const sent = await putSession(uri, opts.file, size, policyOf(storage), `uploading to ${target}`, {
    progress: (done) => opts.reporter.progress('upload', done, size),
    sent: (done) => opts.onSent?.(done, size),
    signal: opts.signal,
  });
  if (sent.object.crc32c !== sent.crc32c || Number(sent.object.size) !== size) {
    // As the library does on a mismatch: remove the bad object, then fail.
    await deleteObject(storage, opts.bucket, opts.object, String(sent.object.generation)).catch(
      () => undefined,
    );
    throw new GcpApiError(
      `uploading to ${target} failed: the stored object has CRC32C ${sent.object.crc32c} and ${sent.object.size} bytes, but the file has CRC32C ${sent.crc32c} and ${size} bytes; the object was deleted`,
      0,
      'FILE_NO_UPLOAD',
    );
  }
  return { generation: String(sent.object.generation), crc32c: sent.crc32c };
}

/** Read size and reads in flight for `putSession`: 4 × 1 MiB buffers, reused for the whole file. */
const BLOCK_BYTES = 1 << 20;
const BLOCKS_IN_FLIGHT = 4;
const IDLE_TIMEOUT_MS = 120_000;

interface StoredObject {
  crc32c?: string;
  size?: string;
  generation?: string;
}

/**
 * Streams a file into a resumable session (FACTS.md "Resumable upload protocol") and returns the object
 * the server stored with the CRC32C we computed while sending. Hand-written on purpose (bench/README.md,
 * "lean PUT"): the library's stream pipeline allocates a buffer per 64 KiB read and spends more than twice
 * the CPU per byte that reading into a few reused buffers does, and ran at under half the speed. On a broken connection or a retryable status
 * it asks the session how much it holds and continues from there, as the library would, with our backoff
 * until the retry deadline. The deadline counts from the last time the session took bytes, so a long
 * upload that breaks late still gets the whole deadline to resume.
 */
async function putSession(
  uri: string,
  path: string,
  size: number,
  policy: RetryPolicy,
  what: string,
  on: { progress: (done: number) => void; sent: (done: number) => void; signal?: AbortSignal | undefined },
): Promise<{ object: StoredObject; crc32c: string }> {
  const hasher = (await wasmCrc32cGenerator(1))();
  const fh = await open(path, 'r');
  let hashed = 0;
  let offset = 0;
  let sent = false;
  try {
    // Broken connections and 408/429/5xx are retried; anything else (412, 404/410 session gone) is final.
    return await retrying(
      policy,
      isTransientStorageError,
      async (_, progressed) => {
        if (sent) {
          // Ask the session what it holds before sending again (a status query, never a mutation).
          const status = await queryCommitted(uri, size, on.signal);
          if (status.done)
            return { object: status.done, crc32c: await wholeFileCrc(hasher, hashed, size, path, on.signal) };
          if (status.committed > offset) progressed();
          offset = status.committed;
        }
        sent = true;
        const res = await putRange(uri, fh, offset, size, on, (chunk, at) => {
          // After a resume, bytes before `hashed` were already hashed; hash each byte once, in order.
          if (at + chunk.length > hashed) {
            hasher.update(chunk.subarray(Math.max(0, hashed - at)));
            hashed = at + chunk.length;
          }
          on.progress(at + chunk.length);
        });
        if (res.status === 200 || res.status === 201)
          return { object: JSON.parse(res.body) as StoredObject, crc32c: hasher.toString() };
        const { message, reason } = googleErrorMessage(res.status, res.body);
        throw new GcpApiError(message, res.status, reason);
      },
      on.signal,
    );
  } catch (err) {
    if (on.signal?.aborted) throw err;
    throw storageError(what, err);
  } finally {
    await fh.close();
  }
}

/** Finishing after a status query said "complete" is only possible when every byte was hashed. */
async function wholeFileCrc(
  hasher: { toString(): string },
  hashed: number,
  size: number,
  path: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  return hashed === size ? hasher.toString() : fileCrc32c(path, signal);
}

/** One PUT of bytes [offset, size) through reused buffers; resolves with the response status and body. */
function putRange(
  uri: string,
  fh: FileHandle,
  offset: number,
  size: number,
  on: { sent: (done: number) => void; signal?: AbortSignal | undefined },
  onChunk: (chunk: Buffer, at: number) => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    if (on.signal?.aborted) return reject(on.signal.reason);
    const url = new URL(uri);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const range = size === 0 ? 'bytes */0' : `bytes ${offset}-${size - 1}/${size}`;
    const req = send(url, {
      method: 'PUT',
      headers: { 'content-length': size - offset, 'content-range': range },
    });
    let settled = false;
    let bodySent = false;
    // An interrupted run drops the request: the session stays unfinished and no object is created.
    const onAbort = () => fail(on.signal?.reason);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      on.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(err);
    };
    on.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    // A stalled connection counts as broken: the caller resumes from what the session holds.
    req.setTimeout(IDLE_TIMEOUT_MS, () =>
      fail(Object.assign(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000}s`), { code: 'ETIMEDOUT' })),
    );
    req.on('response', (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        on.signal?.removeEventListener('abort', onAbort);
        // An answer before the whole body was sent (an error, a precondition): drop the half-sent request
        // rather than leave a connection that still owes its Content-Length.
        if (!bodySent) req.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') });
      });
    });
    (async () => {
      const ring = Array.from({ length: BLOCKS_IN_FLIGHT }, () => Buffer.allocUnsafeSlow(BLOCK_BYTES));
      // A buffer is read into again only once the socket has taken the previous write from it.
      const flushed: Promise<void>[] = ring.map(() => Promise.resolve());
      for (let at = offset, i = 0; at < size && !settled; i++) {
        const k = i % ring.length;
        await flushed[k];
        const buf = ring[k] as Buffer;
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
        if (bytesRead === 0)
          throw new Error(`${size - at} bytes short of the ${size} the file had when the upload started`);
        const chunk = buf.subarray(0, bytesRead);
        onChunk(chunk, at);
        const end = at + bytesRead;
        flushed[k] = new Promise((done) =>
          req.write(chunk, (err) => {
            if (!err) on.sent(end);
            done();
          }),
        );
        at += bytesRead;
      }
      if (settled) return;
      bodySent = true;
      req.end();
    })().catch(fail);
  });
}

/** A status query (`Content-Range: bytes *\/N`): how many bytes the session holds, or the object when complete. */
async function queryCommitted(
  uri: string,
  size: number,
  signal: AbortSignal | undefined,
): Promise<{ committed: number; done?: StoredObject }> {
  const res = await fetch(uri, {
    method: 'PUT',
    headers: { 'content-range': `bytes */${size}`, 'content-length': '0' },
    signal,
  });
  const body = await res.text();
  if (res.status === 200 || res.status === 201)
    return { committed: size, done: JSON.parse(body) as StoredObject };
  if (res.status !== 308) {
    const { message, reason } = googleErrorMessage(res.status, body);
    throw new GcpApiError(message, res.status, reason);
  }
  const m = /bytes=0-(\d+)/.exec(res.headers.get('range') ?? '');
  return { committed: m ? Number(m[1]) + 1 : 0 };
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
 * when its `nix-hash` metadata is this build's and the run that uploaded it meant to delete it (its
 * `keep-object` metadata is "false"), and only that generation. True when deleted.
 */
export async function removeLeftoverObject(
  storage: Storage,
  bucket: string,
  object: string,
  nixHash: string,
): Promise<boolean> {
  const found = await objectMetadata(storage, storage.bucket(bucket).file(object));
  if (found?.metadata?.['nix-hash'] !== nixHash || found.metadata['keep-object'] !== 'false') return false;
  await deleteObject(storage, bucket, object, found.generation);
  return true;
}

async function objectMetadata(
  storage: Storage,
  file: File,
  signal?: AbortSignal,
): Promise<
  | { crc32c?: string; size?: string | number; generation: string; metadata?: Record<string, unknown> }
  | undefined
> {
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

function result(
  opts: UploadOptions,
  generation: string,
  crc32c: string,
  size: number,
  reused: boolean,
): UploadedObject {
  return {
    bucket: opts.bucket,
    name: opts.object,
    gcsUri: `gs://${opts.bucket}/${opts.object}`,
    generation,
    crc32c,
    size,
    reused,
  };
}
