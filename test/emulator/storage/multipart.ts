import { Transform, type TransformCallback } from 'node:stream';
import { ApiError } from '../http.ts';

export function multipartBoundary(contentType: string | undefined): string {
  // Python's email package (gcloud) quotes the boundary with single quotes; Google accepts both kinds.
  const m = /^multipart\/related\s*;.*?boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2] ?? m?.[3];
  if (!boundary)
    throw new ApiError(400, 'Multipart upload needs Content-Type: multipart/related with a boundary.');
  return boundary;
}

const METADATA_LIMIT = 1 << 20;

/**
 * Streams the media part out of a `multipart/related` upload body: the first part (JSON metadata) is
 * buffered and parsed, the second part's bytes are pushed through without holding them in memory.
 * `onMetadata` runs before the first media byte is pushed.
 */
export class MultipartMediaExtractor extends Transform {
  private head: Buffer = Buffer.alloc(0);
  private state: 'head' | 'media' | 'done' = 'head';
  /** Bytes held back because they might start the closing delimiter. */
  private tail: Buffer = Buffer.alloc(0);
  /** `EOL--boundary`; EOL is CRLF per RFC 2046, but gcloud's Python email generator sends bare LF. */
  private delimiter: Buffer;
  private headerEnd = Buffer.from('\r\n\r\n');
  private readonly boundary: string;
  metadata: Record<string, unknown> = {};
  mediaContentType: string | undefined;

  constructor(boundary: string) {
    super();
    this.boundary = boundary;
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    this.open = Buffer.from(`--${boundary}`);
  }

  private readonly open: Buffer;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.state === 'head') {
        this.head = Buffer.concat([this.head, chunk]);
        const rest = this.parseHead();
        if (rest === undefined) {
          if (this.head.length > METADATA_LIMIT)
            throw new ApiError(400, 'Multipart metadata part is too large or malformed.');
          cb();
          return;
        }
        this.state = 'media';
        this.head = Buffer.alloc(0);
        chunk = rest;
      }
      if (this.state === 'media') this.scanMedia(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    cb(this.state === 'done' ? null : new ApiError(400, 'Multipart body ended before its closing boundary.'));
  }

  /** Parses `--b\r\nheaders\r\n\r\nJSON\r\n--b\r\nheaders\r\n\r\n`; returns the bytes after it, or undefined if incomplete. */
  private parseHead(): Buffer | undefined {
    const buf = this.head;
    const start = buf.indexOf(this.open);
    if (start < 0 || buf.length < start + this.open.length + 2) return undefined;
    const eol = buf[start + this.open.length] === 0x0d ? '\r\n' : '\n';
    this.delimiter = Buffer.from(`${eol}--${this.boundary}`);
    this.headerEnd = Buffer.from(eol + eol);
    const h1 = buf.indexOf(this.headerEnd, start);
    if (h1 < 0) return undefined;
    const end1 = buf.indexOf(this.delimiter, h1);
    if (end1 < 0) return undefined;
    const h2 = buf.indexOf(this.headerEnd, end1 + this.delimiter.length);
    if (h2 < 0) return undefined;
    const json = buf
      .subarray(h1 + this.headerEnd.length, end1)
      .toString('utf8')
      .trim();
    try {
      this.metadata = json ? (JSON.parse(json) as Record<string, unknown>) : {};
    } catch {
      throw new ApiError(400, 'Parse Error: the multipart metadata part is not valid JSON.', 'parseError');
    }
    const headers = buf.subarray(end1 + this.delimiter.length, h2).toString('latin1');
    this.mediaContentType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim();
    this.emit('metadata', this.metadata);
    return buf.subarray(h2 + this.headerEnd.length);
  }

  private scanMedia(chunk: Buffer): void {
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const at = data.indexOf(this.delimiter);
    if (at >= 0) {
      if (at > 0) this.push(data.subarray(0, at));
      this.tail = Buffer.alloc(0);
      this.state = 'done';
      return;
    }
    // Keep the last delimiter.length-1 bytes: they may be the start of the delimiter.
    const keep = Math.min(data.length, this.delimiter.length - 1);
    if (data.length > keep) this.push(data.subarray(0, data.length - keep));
    this.tail = Buffer.from(data.subarray(data.length - keep));
  }
}
