import { ApiError } from '../http.ts';

// The Content-Range forms of a resumable-session PUT (docs/architecture.md, "Resumable uploads"):
// - "bytes */N", "bytes */*": status query (with N, finalizes when N bytes are committed);
// - "bytes a-b/N", "bytes a-b/*": a chunk, final when b+1 = N;
// - "bytes a-*/N", "bytes a-*/*": the rest of the object in one streaming request;
// - absent: the whole object from byte 0.
export type ContentRange =
  | { kind: 'query'; total: number | undefined }
  | { kind: 'data'; start: number; end: number | undefined; total: number | undefined };

export function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined) return { kind: 'data', start: 0, end: undefined, total: undefined };
  const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw new ApiError(400, `Failed to parse Content-Range header: "${header}".`);
  const total = m[4] === '*' ? undefined : Number(m[4]);
  if (m[1] === '*') return { kind: 'query', total };
  const start = Number(m[2]);
  const end = m[3] === '*' ? undefined : Number(m[3]);
  if (end !== undefined && end < start)
    throw new ApiError(400, `Invalid Content-Range "${header}": last byte before first byte.`);
  if (total !== undefined && end !== undefined && end >= total) {
    throw new ApiError(400, `Invalid Content-Range "${header}": last byte beyond the total size.`);
  }
  return { kind: 'data', start, end, total };
}
