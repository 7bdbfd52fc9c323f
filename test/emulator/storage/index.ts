import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { EmulatorContext, EmulatorService } from '../context.ts';
import { addBucketIamRoutes } from './bucket-iam.ts';
import { addBucketRoutes, createBucketRecord } from './buckets.ts';
import { addObjectRoutes } from './objects.ts';
import { StorageState } from './state.ts';
import type { Store, UploadEvent } from './store.ts';
import { addUploadRoutes } from './uploads.ts';

export type { UploadEvent } from './store.ts';

/** What other services (compute reads image tarballs) and tests see of Cloud Storage. */
export interface ObjectInfo {
  bucket: string;
  name: string;
  size: number;
  contentEncoding?: string;
  contentType?: string;
  generation: string;
  crc32c: string;
  md5Hash: string;
}

export interface StorageService extends EmulatorService {
  getObject(bucket: string, name: string): ObjectInfo | undefined;
  /** The object's stored bytes (not decompressed), streamed from disk. */
  openObject(bucket: string, name: string): Readable;
  /** Test setup: creates a bucket as `POST /storage/v1/b?project=` would. */
  createBucket(name: string, project: string): void;
  /** Every resumable-session PUT since start (in memory): range sent, bytes received, bytes committed. */
  /** Tests may clear it between cases. */
  readonly uploadEvents: UploadEvent[];
}

/** Cloud Storage JSON API: buckets, objects, media/multipart/resumable uploads, downloads. */
export function createStorageService(ctx: EmulatorContext): StorageService {
  const store: Store = {
    ctx,
    state: new StorageState(ctx.options.dataDir),
    sessionHashes: new Map(),
    uploadEvents: [],
  };
  addBucketRoutes(store);
  addBucketIamRoutes(store);
  addUploadRoutes(store);
  addObjectRoutes(store);

  return {
    uploadEvents: store.uploadEvents,
    getObject(bucket, name) {
      const o = store.state.buckets[bucket] ? store.state.objectsIn(bucket)[name] : undefined;
      if (!o) return undefined;
      return {
        bucket: o.bucket,
        name: o.name,
        size: o.size,
        ...(o.contentEncoding !== undefined ? { contentEncoding: o.contentEncoding } : {}),
        ...(o.contentType !== undefined ? { contentType: o.contentType } : {}),
        generation: o.generation,
        crc32c: o.crc32c,
        md5Hash: o.md5Hash ?? '',
      };
    },
    openObject(bucket, name) {
      const o = store.state.buckets[bucket] ? store.state.objectsIn(bucket)[name] : undefined;
      if (!o) throw new Error(`No such object: ${bucket}/${name}`);
      return createReadStream(store.state.blobPath(o.generation), { highWaterMark: 1 << 20 });
    },
    createBucket(name, project) {
      createBucketRecord(store, name, project);
    },
  };
}
