import { closeSync, ftruncateSync, openSync, write, writev } from 'node:fs';
import { type Readable, Writable } from 'node:stream';
import type { RunningHash } from './hashing.ts';

/** Google commits interrupted resumable uploads in multiples of 256 KiB. */
export const COMMIT_QUANTUM = 256 * 1024;

/**
 * Writes a byte stream into a file at a position and hashes exactly the bytes that reached the file.
 * It remembers the hash state at the last 256 KiB boundary, so an interrupted upload can be cut back
 * to a boundary (as Google commits) without re-reading the file.
 */
export class BlobSink extends Writable {
  private fd: number;
  private fdClosed = false;
  private inflight: Promise<void> = Promise.resolve();
  /** Hash state at `boundary.length`, the last multiple of 256 KiB written. */
  private boundary: RunningHash;

  constructor(
    path: string,
    readonly hash: RunningHash,
    opts: { append: boolean },
  ) {
    super({ highWaterMark: 1 << 20 });
    // 'r+' keeps existing bytes (resumed session); 'w' starts a fresh file.
    this.fd = openSync(path, opts.append ? 'r+' : 'w');
    ftruncateSync(this.fd, hash.length);
    // Committed bytes are never cut back, even if they do not end on a boundary.
    this.boundary = hash.copy();
  }

  /** Bytes now in the file (including what was there before). */
  get length(): number {
    return this.hash.length;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inflight = new Promise((done) => {
      write(this.fd, chunk, 0, chunk.length, this.hash.length, (err, written) => {
        const short =
          !err && written !== chunk.length
            ? new Error(`short write: ${written} of ${chunk.length} bytes`)
            : null;
        if (!err && !short) this.absorb(chunk);
        done();
        cb(err ?? short);
      });
    });
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const bufs = chunks.map((c) => c.chunk);
    this.inflight = new Promise((done) => {
      const total = bufs.reduce((n, b) => n + b.length, 0);
      writev(this.fd, bufs, this.hash.length, (err, written) => {
        const short =
          !err && written !== total ? new Error(`short write: ${written} of ${total} bytes`) : null;
        if (!err && !short) for (const b of bufs) this.absorb(b);
        done();
        cb(err ?? short);
      });
    });
  }

  private absorb(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      const toBoundary = COMMIT_QUANTUM - (this.hash.length % COMMIT_QUANTUM);
      const piece = rest.subarray(0, Math.min(toBoundary, rest.length));
      this.hash.update(piece);
      rest = rest.subarray(piece.length);
      if (this.hash.length % COMMIT_QUANTUM === 0) this.boundary = this.hash.copy();
    }
  }

  /**
   * Writes every chunk `source` emits, in order, applying backpressure by pausing the source. Unlike
   * pipeline(), a chunk that arrived just before the source errors (a connection reset) is still
   * written: those bytes were received, and a resumable session keeps them.
   */
  consume(
    source: Readable,
    filter: (chunk: Buffer) => Buffer = (c) => c,
    highWater = 8 << 20,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let chain: Promise<void> = Promise.resolve();
      let pending = 0;
      let failed: Error | undefined;
      source.on('data', (data: Buffer) => {
        const chunk = filter(data);
        if (chunk.length === 0) return;
        pending += chunk.length;
        if (pending > highWater) source.pause();
        chain = chain.then(async () => {
          if (failed) return;
          await this.writeAt(chunk).catch((err: Error) => {
            failed = err;
            source.destroy(err);
          });
          pending -= chunk.length;
          if (pending <= highWater / 2 && source.isPaused()) source.resume();
        });
      });
      source.once('end', () => void chain.then(() => (failed ? reject(failed) : resolve())));
      source.once('error', (err) => void chain.then(() => reject(failed ?? err)));
    });
  }

  private writeAt(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      write(this.fd, chunk, 0, chunk.length, this.hash.length, (err, written) => {
        if (err) return reject(err);
        if (written !== chunk.length)
          return reject(new Error(`short write: ${written} of ${chunk.length} bytes`));
        this.absorb(chunk);
        resolve();
      });
    });
  }

  /** Resolves once no write is in flight (after an error, before truncating or closing). */
  settle(): Promise<void> {
    return this.inflight;
  }

  /** Cuts the file back to the last 256 KiB boundary; returns the hash state there. */
  truncateToBoundary(): RunningHash {
    if (this.boundary.length !== this.hash.length) ftruncateSync(this.fd, this.boundary.length);
    return this.boundary;
  }

  close(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    closeSync(this.fd);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // The fd stays open until close(): the caller may still truncate after an error.
    cb(err);
  }
}
