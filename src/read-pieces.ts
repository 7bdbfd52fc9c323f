import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';

/** Size of the one reused buffer a whole-file pass reads into. */
const PIECE_BYTES = 4 * 1024 * 1024;

/**
 * Reads a whole file in order through one reused buffer, handing each piece to `consume`, which must be
 * done with it when it returns (a hash update is). A fresh buffer per read, as `createReadStream` gives,
 * leaves garbage the GC finds late: tens of MB of peak RSS over a multi-GiB image.
 */
export async function readPieces(
  path: string,
  consume: (piece: Buffer) => void,
  signal?: AbortSignal,
): Promise<void> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(PIECE_BYTES);
    for (let position = 0; ; ) {
      signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, PIECE_BYTES, position);
      if (bytesRead === 0) return;
      consume(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/** Read-ahead for a consumer that takes pieces asynchronously: this many reused buffers of this size. */
const AHEAD_BUFFERS = 4;
const AHEAD_BYTES = 1024 * 1024;

/**
 * Reads `file` in order from `from` to `to` (or to its end) through AHEAD_BUFFERS reused buffers, handing
 * each piece and its position to `take`. `take` returns a promise that settles once the piece's buffer
 * may be read into again (the consumer is done with it), so reads run ahead of a consumer that works
 * elsewhere (zlib's thread pool, a socket). `stopped` is asked before each read. Returns the position
 * reached: short of `to` only when the file ended early or the reader stopped.
 */
export async function readAhead(
  file: FileHandle,
  range: { from: number; to?: number },
  take: (piece: Buffer, at: number) => Promise<unknown>,
  stopped: () => boolean,
): Promise<number> {
  const to = range.to ?? Number.POSITIVE_INFINITY;
  const buffers = Array.from({ length: AHEAD_BUFFERS }, () => Buffer.allocUnsafeSlow(AHEAD_BYTES));
  const free: Promise<unknown>[] = buffers.map(() => Promise.resolve());
  let at = range.from;
  for (let i = 0; at < to; i++) {
    const slot = i % AHEAD_BUFFERS;
    await free[slot];
    if (stopped()) break;
    const buffer = buffers[slot] as Buffer;
    const { bytesRead } = await file.read(buffer, 0, Math.min(AHEAD_BYTES, to - at), at);
    if (bytesRead === 0) break;
    free[slot] = take(buffer.subarray(0, bytesRead), at);
    at += bytesRead;
  }
  return at;
}

/** The SHA-256 of a whole file, as hex. */
export async function fileSha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await readPieces(path, (piece) => hash.update(piece), signal);
  return hash.digest('hex');
}
