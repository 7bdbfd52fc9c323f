import { stat } from 'node:fs/promises';
import type { File, Storage } from '@google-cloud/storage';
import type { Reporter } from '../report/events.ts';
import { fileCrc32c } from './crc32c.ts';
import { GcpApiError } from './errors.ts';
import { notOurMetadata, notThisBuilds, objectNameTaken } from './object-owner.ts';
import { putSession } from './resumable-put.ts';
import { deleteObject, objectMetadata, policyOf, statusOf, storageCall, storageError } from './storage.ts';

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
  /**
   * What `checkObjectName` found, when the caller ran it just before (null: no object there), so the
   * object is not read and the tarball not hashed again. An object stored since then meets the 412 path.
   */
  checked?: Sent | null;
}

/**
 * Uploads the tarball resumably, CRC32C-validated end to end. The library opens the session (auth,
 * metadata, preconditions); `putSession` streams the bytes in one request (behind an HTTP proxy the
 * library sends them). `ifGenerationMatch: 0` makes it create-only: an object already at the name is
 * reused when it is this build's and stops the run otherwise (see checkObjectName); none is ever
 * replaced. The content type is tar and there is never a gzip Content-Encoding: GCE refuses
 * gzip-encoded objects.
 */
export async function uploadImageObject(storage: Storage, opts: UploadOptions): Promise<UploadedObject> {
  const file = storage.bucket(opts.bucket).file(opts.object);
  const size = (await stat(opts.file)).size;
  opts.onSent?.(0, size);
  const existing = opts.checked !== undefined ? opts.checked : await checkObjectName(storage, opts);
  if (existing) {
    opts.reporter.info(
      `gs://${opts.bucket}/${opts.object} already holds these bytes (CRC32C ${existing.crc32c}), stored by an earlier run of this build; not uploading again.`,
    );
    return result(opts, existing.generation, existing.crc32c, size, true);
  }
  const what = `uploading to gs://${opts.bucket}/${opts.object}`;
  const failed = (err: unknown): never => {
    throw err instanceof GcpApiError ? err : storageError(what, err);
  };
  const started = Date.now();
  const upload = behindProxy()
    ? storageCall(storage, what, () => libraryUpload(storage, opts, size), opts.signal)
    : leanUpload(storage, file, opts, size);
  const sent = await upload.catch(async (err: unknown) => {
    // Interrupted: the signal's reason, not an upload failure.
    if (opts.signal?.aborted) throw err;
    // 412: someone stored an object at this name since the check above (uploads are create-only). It
    // is used only when it is this build's; anything else stops the run, as it would have before.
    if (statusOf(err) !== 412) return failed(err);
    const now = await checkObjectName(storage, opts, true);
    if (!now) return failed(err);
    opts.reporter.info(
      `Another run of this build stored its bytes at gs://${opts.bucket}/${opts.object} meanwhile; using that object.`,
    );
    return { ...now, reused: true };
  });
  if ('reused' in sent) return result(opts, sent.generation, sent.crc32c, size, true);
  const seconds = (Date.now() - started) / 1000;
  opts.reporter.info(
    `Uploaded ${(size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)}s (${(size / 2 ** 20 / Math.max(seconds, 0.001)).toFixed(0)} MiB/s), CRC32C ${sent.crc32c}.`,
  );
  return result(opts, sent.generation, sent.crc32c, size, false);
}

/**
 * The object already at the upload's name, when it is this build's (our metadata, the tarball's CRC32C
 * and size), to be reused; undefined when there is none. Any other object stops the run with a message
 * naming it, before anything is written: it is never replaced or deleted. A read, and a hash of the
 * tarball only when the metadata says the object is ours. `meanwhile`: the object appeared after an
 * earlier check (the upload met 412), which the message says.
 */
export async function checkObjectName(
  storage: Storage,
  opts: Pick<UploadOptions, 'bucket' | 'object' | 'file' | 'metadata' | 'signal'>,
  meanwhile = false,
): Promise<Sent | undefined> {
  const uri = `gs://${opts.bucket}/${opts.object}`;
  const taken = (why: string) =>
    objectNameTaken(uri, meanwhile ? `stored by someone else meanwhile: ${why}` : why);
  const existing = await objectMetadata(storage, storage.bucket(opts.bucket).file(opts.object), opts.signal);
  if (!existing) return undefined;
  const owner = notOurMetadata(existing, opts.metadata);
  if (owner) throw taken(owner);
  const crc32c = await fileCrc32c(opts.file, opts.signal);
  const size = (await stat(opts.file)).size;
  const why = notThisBuilds(existing, { metadata: opts.metadata, crc32c, size });
  if (why) throw taken(why);
  return { generation: existing.generation, crc32c };
}

/** The stored object's generation and CRC32C, once its CRC32C is known to match the file's. */
export interface Sent {
  generation: string;
  crc32c: string;
}

/** Create-only, always: an object that appears meanwhile fails the upload with 412, never is replaced. */
const CREATE_ONLY = 0;

/**
 * An HTTP(S) proxy in the environment: gaxios (the library's transport) honours it and NO_PROXY, our PUT
 * does not, so behind a proxy the library sends the bytes, slower but through the proxy.
 */
function behindProxy(): boolean {
  const env = process.env;
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}

/**
 * The library's own single-request resumable upload, CRC32C-validated by the library. Run inside
 * storageCall, which stops waiting for it when the run is interrupted (the library takes no signal).
 */
async function libraryUpload(storage: Storage, opts: UploadOptions, size: number): Promise<Sent> {
  const [uploaded] = await storage.bucket(opts.bucket).upload(opts.file, {
    destination: opts.object,
    resumable: true,
    validation: 'crc32c',
    gzip: false,
    preconditionOpts: { ifGenerationMatch: CREATE_ONLY },
    metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
    onUploadProgress: (e: { bytesWritten: number }) => {
      opts.onSent?.(e.bytesWritten, size);
      opts.reporter.progress('upload', e.bytesWritten, size);
    },
  });
  return { generation: String(uploaded.metadata.generation), crc32c: String(uploaded.metadata.crc32c) };
}

/** The library opens the session; `putSession` sends the bytes; the stored CRC32C and size are checked. */
async function leanUpload(storage: Storage, file: File, opts: UploadOptions, size: number): Promise<Sent> {
  const target = `gs://${opts.bucket}/${opts.object}`;
  // A new session per attempt is harmless: an unused one expires; the precondition keeps it create-only.
  const [uri] = await storageCall(
    storage,
    `starting the upload to ${target}`,
    () =>
      file.createResumableUpload({
        preconditionOpts: { ifGenerationMatch: CREATE_ONLY },
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
