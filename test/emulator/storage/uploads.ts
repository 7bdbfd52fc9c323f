import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ApiError, checkBody, errorBody, type RouteContext, readJson, sendJson } from '../http.ts';
import { BlobSink, COMMIT_QUANTUM } from './blob-sink.ts';
import { type ContentRange, parseContentRange } from './content-range.ts';
import { hashFile, parseGoogHash, RunningHash } from './hashing.ts';
import { MultipartMediaExtractor, multipartBoundary } from './multipart.ts';
import { preconditionsFrom } from './preconditions.ts';
import type { ObjectInit, Preconditions, SessionRecord } from './state.ts';
import {
  finalizeUpload,
  objectInitFrom,
  objectJson,
  requireBucket,
  type Store,
  type UploadEvent,
} from './store.ts';

const header = (c: RouteContext, name: string): string | undefined => {
  const v = c.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function addUploadRoutes(store: Store): void {
  // gcloud (apitools) starts resumable uploads under the `/resumable/upload/...` alias, which Google serves too.
  for (const path of ['/upload/storage/v1/b/{bucket}/o', '/resumable/upload/storage/v1/b/{bucket}/o'])
    addUploadPath(store, path);
}

function addUploadPath(store: Store, path: string): void {
  const r = store.ctx.router;
  r.add('POST', path, (c) => {
    const uploadId = c.url.searchParams.get('upload_id');
    if (uploadId) return resumablePut(store, c, uploadId);
    const type = c.url.searchParams.get('uploadType') ?? 'media';
    if (type === 'media') return simpleUpload(store, c, false);
    if (type === 'multipart') return simpleUpload(store, c, true);
    if (type === 'resumable') return startSession(store, c);
    c.req.resume();
    throw new ApiError(400, `Invalid upload type: ${type}`);
  });
  r.add('PUT', path, (c) => resumablePut(store, c, requireUploadId(c)));
  r.add('DELETE', path, (c) => cancelSession(store, c, requireUploadId(c)));
}

function requireUploadId(c: RouteContext): string {
  const id = c.url.searchParams.get('upload_id');
  if (!id) {
    c.req.resume();
    throw new ApiError(400, 'Required parameter: upload_id', 'required');
  }
  return id;
}

/** `uploadType=media` (bytes only, name in the query) and `uploadType=multipart` (JSON metadata + bytes). */
async function simpleUpload(store: Store, c: RouteContext, multipart: boolean): Promise<void> {
  const bucket = c.params.bucket as string;
  let preconditions: Preconditions;
  let boundary = '';
  try {
    requireBucket(store, bucket);
    preconditions = preconditionsFrom(c.url.searchParams);
    if (multipart) boundary = multipartBoundary(header(c, 'content-type'));
    else if (!c.url.searchParams.get('name')) throw new ApiError(400, 'Required parameter: name', 'required');
  } catch (err) {
    c.req.resume();
    throw err;
  }
  const tmp = store.state.tmpPath(randomUUID());
  const hash = new RunningHash();
  const sink = new BlobSink(tmp, hash, { append: false });
  let init: ObjectInit = {};
  try {
    if (multipart) {
      const extractor = new MultipartMediaExtractor(boundary);
      await pipeline(c.body(), extractor, sink);
      // The metadata part is the method's body: a field objects.insert does not define is refused.
      checkBody(c, extractor.metadata);
      init = objectInitFrom(extractor.metadata);
      init.contentType ??= extractor.mediaContentType;
    } else {
      await pipeline(c.body(), sink);
      init.contentType = header(c, 'content-type');
    }
    sink.close();
    const queryName = c.url.searchParams.get('name');
    if (queryName && init.name && queryName !== init.name) {
      throw new ApiError(400, `Value '${init.name}' in content does not agree with value '${queryName}'.`);
    }
    const name = queryName ?? init.name;
    if (!name) throw new ApiError(400, 'Required parameter: name', 'required');
    const contentEncoding = c.url.searchParams.get('contentEncoding');
    if (contentEncoding) init.contentEncoding = contentEncoding;
    const record = finalizeUpload(store, {
      bucket,
      name,
      init,
      preconditions,
      hash,
      path: tmp,
      headerHashes: parseGoogHash(c.req.headers['x-goog-hash']),
    });
    sendJson(c.res, 200, objectJson(store, record, c.fault?.corruptChecksum));
  } catch (err) {
    await sink.settle();
    sink.close();
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `uploadType=resumable` initiation: metadata now, bytes later through the session URI in `Location`. */
async function startSession(store: Store, c: RouteContext): Promise<void> {
  const bucket = c.params.bucket as string;
  const body = await readJson(c);
  requireBucket(store, bucket);
  const init = objectInitFrom(body);
  const queryName = c.url.searchParams.get('name');
  if (queryName && init.name && queryName !== init.name) {
    throw new ApiError(400, `Value '${init.name}' in content does not agree with value '${queryName}'.`);
  }
  const name = queryName ?? init.name;
  if (!name) throw new ApiError(400, 'Required parameter: name', 'required');
  init.contentType ??= header(c, 'x-upload-content-type');
  const contentEncoding = c.url.searchParams.get('contentEncoding');
  if (contentEncoding) init.contentEncoding = contentEncoding;
  const declared = header(c, 'x-upload-content-length');
  const id = `${randomBytes(24).toString('base64url')}`;
  const session: SessionRecord = {
    id,
    bucket,
    name,
    init,
    preconditions: preconditionsFrom(c.url.searchParams),
    ...(declared !== undefined && /^\d+$/.test(declared) ? { declaredSize: Number(declared) } : {}),
    committed: 0,
    crc: 0,
    createdMs: Date.now(),
  };
  writeFileSync(store.state.partPath(id), '');
  store.state.sessions[id] = session;
  store.state.save();
  store.sessionHashes.set(id, new RunningHash());
  const location = `${store.ctx.url}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
  c.res.writeHead(200, { location, 'x-guploader-uploadid': id, 'content-length': 0 }).end();
}

/** The session, or 404 (unknown id) / 410 (expired, as Google answers for a session no longer available). */
function liveSession(store: Store, c: RouteContext, id: string): SessionRecord {
  const s = store.state.sessions[id];
  if (!s) throw new ApiError(404, 'No such upload session.', 'notFound');
  if (!s.finalized && Date.now() - s.createdMs > store.ctx.options.resumableSessionTtlMs) {
    delete store.state.sessions[id];
    store.state.save();
    store.sessionHashes.delete(id);
    rmSync(store.state.partPath(id), { force: true });
    throw new ApiError(
      410,
      'The requested upload session has expired; start a new resumable upload.',
      'gone',
    );
  }
  if (s.bucket !== c.params.bucket) throw new ApiError(404, 'No such upload session.', 'notFound');
  return s;
}

/** The running hash of the committed bytes; after a restart MD5 state is rebuilt from the part file. */
async function sessionHash(store: Store, s: SessionRecord): Promise<RunningHash> {
  const h = store.sessionHashes.get(s.id);
  if (h && h.length === s.committed) return h;
  const rebuilt = await hashFile(store.state.partPath(s.id), s.committed);
  store.sessionHashes.set(s.id, rebuilt);
  return rebuilt;
}

function rangeHeader(committed: number): Record<string, string> {
  return committed > 0 ? { range: `bytes=0-${committed - 1}` } : {};
}

function send308(c: RouteContext, committed: number): void {
  c.res.writeHead(308, { ...rangeHeader(committed), 'content-length': 0 }).end();
}

/** Counts body bytes and drops the first `skip` (bytes the session already holds). */
class SkipAndCount {
  seen = 0;
  constructor(private skip: number) {}
  take = (chunk: Buffer): Buffer => {
    this.seen += chunk.length;
    if (this.skip >= chunk.length) {
      this.skip -= chunk.length;
      return chunk.subarray(0, 0);
    }
    const out = this.skip > 0 ? chunk.subarray(this.skip) : chunk;
    this.skip = 0;
    return out;
  };
}

const sessionLocks = new WeakMap<Store, Map<string, Promise<void>>>();

/**
 * Requests on one session run one after another: a status query that follows a broken PUT sees the
 * bytes that PUT committed, even when its last writes were still reaching the disk.
 */
function resumablePut(store: Store, c: RouteContext, id: string): Promise<void> {
  let locks = sessionLocks.get(store);
  if (!locks) {
    locks = new Map();
    sessionLocks.set(store, locks);
  }
  const prev = locks.get(id) ?? Promise.resolve();
  const run = prev.then(() => resumablePutNow(store, c, id));
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  locks.set(id, tail);
  void tail.then(() => {
    if (locks.get(id) === tail) locks.delete(id);
  });
  return run;
}

async function resumablePutNow(store: Store, c: RouteContext, id: string): Promise<void> {
  const rangeText = header(c, 'content-range');
  const event: UploadEvent = {
    uploadId: id,
    contentRange: rangeText,
    bodyBytes: 0,
    committedBefore: 0,
    committedAfter: 0,
    outcome: 'rejected',
  };
  store.uploadEvents.push(event);
  // Bounded: a long benchmark must not grow the emulator's memory through this log.
  if (store.uploadEvents.length > 10_000) store.uploadEvents.splice(0, 1_000);
  let s: SessionRecord;
  let range: ContentRange;
  try {
    s = liveSession(store, c, id);
    event.committedBefore = event.committedAfter = s.committed;
    range = parseContentRange(rangeText);
  } catch (err) {
    c.req.resume();
    throw err;
  }
  if (s.finalized) {
    // A finished session answers every further request with the object.
    c.req.resume();
    event.outcome = 'query';
    return sendJson(c.res, 200, objectJson(store, s.finalized, c.fault?.corruptChecksum));
  }

  if (range.kind === 'query') {
    c.req.resume();
    event.outcome = 'query';
    if (range.total !== undefined && range.total < s.committed) {
      throw new ApiError(
        400,
        `Content-Range total ${range.total} is less than the ${s.committed} bytes already uploaded.`,
      );
    }
    if (range.total !== undefined && range.total === s.committed) {
      // `bytes */N` with everything received finalizes (an empty final chunk).
      return finalizeSession(store, c, s, await sessionHash(store, s), event);
    }
    return send308(c, s.committed);
  }

  if (range.start > s.committed) {
    c.req.resume();
    throw new ApiError(
      400,
      `Invalid request. According to the Content-Range header, the upload offset is ${range.start} byte(s), which exceeds already uploaded size of ${s.committed} byte(s).`,
    );
  }
  if (range.total !== undefined && range.total < s.committed) {
    c.req.resume();
    throw new ApiError(
      400,
      `Content-Range total ${range.total} is less than the ${s.committed} bytes already uploaded.`,
    );
  }

  const hash = await sessionHash(store, s);
  const partPath = store.state.partPath(s.id);
  const before = s.committed;
  const counter = new SkipAndCount(before - range.start);
  const sink = new BlobSink(partPath, hash, { append: true });
  try {
    await sink.consume(c.body(), counter.take);
  } catch (err) {
    // Broken connection: keep what arrived, cut back to a 256 KiB boundary as Google commits.
    await sink.settle();
    const kept = sink.truncateToBoundary();
    sink.close();
    commit(store, s, kept);
    event.bodyBytes = counter.seen;
    event.committedAfter = s.committed;
    event.outcome = 'reset';
    throw err;
  }
  sink.close();
  event.bodyBytes = counter.seen;
  if (range.end !== undefined && counter.seen !== range.end - range.start + 1) {
    // The body disagrees with its Content-Range: discard it.
    const restored = await rollback(store, s, before);
    event.committedAfter = restored;
    throw new ApiError(
      400,
      `Content-Range ${rangeText} declares ${range.end - range.start + 1} bytes but the body had ${counter.seen}.`,
    );
  }
  const received = hash.length;
  const final = range.end === undefined ? true : range.total !== undefined && range.end + 1 === range.total;
  if (final) {
    if (range.total !== undefined && received !== range.total) {
      const restored = await rollback(store, s, before);
      event.committedAfter = restored;
      throw new ApiError(
        400,
        `Content-Range declares ${range.total} bytes in total but ${received} were received.`,
      );
    }
    commit(store, s, hash);
    return finalizeSession(store, c, s, hash, event);
  }
  // A non-final chunk: commit whole 256 KiB units; the client re-sends the rest (it reads our Range).
  const kept =
    received % COMMIT_QUANTUM === 0 ? hash : await cutBack(store, s, received - (received % COMMIT_QUANTUM));
  commit(store, s, kept);
  event.committedAfter = s.committed;
  event.outcome = 'incomplete';
  send308(c, s.committed);
}

function commit(store: Store, s: SessionRecord, h: RunningHash): void {
  s.committed = h.length;
  s.crc = h.crc;
  store.sessionHashes.set(s.id, h);
  store.state.save();
}

/** Truncates the part file to `length` and rebuilds the hash from disk. */
async function cutBack(store: Store, s: SessionRecord, length: number): Promise<RunningHash> {
  const p = store.state.partPath(s.id);
  truncateSync(p, length);
  return hashFile(p, length);
}

async function rollback(store: Store, s: SessionRecord, length: number): Promise<number> {
  commit(store, s, await cutBack(store, s, length));
  return s.committed;
}

async function finalizeSession(
  store: Store,
  c: RouteContext,
  s: SessionRecord,
  hash: RunningHash,
  event: UploadEvent,
): Promise<void> {
  if (s.declaredSize !== undefined && hash.length !== s.declaredSize) {
    throw new ApiError(
      400,
      `X-Upload-Content-Length declared ${s.declaredSize} bytes but ${hash.length} were uploaded.`,
    );
  }
  // On success finalizeUpload moves the part file into place as the object's bytes.
  const record = finalizeUpload(store, {
    bucket: s.bucket,
    name: s.name,
    init: s.init,
    preconditions: s.preconditions,
    hash,
    path: store.state.partPath(s.id),
    headerHashes: parseGoogHash(c.req.headers['x-goog-hash']),
  });
  s.finalized = record;
  store.sessionHashes.delete(s.id);
  forgetOldFinalized(store);
  store.state.save();
  event.committedAfter = hash.length;
  event.outcome = 'finalized';
  sendJson(c.res, 200, objectJson(store, record, c.fault?.corruptChecksum));
}

/** Finished sessions keep answering with their object, but only the latest few hundred are kept. */
function forgetOldFinalized(store: Store, keep = 200): void {
  const done = Object.values(store.state.sessions).filter((x) => x.finalized);
  if (done.length <= keep) return;
  done.sort((a, b) => a.createdMs - b.createdMs);
  for (const old of done.slice(0, done.length - keep)) delete store.state.sessions[old.id];
}

/** DELETE on a session cancels it; Google answers 499. */
function cancelSession(store: Store, c: RouteContext, id: string): void {
  c.req.resume();
  const s = liveSession(store, c, id);
  delete store.state.sessions[id];
  store.state.save();
  store.sessionHashes.delete(id);
  rmSync(store.state.partPath(s.id), { force: true });
  sendJson(c.res, 499, errorBody(499, 'Client Closed Request', 'clientClosedRequest'));
}
