import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import type { BucketIamPolicy, BucketRecord } from './state.ts';
import { requireBucket, type Store } from './store.ts';

type Binding = BucketIamPolicy['bindings'][number];

/** Principals a binding may name: `type:id`, or one of the two public sets. */
const MEMBER =
  /^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet|projectOwner|projectEditor|projectViewer|deleted:[a-zA-Z]+):.+)$/;

/**
 * `buckets.getIamPolicy` and `buckets.setIamPolicy` (GET and PUT /storage/v1/b/{bucket}/iam), which
 * `gcloud storage buckets add-iam-policy-binding` reads and writes. Policies are stored, never enforced:
 * the emulator has no callers to authorise.
 */
export function addBucketIamRoutes(store: Store): void {
  const r = store.ctx.router;
  r.add('GET', '/storage/v1/b/{bucket}/iam', (c) => {
    const b = requireBucket(store, c.params.bucket as string);
    sendJson(c.res, 200, policyResource(b));
  });
  r.add('PUT', '/storage/v1/b/{bucket}/iam', (c) => setPolicy(store, c));
}

async function setPolicy(store: Store, c: RouteContext): Promise<void> {
  const b = requireBucket(store, c.params.bucket as string);
  const input = await readJson<{ bindings?: unknown; etag?: unknown }>(c);
  const current = policyOf(b);
  // The etag is the policy's optimistic lock: a read-modify-write that lost a race gets 412. It is a byte
  // field: gcloud sends it back in URL-safe base64, which Node's base64 decoder reads too.
  if (
    input.etag !== undefined &&
    !Buffer.from(String(input.etag), 'base64').equals(Buffer.from(etagOf(current.serial), 'base64'))
  ) {
    throw new ApiError(412, 'Precondition Failed', 'conditionNotMet');
  }
  b.iamPolicy = { bindings: bindingsFrom(input.bindings), serial: current.serial + 1 };
  store.state.save();
  sendJson(c.res, 200, policyResource(b));
}

function bindingsFrom(input: unknown): Binding[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) throw invalid('bindings must be a list.');
  return input.map((raw: unknown, n) => {
    const binding = (raw ?? {}) as { role?: unknown; members?: unknown; condition?: unknown };
    if (typeof binding.role !== 'string' || !binding.role) throw invalid(`bindings[${n}] has no role.`);
    const members = binding.members;
    if (!Array.isArray(members) || members.length === 0)
      throw invalid(`bindings[${n}] (${binding.role}) has no members.`);
    for (const m of members) {
      if (typeof m !== 'string' || !MEMBER.test(m))
        throw invalid(`'${String(m)}' in bindings[${n}] is not a valid member.`);
    }
    return {
      role: binding.role,
      members: [...(members as string[])].sort(),
      ...(binding.condition && typeof binding.condition === 'object'
        ? { condition: binding.condition as Record<string, unknown> }
        : {}),
    };
  });
}

/**
 * A new bucket's policy: the project convenience values hold the legacy bucket roles, and with uniform
 * bucket-level access (no object ACLs) the legacy object roles as well.
 */
function policyOf(b: BucketRecord): BucketIamPolicy {
  if (b.iamPolicy) return b.iamPolicy;
  const p = b.project;
  const owners = [`projectEditor:${p}`, `projectOwner:${p}`];
  const readers = [`projectViewer:${p}`];
  const bindings: Binding[] = [
    { role: 'roles/storage.legacyBucketOwner', members: owners },
    { role: 'roles/storage.legacyBucketReader', members: readers },
  ];
  if (b.iamConfiguration?.uniformBucketLevelAccess?.enabled) {
    bindings.push(
      { role: 'roles/storage.legacyObjectOwner', members: owners },
      { role: 'roles/storage.legacyObjectReader', members: readers },
    );
  }
  return { bindings, serial: 1 };
}

function policyResource(b: BucketRecord): Record<string, unknown> {
  const policy = policyOf(b);
  const conditional = policy.bindings.some((x) => x.condition);
  return {
    kind: 'storage#policy',
    resourceId: `projects/_/buckets/${b.name}`,
    version: conditional ? 3 : 1,
    bindings: policy.bindings,
    etag: etagOf(policy.serial),
  };
}

/** Google's policy etags are a protobuf varint field 1 holding the policy's version: `CAE=` for 1. */
function etagOf(serial: number): string {
  const bytes = [0x08];
  let n = serial;
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes).toString('base64');
}

function invalid(detail: string): ApiError {
  return new ApiError(400, `Invalid argument: ${detail}`, 'invalid');
}
