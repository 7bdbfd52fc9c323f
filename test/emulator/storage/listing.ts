import { ApiError } from '../http.ts';
import { objectResource } from './resources.ts';
import type { Store } from './store.ts';

interface PageToken {
  /** Last name or prefix returned. */
  after: string;
  /** True when `after` was a prefix: every name under it was already covered. */
  prefix: boolean;
}

function decodeToken(token: string | null): PageToken | undefined {
  if (!token) return undefined;
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PageToken;
    if (typeof t.after === 'string') return t;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'Invalid argument: pageToken.');
}

const encodeToken = (t: PageToken) => Buffer.from(JSON.stringify(t)).toString('base64url');

/** objects.list: prefix, delimiter (prefixes[]), startOffset/endOffset, maxResults, pageToken. */
export function listObjects(store: Store, bucket: string, q: URLSearchParams): Record<string, unknown> {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const startOffset = q.get('startOffset');
  const endOffset = q.get('endOffset');
  const includeTrailing = q.get('includeTrailingDelimiter') === 'true';
  const maxRaw = q.get('maxResults');
  const max = maxRaw === null ? 1000 : Math.min(1000, Number(maxRaw));
  if (!Number.isInteger(max) || max < 1) throw new ApiError(400, `Invalid value for maxResults: ${maxRaw}`);
  const token = decodeToken(q.get('pageToken'));

  const objects = store.state.objectsIn(bucket);
  const names = Object.keys(objects).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const items: Record<string, unknown>[] = [];
  const prefixes: string[] = [];
  let emitted = 0;
  let last: PageToken | undefined;
  let more = false;
  for (const name of names) {
    const record = objects[name];
    if (!record || !name.startsWith(prefix)) continue;
    if (startOffset !== null && name < startOffset) continue;
    if (endOffset !== null && name >= endOffset) continue;
    if (token && (name <= token.after || (token.prefix && name.startsWith(token.after)))) continue;
    const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) {
      const p = name.slice(0, cut + delimiter.length);
      if (last?.prefix && last.after === p) continue;
      if (emitted === max) {
        more = true;
        break;
      }
      prefixes.push(p);
      if (includeTrailing && name === p) items.push(objectResource(store.ctx.url, record));
      last = { after: p, prefix: true };
      emitted++;
      continue;
    }
    if (emitted === max) {
      more = true;
      break;
    }
    items.push(objectResource(store.ctx.url, record));
    last = { after: name, prefix: false };
    emitted++;
  }
  return {
    kind: 'storage#objects',
    ...(more && last ? { nextPageToken: encodeToken(last) } : {}),
    ...(prefixes.length ? { prefixes } : {}),
    ...(items.length ? { items } : {}),
  };
}
