import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ApiError, type RouteContext } from '../http.ts';
import { corrupt } from './resources.ts';
import type { ObjectRecord } from './state.ts';
import type { Store } from './store.ts';

/** Parses a single `Range: bytes=a-b | a- | -n`; undefined = whole object. Throws 416 when unsatisfiable. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // Google ignores a malformed Range
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) {
    throw new ApiError(416, 'Request range not satisfiable', 'requestedRangeNotSatisfiable');
  }
  return { start, end };
}

/** Streams object bytes with Google's download headers (x-goog-hash, stored encoding, generation). */
export async function sendMedia(store: Store, c: RouteContext, o: ObjectRecord): Promise<void> {
  const crc = c.fault?.corruptChecksum ? corrupt(o.crc32c) : o.crc32c;
  const md5 = o.md5Hash && c.fault?.corruptChecksum ? corrupt(o.md5Hash) : o.md5Hash;
  const headers: Record<string, string | number> = {
    'content-type': o.contentType ?? 'application/octet-stream',
    'x-goog-generation': o.generation,
    'x-goog-metageneration': String(o.metageneration),
    'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
    'x-goog-stored-content-length': String(o.size),
    'x-goog-storage-class': o.storageClass,
    'x-goog-hash': md5 ? `crc32c=${crc},md5=${md5}` : `crc32c=${crc}`,
    etag: `"${o.md5Hash ? Buffer.from(o.md5Hash, 'base64').toString('hex') : o.generation}"`,
    'last-modified': new Date(o.updated).toUTCString(),
    'accept-ranges': 'bytes',
  };
  if (o.contentDisposition) headers['content-disposition'] = o.contentDisposition;
  if (o.cacheControl) headers['cache-control'] = o.cacheControl;
  const path = store.state.blobPath(o.generation);
  const gzipStored = o.contentEncoding === 'gzip';
  const acceptsGzip = /\bgzip\b/.test(String(c.req.headers['accept-encoding'] ?? ''));
  if (gzipStored && !acceptsGzip) {
    // Decompressive transcoding: Google serves the decompressed bytes and ignores Range.
    headers.warning = '214 UploadServer gunzipped';
    c.res.writeHead(200, headers);
    await pipeline(createReadStream(path), createGunzip(), c.res);
    return;
  }
  if (gzipStored) headers['content-encoding'] = 'gzip';
  const range = parseRange(c.req.headers.range, o.size);
  if (o.size === 0) {
    c.res.writeHead(200, { ...headers, 'content-length': 0 }).end();
    return;
  }
  if (range) {
    c.res.writeHead(206, {
      ...headers,
      'content-length': range.end - range.start + 1,
      'content-range': `bytes ${range.start}-${range.end}/${o.size}`,
    });
    await pipeline(
      createReadStream(path, { start: range.start, end: range.end, highWaterMark: 1 << 20 }),
      c.res,
    );
    return;
  }
  c.res.writeHead(200, { ...headers, 'content-length': o.size });
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), c.res);
}
