/**
 * A lean resumable-upload endpoint used to find each client's own ceiling: it speaks just enough of the
 * Cloud Storage JSON API for a resumable upload (initiate, one PUT, object JSON, 404 on metadata reads),
 * computes CRC32C with a native implementation (as Google's frontends do in hardware) and discards the
 * bytes. It is not the emulator: figures taken against it are labelled "sink" in the results.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32c } from '@node-rs/crc32';

interface Session {
  bucket: string;
  name: string;
  crc: number;
  size: number;
}

export interface SinkServer {
  url: string;
  stop(): Promise<void>;
}

export async function startSinkServer(): Promise<SinkServer> {
  const sessions = new Map<string, Session>();
  let generation = 1;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: { code: 500, message: err.message } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const upload = /^\/(?:resumable\/)?upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (
      upload &&
      req.method === 'POST' &&
      url.searchParams.get('uploadType') === 'resumable' &&
      !url.searchParams.get('upload_id')
    ) {
      const body = JSON.parse((await readAll(req)).toString() || '{}') as { name?: string };
      const id = randomBytes(12).toString('hex');
      sessions.set(id, {
        bucket: decodeURIComponent(upload[1] as string),
        name: url.searchParams.get('name') ?? body.name ?? 'object',
        crc: 0,
        size: 0,
      });
      res
        .writeHead(200, {
          location: `${address()}${url.pathname}?uploadType=resumable&upload_id=${id}`,
          'content-length': 0,
        })
        .end();
      return;
    }
    const id = url.searchParams.get('upload_id');
    if (upload && id && (req.method === 'PUT' || req.method === 'POST')) {
      const session = sessions.get(id);
      if (!session) return json(res, 404, { error: { code: 404, message: 'No such upload session.' } });
      for await (const chunk of req) {
        session.crc = crc32c(chunk as Buffer, session.crc);
        session.size += (chunk as Buffer).length;
      }
      // A chunk of a chunked upload (`bytes a-b/*`, or `bytes a-b/N` short of N): 308 with what we hold.
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
      if (range && (range[3] === '*' || Number(range[2]) + 1 < Number(range[3]))) {
        res.writeHead(308, { range: `bytes=0-${session.size - 1}`, 'content-length': 0 }).end();
        return;
      }
      sessions.delete(id);
      const { crc, size } = session;
      const digest = Buffer.alloc(4);
      digest.writeUInt32BE(crc >>> 0);
      return json(res, 200, {
        kind: 'storage#object',
        bucket: session.bucket,
        name: session.name,
        generation: String(generation++),
        size: String(size),
        crc32c: digest.toString('base64'),
        contentType: 'application/x-tar',
      });
    }
    req.resume();
    json(res, 404, { error: { code: 404, message: 'Not Found' } });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: address(),
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
