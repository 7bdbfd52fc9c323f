import { STATUS_CODES } from 'node:http';
import { ApiError, type RouteContext, readSmallBody } from '../http.ts';
import type { Core } from './core.ts';

/**
 * `POST /batch/compute/v1`: a multipart/mixed envelope of application/http parts, as gcloud's batch helper
 * sends (e.g. `gcloud compute images list`). Each part is dispatched as a real loopback request marked
 * `x-emulator-batch: 1`, so the request log records every inner call; the answer is multipart/mixed with
 * `Content-ID: <response-ID>` for each part.
 */
export function addBatchRoute(core: Core): void {
  core.ctx.router.add('POST', '/batch/compute/v1', (rc) => handleBatch(core, rc));
}

interface InnerRequest {
  contentId: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

async function handleBatch(core: Core, rc: RouteContext): Promise<void> {
  const type = rc.req.headers['content-type'] ?? '';
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (!/^multipart\/mixed/i.test(type) || !boundary) {
    throw new ApiError(
      400,
      'Batch requests need Content-Type multipart/mixed with a boundary.',
      'badRequest',
    );
  }
  const raw = await readSmallBody(rc.body(), 16 * 1024 * 1024);
  const parts = splitMultipart(raw, (boundary[1] ?? boundary[2]) as string);
  if (parts.length === 0) throw new ApiError(400, 'The batch request has no parts.', 'badRequest');
  if (parts.length > 1000)
    throw new ApiError(400, 'A batch request can hold at most 1000 calls.', 'badRequest');
  const inner = parts.map(parsePart);
  const answers = await Promise.all(inner.map((r) => dispatch(core, r)));

  const outBoundary = `batch_${Math.random().toString(36).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const [i, a] of answers.entries()) {
    const req = inner[i] as InnerRequest;
    const head = [
      `--${outBoundary}`,
      'Content-Type: application/http',
      `Content-ID: <response-${req.contentId}>`,
      '',
      `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ''}`,
      `Content-Type: ${a.contentType}`,
      `Content-Length: ${a.body.length}`,
      '',
      '',
    ].join('\r\n');
    chunks.push(Buffer.from(head), a.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${outBoundary}--\r\n`));
  const body = Buffer.concat(chunks);
  rc.res.writeHead(200, {
    'content-type': `multipart/mixed; boundary=${outBoundary}`,
    'content-length': body.length,
  });
  rc.res.end(body);
}

function splitMultipart(raw: Buffer, boundary: string): Buffer[] {
  const text = raw.toString('latin1');
  const delim = `--${boundary}`;
  const out: Buffer[] = [];
  const pieces = text.split(delim);
  for (const piece of pieces.slice(1)) {
    if (piece.startsWith('--')) break;
    out.push(Buffer.from(piece.replace(/^\r?\n/, '').replace(/\r?\n$/, ''), 'latin1'));
  }
  return out;
}

/** Splits `headers \r\n\r\n rest` with either CRLF or LF line ends. */
function splitHead(buf: Buffer): [string[], Buffer] {
  const text = buf.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return [text.split(/\r?\n/).filter(Boolean), Buffer.alloc(0)];
  const head = text.slice(0, m.index).split(/\r?\n/);
  return [head, Buffer.from(text.slice(m.index + m[0].length), 'latin1')];
}

function parsePart(part: Buffer, index: number): InnerRequest {
  const [mimeHead, http] = splitHead(part);
  let contentId = String(index + 1);
  for (const line of mimeHead) {
    const m = /^content-id:\s*<?([^>]*)>?\s*$/i.exec(line);
    if (m) contentId = m[1] as string;
  }
  const [head, body] = splitHead(http);
  const requestLine = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/[\d.]+)?$/.exec(head[0] ?? '');
  if (!requestLine)
    throw new ApiError(400, `Batch part ${index + 1} has no HTTP request line.`, 'badRequest');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let path = requestLine[2] as string;
  if (/^https?:\/\//.test(path)) {
    const u = new URL(path);
    path = `${u.pathname}${u.search}`;
  }
  const length = headers['content-length'] ? Number(headers['content-length']) : body.length;
  return { contentId, method: requestLine[1] as string, path, headers, body: body.subarray(0, length) };
}

async function dispatch(
  core: Core,
  r: InnerRequest,
): Promise<{ status: number; contentType: string; body: Buffer }> {
  const headers: Record<string, string> = { 'x-emulator-batch': '1' };
  for (const h of ['content-type', 'if-match', 'user-agent'])
    if (r.headers[h]) headers[h] = r.headers[h] as string;
  const hasBody = r.body.length > 0 && r.method !== 'GET' && r.method !== 'HEAD';
  const res = await fetch(`${core.ctx.url}${r.path}`, {
    method: r.method,
    headers,
    ...(hasBody ? { body: r.body } : {}),
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? 'application/json; charset=UTF-8',
    body: Buffer.from(await res.arrayBuffer()),
  };
}
