import { createHash } from 'node:crypto';
import type { BucketRecord, ObjectRecord } from './state.ts';

/** Google's object and bucket JSON: int64 fields as strings, checksums base64. */

export function projectNumber(project: string): string {
  // A stable 12-digit number per project id; Google's real numbers are opaque too.
  const h = createHash('sha256').update(project).digest();
  return String(100_000_000_000 + (h.readUInt32BE(0) % 900_000_000_000));
}

function etagOf(...parts: (string | number)[]): string {
  return createHash('md5').update(parts.join('/')).digest('base64').slice(0, 12);
}

export function bucketResource(baseUrl: string, b: BucketRecord): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    selfLink: `${baseUrl}/storage/v1/b/${encodeURIComponent(b.name)}`,
    id: b.name,
    name: b.name,
    projectNumber: projectNumber(b.project),
    metageneration: String(b.metageneration),
    location: b.location,
    storageClass: b.storageClass,
    etag: etagOf(b.name, b.metageneration),
    timeCreated: b.timeCreated,
    updated: b.updated,
    locationType: b.location.includes('-') ? 'region' : 'multi-region',
    iamConfiguration: iamConfigurationResource(b),
    ...(b.labels ? { labels: b.labels } : {}),
  };
}

/**
 * Uniform bucket-level access (with its legacy alias bucketPolicyOnly) and public access prevention. While
 * enabled, uniform access can be turned off again for 90 days: `lockedTime` says until when.
 */
function iamConfigurationResource(b: BucketRecord): Record<string, unknown> {
  const uniform = b.iamConfiguration?.uniformBucketLevelAccess?.enabled === true;
  const lockedTime = new Date(Date.parse(b.timeCreated) + 90 * 24 * 3600 * 1000).toISOString();
  const access = uniform ? { enabled: true, lockedTime } : { enabled: false };
  return {
    bucketPolicyOnly: access,
    uniformBucketLevelAccess: access,
    publicAccessPrevention: b.iamConfiguration?.publicAccessPrevention ?? 'inherited',
  };
}

export function objectResource(baseUrl: string, o: ObjectRecord): Record<string, unknown> {
  const b = encodeURIComponent(o.bucket);
  const n = encodeURIComponent(o.name);
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${b}/o/${n}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${b}/o/${n}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: String(o.metageneration),
    contentType: o.contentType ?? 'application/octet-stream',
    storageClass: o.storageClass,
    size: String(o.size),
    ...(o.md5Hash !== undefined ? { md5Hash: o.md5Hash } : {}),
    crc32c: o.crc32c,
    ...(o.componentCount !== undefined ? { componentCount: o.componentCount } : {}),
    etag: etagOf(o.generation, o.metageneration),
    ...(o.contentEncoding !== undefined ? { contentEncoding: o.contentEncoding } : {}),
    ...(o.contentDisposition !== undefined ? { contentDisposition: o.contentDisposition } : {}),
    ...(o.cacheControl !== undefined ? { cacheControl: o.cacheControl } : {}),
    ...(o.contentLanguage !== undefined ? { contentLanguage: o.contentLanguage } : {}),
    timeCreated: o.timeCreated,
    updated: o.updated,
    timeStorageClassUpdated: o.timeCreated,
    timeFinalized: o.timeCreated,
    ...(o.metadata ? { metadata: o.metadata } : {}),
  };
}

/** A checksum that is certainly wrong but well-formed, for the corruptChecksum fault. */
export function corrupt(base64: string): string {
  const b = Buffer.from(base64, 'base64');
  if (b.length > 0) b[0] = (b[0] as number) ^ 0xff;
  return b.toString('base64');
}
