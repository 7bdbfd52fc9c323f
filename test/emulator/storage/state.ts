import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PersistedJson } from '../persisted.ts';

export interface BucketRecord {
  name: string;
  project: string;
  location: string;
  storageClass: string;
  timeCreated: string;
  updated: string;
  metageneration: number;
  labels?: Record<string, string>;
  /** As sent on insert: `uniformBucketLevelAccess.enabled` and `publicAccessPrevention`. */
  iamConfiguration?: BucketIamConfiguration;
  /** Set once `setIamPolicy` has run; before that the bucket has its default policy. */
  iamPolicy?: BucketIamPolicy;
}

export interface BucketIamConfiguration {
  uniformBucketLevelAccess?: { enabled?: boolean };
  publicAccessPrevention?: string;
}

export interface BucketIamPolicy {
  bindings: { role: string; members: string[]; condition?: Record<string, unknown> }[];
  /** Counts the policy's changes; the etag is derived from it. */
  serial: number;
}

export interface ObjectRecord {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  cacheControl?: string;
  contentLanguage?: string;
  crc32c: string;
  /** Absent for composite objects, as on Google. */
  md5Hash?: string;
  componentCount?: number;
  metadata?: Record<string, string>;
  storageClass: string;
  timeCreated: string;
  updated: string;
}

/** The object-level fields a client may set on insert (resumable init body, multipart metadata part). */
export interface ObjectInit {
  name?: string;
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  cacheControl?: string;
  contentLanguage?: string;
  metadata?: Record<string, string>;
  storageClass?: string;
  crc32c?: string;
  md5Hash?: string;
}

export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

export interface SessionRecord {
  id: string;
  bucket: string;
  name: string;
  init: ObjectInit;
  preconditions: Preconditions;
  /** From X-Upload-Content-Length, when the client declared it. */
  declaredSize?: number;
  /** Bytes durably stored in the part file. */
  committed: number;
  /** CRC32C (uint32) of the committed bytes; MD5 state is kept in memory and rebuilt after a restart. */
  crc: number;
  createdMs: number;
  /** Set once finalized: status queries and repeated PUTs answer with this object. */
  finalized?: ObjectRecord;
}

interface StateFile {
  buckets: Record<string, BucketRecord>;
  objects: Record<string, Record<string, ObjectRecord>>;
  sessions: Record<string, SessionRecord>;
  lastGeneration: number;
}

/**
 * Buckets, objects and resumable sessions under `<dataDir>/storage/`: metadata in `state.json`,
 * object bytes in `blobs/<generation>`, in-progress uploads in `sessions/<id>.part`.
 */
export class StorageState {
  private readonly file: PersistedJson<StateFile>;
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'storage');
    this.file = new PersistedJson<StateFile>(this.root, 'state', () => ({
      buckets: {},
      objects: {},
      sessions: {},
      lastGeneration: 0,
    }));
    mkdirSync(join(this.root, 'blobs'), { recursive: true });
    mkdirSync(join(this.root, 'sessions'), { recursive: true });
    mkdirSync(join(this.root, 'tmp'), { recursive: true });
  }

  get buckets(): Record<string, BucketRecord> {
    return this.file.value.buckets;
  }

  objectsIn(bucket: string): Record<string, ObjectRecord> {
    const objects = this.file.value.objects;
    objects[bucket] ??= {};
    return objects[bucket];
  }

  get sessions(): Record<string, SessionRecord> {
    return this.file.value.sessions;
  }

  save(): void {
    this.file.save();
  }

  /** Generations are microsecond timestamps like Google's, strictly increasing. */
  nextGeneration(): string {
    const next = Math.max(Date.now() * 1000, this.file.value.lastGeneration + 1);
    this.file.value.lastGeneration = next;
    return String(next);
  }

  blobPath(generation: string): string {
    return join(this.root, 'blobs', generation);
  }

  partPath(sessionId: string): string {
    return join(this.root, 'sessions', `${sessionId}.part`);
  }

  tmpPath(id: string): string {
    return join(this.root, 'tmp', id);
  }

  /** Stores a finished upload as the live generation of `bucket/name`, replacing (and deleting) the old one. */
  commitObject(record: ObjectRecord, fromPath: string): void {
    renameSync(fromPath, this.blobPath(record.generation));
    const objects = this.objectsIn(record.bucket);
    const old = objects[record.name];
    objects[record.name] = record;
    this.save();
    if (old) this.removeBlob(old.generation);
  }

  deleteObject(bucket: string, name: string): void {
    const objects = this.objectsIn(bucket);
    const old = objects[name];
    if (!old) return;
    delete objects[name];
    this.save();
    this.removeBlob(old.generation);
  }

  private removeBlob(generation: string): void {
    const p = this.blobPath(generation);
    if (existsSync(p)) rmSync(p, { force: true });
  }
}
