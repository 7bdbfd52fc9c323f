import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import { bucketResource } from './resources.ts';
import type { BucketIamConfiguration, BucketRecord } from './state.ts';
import { requireBucket, type Store } from './store.ts';

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export function createBucketRecord(
  store: Store,
  name: string,
  project: string,
  body: {
    location?: string;
    storageClass?: string;
    labels?: Record<string, string>;
    iamConfiguration?: BucketIamConfiguration;
  } = {},
): BucketRecord {
  if (!BUCKET_NAME.test(name) || name.includes('..') || name.startsWith('goog')) {
    throw new ApiError(400, `Invalid bucket name: '${name}'`);
  }
  if (store.state.buckets[name]) {
    throw new ApiError(
      409,
      'Your previous request to create the named bucket succeeded and you already own it.',
      'conflict',
    );
  }
  const now = new Date().toISOString();
  const record: BucketRecord = {
    name,
    project,
    location: (body.location ?? 'US').toUpperCase(),
    storageClass: (body.storageClass ?? 'STANDARD').toUpperCase(),
    timeCreated: now,
    updated: now,
    metageneration: 1,
    ...(body.labels ? { labels: body.labels } : {}),
    ...(body.iamConfiguration ? { iamConfiguration: iamConfigurationOf(body.iamConfiguration) } : {}),
  };
  store.state.buckets[name] = record;
  store.state.save();
  return record;
}

/** The two settings a bucket insert may carry; anything but Google's values is refused. */
function iamConfigurationOf(input: BucketIamConfiguration): BucketIamConfiguration {
  const pap = input.publicAccessPrevention;
  if (pap !== undefined && pap !== 'enforced' && pap !== 'inherited') {
    throw new ApiError(
      400,
      `Invalid argument: publicAccessPrevention must be 'enforced' or 'inherited', not '${String(pap)}'.`,
      'invalid',
    );
  }
  return {
    uniformBucketLevelAccess: { enabled: input.uniformBucketLevelAccess?.enabled === true },
    publicAccessPrevention: pap ?? 'inherited',
  };
}

export function addBucketRoutes(store: Store): void {
  const r = store.ctx.router;
  const base = () => store.ctx.url;

  r.add('POST', '/storage/v1/b', async (c: RouteContext) => {
    const project = c.url.searchParams.get('project');
    const body = await readJson<{
      name?: unknown;
      location?: string;
      storageClass?: string;
      labels?: Record<string, string>;
      iamConfiguration?: BucketIamConfiguration;
    }>(c);
    if (!project) throw new ApiError(400, 'Required parameter: project', 'required');
    if (typeof body.name !== 'string' || !body.name)
      throw new ApiError(400, 'Required field: name', 'required');
    const record = createBucketRecord(store, body.name, project, body);
    sendJson(c.res, 200, bucketResource(base(), record));
  });

  r.add('GET', '/storage/v1/b', (c) => {
    const project = c.url.searchParams.get('project');
    if (!project) throw new ApiError(400, 'Required parameter: project', 'required');
    const prefix = c.url.searchParams.get('prefix') ?? '';
    const items = Object.values(store.state.buckets)
      .filter((b) => b.project === project && b.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((b) => bucketResource(base(), b));
    sendJson(c.res, 200, { kind: 'storage#buckets', ...(items.length ? { items } : {}) });
  });

  r.add('GET', '/storage/v1/b/{bucket}', (c) => {
    sendJson(c.res, 200, bucketResource(base(), requireBucket(store, c.params.bucket as string)));
  });

  r.add('DELETE', '/storage/v1/b/{bucket}', (c) => {
    const name = c.params.bucket as string;
    requireBucket(store, name);
    if (Object.keys(store.state.objectsIn(name)).length > 0) {
      throw new ApiError(409, 'The bucket you tried to delete is not empty.', 'conflict');
    }
    delete store.state.buckets[name];
    store.state.save();
    c.res.writeHead(204).end();
  });
}
