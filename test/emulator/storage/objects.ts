import { randomUUID } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import { BlobSink } from './blob-sink.ts';
import { sendMedia } from './download.ts';
import { RunningHash } from './hashing.ts';
import { listObjects } from './listing.ts';
import { checkPreconditions, preconditionsFrom } from './preconditions.ts';
import type { ObjectRecord } from './state.ts';
import { objectInitFrom, objectJson, requireBucket, requireObject, type Store } from './store.ts';

/** Raw (still percent-encoded) path segments after `/b/{bucket}/o/`, so `a%2Fb/compose` stays unambiguous. */
function objectSegments(c: RouteContext): string[] {
  const parts = c.url.pathname.split('/');
  const o = parts.indexOf('o', parts.indexOf('b') + 2);
  return parts.slice(o + 1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new ApiError(400, `Invalid percent-encoding in path segment "${s}".`);
    }
  });
}

function liveObject(store: Store, c: RouteContext, bucket: string, name: string): ObjectRecord {
  const o = requireObject(store, bucket, name);
  const gen = c.url.searchParams.get('generation');
  // No versioning here: only the live generation exists.
  if (gen !== null && gen !== o.generation)
    throw new ApiError(404, `No such object: ${bucket}/${name}`, 'notFound');
  return o;
}

export function addObjectRoutes(store: Store): void {
  const r = store.ctx.router;

  r.add('GET', '/storage/v1/b/{bucket}/o', (c) => {
    requireBucket(store, c.params.bucket as string);
    sendJson(c.res, 200, listObjects(store, c.params.bucket as string, c.url.searchParams));
  });

  const get = async (c: RouteContext, media: boolean) => {
    const bucket = c.params.bucket as string;
    const name = objectSegments(c).join('/');
    const o = liveObject(store, c, bucket, name);
    checkPreconditions(preconditionsFrom(c.url.searchParams), o);
    if (media || c.url.searchParams.get('alt') === 'media') return sendMedia(store, c, o);
    sendJson(c.res, 200, objectJson(store, o, c.fault?.corruptChecksum));
  };
  r.add('GET', '/storage/v1/b/{bucket}/o/{object*}', (c) => get(c, false));
  r.add('GET', '/download/storage/v1/b/{bucket}/o/{object*}', (c) => get(c, true));

  r.add('DELETE', '/storage/v1/b/{bucket}/o/{object*}', (c) => {
    const bucket = c.params.bucket as string;
    const name = objectSegments(c).join('/');
    const o = liveObject(store, c, bucket, name);
    checkPreconditions(preconditionsFrom(c.url.searchParams), o);
    store.state.deleteObject(bucket, name);
    c.res.writeHead(204).end();
  });

  r.add('PATCH', '/storage/v1/b/{bucket}/o/{object*}', async (c) => {
    const bucket = c.params.bucket as string;
    const name = objectSegments(c).join('/');
    const body = await readJson(c);
    const o = liveObject(store, c, bucket, name);
    checkPreconditions(preconditionsFrom(c.url.searchParams), o);
    for (const k of [
      'contentType',
      'contentEncoding',
      'contentDisposition',
      'cacheControl',
      'contentLanguage',
    ] as const) {
      if (!(k in body)) continue;
      const v = body[k];
      if (v === null) delete o[k];
      else if (typeof v === 'string') o[k] = v;
      else throw new ApiError(400, `Invalid value for field '${k}'.`);
    }
    if (body.metadata === null) delete o.metadata;
    else if (body.metadata && typeof body.metadata === 'object') {
      const merged: Record<string, string> = { ...o.metadata };
      for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>)) {
        if (v === null) delete merged[k];
        else merged[k] = String(v);
      }
      o.metadata = merged;
    }
    o.metageneration++;
    o.updated = new Date().toISOString();
    store.state.save();
    sendJson(c.res, 200, objectJson(store, o, c.fault?.corruptChecksum));
  });

  r.add('POST', '/storage/v1/b/{bucket}/o/{object*}', async (c) => {
    const seg = objectSegments(c);
    const bucket = c.params.bucket as string;
    if (seg.length === 2 && seg[1] === 'compose') return compose(store, c, bucket, seg[0] as string);
    if (
      seg.length === 6 &&
      (seg[1] === 'rewriteTo' || seg[1] === 'copyTo') &&
      seg[2] === 'b' &&
      seg[4] === 'o'
    ) {
      return copy(
        store,
        c,
        bucket,
        seg[0] as string,
        seg[3] as string,
        seg[5] as string,
        seg[1] === 'rewriteTo',
      );
    }
    c.req.resume();
    throw new ApiError(404, `Not Found: POST ${c.url.pathname}`);
  });
}

/** Streams `sources` (in order) into a new file, hashing; returns the file and its hash. */
async function concatInto(
  store: Store,
  sources: ObjectRecord[],
): Promise<{ path: string; hash: RunningHash }> {
  const path = store.state.tmpPath(randomUUID());
  const hash = new RunningHash();
  const sink = new BlobSink(path, hash, { append: false });
  try {
    // consume() writes each source in turn; a pipeline() per source would leave its listeners on the one
    // sink (up to 32 sources: Node warns past 10).
    for (const s of sources) {
      await sink.consume(createReadStream(store.state.blobPath(s.generation), { highWaterMark: 1 << 20 }));
    }
    await new Promise<void>((resolve, reject) =>
      sink.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    sink.close();
    rmSync(path, { force: true });
    throw err;
  }
  sink.close();
  return { path, hash };
}

function storeNew(
  store: Store,
  base: Omit<ObjectRecord, 'generation' | 'metageneration' | 'timeCreated' | 'updated'>,
  path: string,
): ObjectRecord {
  const now = new Date().toISOString();
  const record: ObjectRecord = {
    ...base,
    generation: store.state.nextGeneration(),
    metageneration: 1,
    timeCreated: now,
    updated: now,
  };
  store.state.commitObject(record, path);
  return record;
}

async function compose(store: Store, c: RouteContext, bucket: string, name: string): Promise<void> {
  const body = await readJson<{
    sourceObjects?: {
      name?: string;
      generation?: string;
      objectPreconditions?: { ifGenerationMatch?: string };
    }[];
    destination?: Record<string, unknown>;
  }>(c);
  requireBucket(store, bucket);
  const list = body.sourceObjects ?? [];
  if (list.length === 0)
    throw new ApiError(400, 'The number of source components provided (0) is less than the minimum (1).');
  if (list.length > 32)
    throw new ApiError(
      400,
      `The number of source components provided (${list.length}) exceeds the maximum (32).`,
    );
  const sources = list.map((s) => {
    if (!s.name) throw new ApiError(400, 'Required field: sourceObjects.name', 'required');
    const o = requireObject(store, bucket, s.name);
    if (s.generation !== undefined && String(s.generation) !== o.generation)
      throw new ApiError(404, `No such object: ${bucket}/${s.name}`, 'notFound');
    const want = s.objectPreconditions?.ifGenerationMatch;
    if (want !== undefined && String(want) !== o.generation) {
      throw new ApiError(
        412,
        'At least one of the pre-conditions you specified did not hold.',
        'conditionNotMet',
      );
    }
    return o;
  });
  const preconditions = preconditionsFrom(c.url.searchParams);
  checkPreconditions(preconditions, store.state.objectsIn(bucket)[name]);
  const { path, hash } = await concatInto(store, sources);
  const init = objectInitFrom(body.destination ?? {});
  checkPreconditions(preconditions, store.state.objectsIn(bucket)[name]);
  // Composite objects carry a CRC32C and componentCount but no MD5, as on Google.
  const record = storeNew(
    store,
    {
      bucket,
      name,
      size: hash.length,
      contentType: init.contentType ?? sources[0]?.contentType ?? 'application/octet-stream',
      ...(init.contentEncoding ? { contentEncoding: init.contentEncoding } : {}),
      ...(init.metadata ? { metadata: init.metadata } : {}),
      crc32c: hash.digests().crc32c,
      componentCount: sources.reduce((n, s) => n + (s.componentCount ?? 1), 0),
      storageClass: store.state.buckets[bucket]?.storageClass ?? 'STANDARD',
    },
    path,
  );
  sendJson(c.res, 200, objectJson(store, record, c.fault?.corruptChecksum));
}

async function copy(
  store: Store,
  c: RouteContext,
  srcBucket: string,
  srcName: string,
  dstBucket: string,
  dstName: string,
  rewrite: boolean,
): Promise<void> {
  const body = await readJson(c);
  const src = liveObject(store, c, srcBucket, srcName);
  requireBucket(store, dstBucket);
  const q = c.url.searchParams;
  const srcPre = {
    ...(q.get('ifSourceGenerationMatch') !== null
      ? { ifGenerationMatch: q.get('ifSourceGenerationMatch') as string }
      : {}),
    ...(q.get('ifSourceGenerationNotMatch') !== null
      ? { ifGenerationNotMatch: q.get('ifSourceGenerationNotMatch') as string }
      : {}),
  };
  checkPreconditions(srcPre, src);
  const preconditions = preconditionsFrom(q);
  checkPreconditions(preconditions, store.state.objectsIn(dstBucket)[dstName]);
  const { path, hash } = await concatInto(store, [src]);
  const init = objectInitFrom(body);
  const { crc32c, md5Hash } = hash.digests();
  const { generation: _g, metageneration: _m, timeCreated: _t, updated: _u, ...rest } = src;
  const record = storeNew(
    store,
    {
      ...rest,
      bucket: dstBucket,
      name: dstName,
      crc32c,
      ...(src.md5Hash ? { md5Hash } : {}),
      ...(init.contentType ? { contentType: init.contentType } : {}),
      ...(init.metadata ? { metadata: init.metadata } : {}),
    },
    path,
  );
  const resource = objectJson(store, record, c.fault?.corruptChecksum);
  if (!rewrite) return sendJson(c.res, 200, resource);
  sendJson(c.res, 200, {
    kind: 'storage#rewriteResponse',
    totalBytesRewritten: String(record.size),
    objectSize: String(record.size),
    done: true,
    resource,
  });
}
