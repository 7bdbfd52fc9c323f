import { stat } from 'node:fs/promises';
import { type File, Storage } from '@google-cloud/storage';
import { UserError } from '../errors.ts';
import type { Reporter } from '../report/events.ts';
import type { Credentials } from './auth.ts';
import { fileCrc32c, wasmCrc32cGenerator } from './crc32c.ts';
import { type Endpoints, GOOGLE_STORAGE } from './endpoints.ts';
import { GcpApiError } from './errors.ts';

export async function storageClient(endpoints: Endpoints, credentials: Credentials, projectId: string): Promise<Storage> {
  const custom = endpoints.storage !== GOOGLE_STORAGE;
  return new Storage({
    projectId,
    ...(custom ? { apiEndpoint: endpoints.storage } : {}),
    // The client skips auth for any custom endpoint; a private endpoint is still Google and needs it.
    ...(custom && !endpoints.loopback ? { useAuthWithCustomEndpoint: true } : {}),
    ...(credentials.auth ? { authClient: credentials.auth } : {}),
    crc32cGenerator: await wasmCrc32cGenerator(),
  });
}

/** Fails with a bad-input error when the bucket is missing: a read, done before anything is built. */
export async function checkBucket(storage: Storage, bucket: string): Promise<void> {
  let exists: boolean;
  try {
    [exists] = await storage.bucket(bucket).exists();
  } catch (err) {
    throw new GcpApiError(`checking bucket "${bucket}" failed: ${(err as Error).message}`, (err as { code?: number }).code ?? 0);
  }
  if (!exists) {
    throw new UserError(`Input "bucket" names gs://${bucket}, which does not exist or is not visible to these credentials; create it or fix the name.`, 'bucket');
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
}

/**
 * Uploads the tarball resumably in one streaming request, CRC32C-validated end to end.
 * `ifGenerationMatch: 0` makes it create-only, which also lets the client retry safely. The content
 * type is tar and there is never a gzip Content-Encoding: GCE refuses gzip-encoded objects.
 */
export async function uploadImageObject(storage: Storage, opts: UploadOptions): Promise<UploadedObject> {
  const file = storage.bucket(opts.bucket).file(opts.object);
  const size = (await stat(opts.file)).size;
  const existing = await objectMetadata(file);
  let ifGenerationMatch: string | number = 0;
  if (existing) {
    const crc32c = await fileCrc32c(opts.file);
    if (existing.crc32c === crc32c && Number(existing.size) === size) {
      opts.reporter.info(`gs://${opts.bucket}/${opts.object} already holds these bytes (CRC32C ${crc32c}); not uploading again.`);
      return result(opts, existing.generation, crc32c, size, true);
    }
    opts.reporter.warn(`gs://${opts.bucket}/${opts.object} exists with other content; replacing generation ${existing.generation}.`);
    ifGenerationMatch = existing.generation;
  }

  const started = Date.now();
  const [uploaded] = await storage
    .bucket(opts.bucket)
    .upload(opts.file, {
      destination: opts.object,
      resumable: true,
      validation: 'crc32c',
      gzip: false,
      preconditionOpts: { ifGenerationMatch },
      metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
      onUploadProgress: (e: { bytesWritten: number }) => opts.reporter.progress('upload', e.bytesWritten, size),
    })
    .catch((err: Error & { code?: number | string }) => {
      throw new GcpApiError(`uploading to gs://${opts.bucket}/${opts.object} failed: ${err.message}`, Number(err.code) || 0);
    });
  const seconds = (Date.now() - started) / 1000;
  const meta = uploaded.metadata;
  opts.reporter.info(
    `Uploaded ${(size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)}s (${(size / 2 ** 20 / Math.max(seconds, 0.001)).toFixed(0)} MiB/s), CRC32C ${meta.crc32c}.`,
  );
  return result(opts, String(meta.generation), String(meta.crc32c), size, false);
}

export async function deleteObject(storage: Storage, bucket: string, object: string, generation: string): Promise<void> {
  // The generation guard keeps us from deleting an object someone replaced in the meantime.
  await storage.bucket(bucket).file(object, { generation: Number(generation) }).delete({ ignoreNotFound: true });
}

async function objectMetadata(file: File): Promise<{ crc32c?: string; size?: string | number; generation: string } | undefined> {
  try {
    const [meta] = await file.getMetadata();
    return { crc32c: meta.crc32c, size: meta.size, generation: String(meta.generation) };
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

function result(opts: UploadOptions, generation: string, crc32c: string, size: number, reused: boolean): UploadedObject {
  return { bucket: opts.bucket, name: opts.object, gcsUri: `gs://${opts.bucket}/${opts.object}`, generation, crc32c, size, reused };
}
