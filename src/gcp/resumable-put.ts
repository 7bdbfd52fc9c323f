import { type FileHandle, open } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readAhead } from '../read-pieces.ts';
import { fileCrc32c, wasmCrc32cGenerator } from './crc32c.ts';
import { GcpApiError, googleErrorMessage } from './errors.ts';
import { type RetryPolicy, retrying } from './retry.ts';
import { isTransientStorageError, storageError } from './storage.ts';

const IDLE_TIMEOUT_MS = 120_000;

/** The object a finished session returns (its JSON resource, the fields read here). */
interface SessionObject {
  crc32c?: string;
  size?: string;
  generation?: string;
}

/**
 * Streams a file into a resumable session (docs/architecture.md, "The Google client libraries") and returns
 * the object the server stored with the CRC32C we computed while sending. Hand-written on purpose
 * (bench/README.md, "lean PUT"): the library's stream pipeline allocates a buffer per 64 KiB read, which
 * costs far more CPU per byte than reading into a few reused buffers. On a broken connection or a
 * retryable status it asks the session how much it holds and continues from there, as the library would,
 * with our backoff until the retry deadline. The deadline counts from the last time the session took
 * bytes, so a long upload that breaks late still gets the whole deadline to resume.
 */
export async function putSession(
  uri: string,
  path: string,
  size: number,
  policy: RetryPolicy,
  what: string,
  on: { progress: (done: number) => void; sent: (done: number) => void; signal?: AbortSignal | undefined },
): Promise<{ object: SessionObject; crc32c: string }> {
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
          return { object: JSON.parse(res.body) as SessionObject, crc32c: hasher.toString() };
        const { message, reason } = googleErrorMessage(res.status, res.body);
        throw new GcpApiError(message, res.status, reason);
      },
      on.signal,
      what,
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
      // A buffer is read into again only once the socket has taken the previous write from it.
      const reached = await readAhead(
        fh,
        { from: offset, to: size },
        (chunk, at) => {
          onChunk(chunk, at);
          const end = at + chunk.length;
          return new Promise<void>((done) =>
            req.write(chunk, (err) => {
              if (!err) on.sent(end);
              done();
            }),
          );
        },
        () => settled,
      );
      if (settled) return;
      if (reached < size)
        throw new Error(`${size - reached} bytes short of the ${size} the file had when the upload started`);
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
): Promise<{ committed: number; done?: SessionObject }> {
  const res = await fetch(uri, {
    method: 'PUT',
    headers: { 'content-range': `bytes */${size}`, 'content-length': '0' },
    signal,
  });
  const body = await res.text();
  if (res.status === 200 || res.status === 201)
    return { committed: size, done: JSON.parse(body) as SessionObject };
  if (res.status !== 308) {
    const { message, reason } = googleErrorMessage(res.status, body);
    throw new GcpApiError(message, res.status, reason);
  }
  const m = /bytes=0-(\d+)/.exec(res.headers.get('range') ?? '');
  return { committed: m ? Number(m[1]) + 1 : 0 };
}
