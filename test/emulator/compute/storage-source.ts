import type { Readable } from 'node:stream';
import type { EmulatorContext } from '../context.ts';
import { ApiError } from '../http.ts';

/** What compute needs from the storage service (see test/emulator/storage). */
export interface ObjectInfo {
  bucket: string;
  name: string;
  size: number | string;
  contentEncoding?: string;
  contentType?: string;
}
interface StorageLike {
  getObject(bucket: string, name: string): ObjectInfo | undefined | Promise<ObjectInfo | undefined>;
  openObject(bucket: string, name: string): Readable | Promise<Readable>;
}

export function storageOf(ctx: EmulatorContext): StorageLike {
  const s = ctx.services.storage as Partial<StorageLike> | undefined;
  if (!s || typeof s.getObject !== 'function' || typeof s.openObject !== 'function') {
    throw new ApiError(500, 'The emulator storage service does not expose getObject/openObject.');
  }
  return s as StorageLike;
}

/**
 * Resolves `rawDisk.source` to bucket and object, in the forms that reach images.insert (docs/architecture.md, "`rawDisk.source` forms"):
 * `https://storage.googleapis.com/B/O`, `https://www.googleapis.com/storage/v1/b/B/o/O`, and what gcloud
 * sends with an overridden storage endpoint, `<override>/b/B/o/O` or `<override>/storage/v1/b/B/o/O`.
 */
export function parseRawDiskSource(source: string): { bucket: string; object: string } {
  const invalid = () =>
    new ApiError(
      400,
      `Invalid value for field 'resource.rawDisk.source': '${source}'. The provided source location was not a valid Google Cloud Storage object reference.`,
      'invalid',
    );
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw invalid();
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid();
  const api = /^\/(?:storage\/v1\/)?b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
  if (api && url.hostname !== 'storage.googleapis.com') {
    return { bucket: decode(api[1] as string), object: decode(api[2] as string) };
  }
  if (url.hostname === 'storage.googleapis.com' || url.hostname === 'storage.cloud.google.com') {
    const m = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (m) return { bucket: decode(m[1] as string), object: decode(m[2] as string) };
  }
  throw invalid();
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
