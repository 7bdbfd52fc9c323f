import { ApiError } from '../http.ts';
import { parseFilter } from './filter.ts';

/** Applies `filter`, `orderBy`, `maxResults` and `pageToken` as Compute list methods do. */
export function listPage<T extends Record<string, unknown>>(
  items: T[],
  url: URL,
): { items: T[]; nextPageToken?: string } {
  return page(select(items, url), url);
}

/**
 * aggregatedList: `maxResults` and `pageToken` count items across the whole aggregate, not per scope, and
 * the one `nextPageToken` is at the top level. Scopes follow in name order, each filtered and ordered as its
 * own list is; a page holds only the scopes it has items of, each under `key` (`instanceTemplates`, ...).
 */
export function aggregatedPage<T extends Record<string, unknown>>(
  byScope: Record<string, T[]>,
  key: string,
  url: URL,
): { items: Record<string, Record<string, T[]>>; nextPageToken?: string } {
  const all = Object.keys(byScope)
    .sort()
    .flatMap((scope) => select(byScope[scope] ?? [], url).map((item) => ({ scope, item })));
  const { items: entries, nextPageToken } = page(all, url);
  const items: Record<string, Record<string, T[]>> = {};
  for (const { scope, item } of entries) {
    const list = items[scope]?.[key] ?? [];
    list.push(item);
    items[scope] = { [key]: list };
  }
  return nextPageToken ? { items, nextPageToken } : { items };
}

/** `filter` and `orderBy` (by name when absent). */
function select<T extends Record<string, unknown>>(items: T[], url: URL): T[] {
  const q = url.searchParams;
  const pred = parseFilter(q.get('filter'));
  let out = items.filter(pred);
  const orderBy = q.get('orderBy');
  if (orderBy) {
    const m = /^\s*(name|creationTimestamp)(\s+(asc|desc))?\s*$/.exec(orderBy);
    if (!m) {
      throw new ApiError(
        400,
        `Invalid value for field 'orderBy': '${orderBy}'. Sorting by that field is not supported.`,
        'invalid',
      );
    }
    const key = m[1] as string;
    const dir = m[3] === 'desc' ? -1 : 1;
    out = [...out].sort((a, b) => dir * cmp(a[key], b[key]));
  } else {
    out = [...out].sort((a, b) => cmp(a.name, b.name));
  }
  return out;
}

/** `maxResults` and `pageToken` over items already filtered and ordered. */
function page<T>(out: T[], url: URL): { items: T[]; nextPageToken?: string } {
  const q = url.searchParams;
  const maxRaw = q.get('maxResults');
  const max = maxRaw === null ? 500 : Number(maxRaw);
  if (!Number.isInteger(max) || max < 0 || max > 500) {
    throw new ApiError(
      400,
      `Invalid value for field 'maxResults': '${maxRaw}'. Must be less than or equal to 500`,
      'invalid',
    );
  }
  const token = q.get('pageToken');
  let start = 0;
  if (token) {
    start = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(start) || start < 0)
      throw new ApiError(400, `Invalid value for field 'pageToken': '${token}'.`, 'invalid');
  }
  const size = max === 0 ? 500 : max;
  const items = out.slice(start, start + size);
  const next =
    start + size < out.length ? Buffer.from(`offset:${start + size}`).toString('base64url') : undefined;
  return next ? { items, nextPageToken: next } : { items };
}

function cmp(a: unknown, b: unknown): number {
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
}
