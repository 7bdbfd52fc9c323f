import { randomUUID } from 'node:crypto';
import type {
  GroupsAggregatedList,
  GroupsApplyUpdatesToInstances,
  GroupsGet,
  GroupsListManagedInstances,
  GroupsPatch,
  InstanceGroupManagerResource,
} from './compute-api.ts';
import { type Operation, waitForOperation } from './operations.ts';
import { lastSegment, resourcePath } from './resource-path.ts';
import { listAllPages, type RestClient } from './rest.ts';

/** A managed instance group, zonal or regional, in a project. */
export interface GroupRef {
  project: string;
  /** `zones/Z` or `regions/R`. */
  scope: string;
  name: string;
  /** `projects/P/zones/Z/instanceGroupManagers/N`. */
  path: string;
  regional: boolean;
}

/** Parses the `instance-group` input (`zones/Z/instanceGroupManagers/N` or `regions/R/…`). */
export function groupRef(project: string, instanceGroup: string): GroupRef {
  const m = /^((?:zones|regions)\/[^/]+)\/instanceGroupManagers\/([^/]+)$/.exec(instanceGroup);
  if (!m)
    throw new Error(
      `"${instanceGroup}" is not zones/Z/instanceGroupManagers/N or regions/R/instanceGroupManagers/N`,
    );
  const scope = m[1] as string;
  const name = m[2] as string;
  return {
    project,
    scope,
    name,
    path: `projects/${project}/${scope}/instanceGroupManagers/${name}`,
    regional: scope.startsWith('regions/'),
  };
}

export interface FixedOrPercent {
  fixed?: number;
  percent?: number;
  calculated?: number;
}

export interface UpdatePolicy {
  type?: 'PROACTIVE' | 'OPPORTUNISTIC';
  minimalAction?: string;
  mostDisruptiveAllowedAction?: string;
  maxSurge?: FixedOrPercent;
  maxUnavailable?: FixedOrPercent;
  replacementMethod?: 'SUBSTITUTE' | 'RECREATE';
  [key: string]: unknown;
}

export interface GroupVersion {
  instanceTemplate: string;
  name?: string;
  targetSize?: FixedOrPercent;
}

export interface ManagedGroup {
  name: string;
  selfLink: string;
  fingerprint: string;
  targetSize: number;
  instanceTemplate?: string;
  versions?: GroupVersion[];
  updatePolicy?: UpdatePolicy;
  statefulPolicy?: { preservedState?: Record<string, Record<string, unknown> | undefined> };
  status?: {
    isStable?: boolean;
    versionTarget?: { isReached?: boolean };
    stateful?: { hasStatefulConfig?: boolean };
  };
}

/** Stable and on its target version: the group has nothing left to do for the roll. */
export function groupSettled(group: ManagedGroup): boolean {
  return group.status?.isStable === true && group.status.versionTarget?.isReached === true;
}

export interface ManagedInstance {
  /** URL of the instance. */
  instance: string;
  name?: string;
  id?: string;
  instanceStatus?: string;
  currentAction: string;
  version?: { instanceTemplate?: string; name?: string };
}

/** The group's versions; a group made with only `instanceTemplate` has that one. */
export function groupVersions(group: ManagedGroup): { instanceTemplate: string }[] {
  if (group.versions?.length) return group.versions;
  return group.instanceTemplate ? [{ instanceTemplate: group.instanceTemplate }] : [];
}

/** Whether a member runs the template at `path` (a resource path). */
export function runsTemplate(member: ManagedInstance, path: string): boolean {
  return resourcePath(member.version?.instanceTemplate ?? '') === path;
}

/** True when the group keeps per-instance state, which rules out a PROACTIVE update policy. */
export function isStateful(group: ManagedGroup): boolean {
  if (group.status?.stateful?.hasStatefulConfig) return true;
  const preserved = group.statefulPolicy?.preservedState ?? {};
  return Object.values(preserved).some((v) => v !== undefined && Object.keys(v).length > 0);
}

/** The zone and name of a managed instance, from its URL. */
export function instanceLocation(mi: ManagedInstance): { zone: string; name: string } {
  const path = resourcePath(mi.instance);
  const m = /zones\/([^/]+)\/instances\/([^/]+)/.exec(path);
  return { zone: m?.[1] ?? '', name: mi.name ?? m?.[2] ?? lastSegment(path) };
}

/** Managed instance groups: read, patch, list members, apply updates to chosen members. */
export class Groups {
  constructor(
    private readonly rest: RestClient,
    readonly project: string,
  ) {}

  get(ref: GroupRef): Promise<ManagedGroup | undefined> {
    return this.rest.call<ManagedGroup | undefined, GroupsGet>({
      method: 'GET',
      path: `/${ref.path}`,
      what: `reading instance group "${ref.path}"`,
      allowNotFound: true,
    });
  }

  /** A JSON merge patch guarded by the group's fingerprint; waits until the operation is done. */
  async patch(ref: GroupRef, body: InstanceGroupManagerResource, timeoutMs: number): Promise<void> {
    const what = `updating instance group "${ref.path}"`;
    const op = await this.rest.call<Operation, GroupsPatch>({
      method: 'PATCH',
      path: `/${ref.path}`,
      query: { requestId: randomUUID() },
      body,
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }

  /** Every member with its current action and template (read-only, though the method is a POST). */
  async listManaged(ref: GroupRef): Promise<ManagedInstance[]> {
    return listAllPages(
      (pageToken) =>
        this.rest.call<
          { managedInstances?: ManagedInstance[]; nextPageToken?: string },
          GroupsListManagedInstances
        >({
          method: 'POST',
          path: `/${ref.path}/listManagedInstances`,
          query: { maxResults: 500, pageToken },
          what: `listing the instances of group "${ref.path}"`,
        }),
      (res) => res.managedInstances ?? [],
    );
  }

  /** Every managed instance group of the project, zonal and regional (aggregatedList, all pages). */
  async listAll(): Promise<ManagedGroup[]> {
    return listAllPages(
      (pageToken) =>
        this.rest.call<
          { items?: Record<string, { instanceGroupManagers?: ManagedGroup[] }>; nextPageToken?: string },
          GroupsAggregatedList
        >({
          method: 'GET',
          path: `/projects/${this.project}/aggregated/instanceGroupManagers`,
          query: { maxResults: 500, pageToken },
          what: `listing the instance groups of project "${this.project}"`,
        }),
      (res) => Object.values(res.items ?? {}).flatMap((scoped) => scoped.instanceGroupManagers ?? []),
    );
  }

  /**
   * Replaces the given members that are not on the group's current version yet, now, whatever the update
   * policy. minimalAction NONE makes a second request for the same instance (another run of the rollout,
   * or a retry) a no-op once it runs the version, instead of replacing it again.
   */
  async replace(ref: GroupRef, instanceUrls: string[], timeoutMs: number): Promise<void> {
    const what = `replacing ${instanceUrls.map((u) => lastSegment(u)).join(', ')} in group "${ref.path}"`;
    // applyUpdatesToInstances defines no requestId; minimalAction NONE is what makes a repeat harmless.
    const op = await this.rest.call<Operation, GroupsApplyUpdatesToInstances>({
      method: 'POST',
      path: `/${ref.path}/applyUpdatesToInstances`,
      body: {
        instances: instanceUrls.map(resourcePath),
        minimalAction: 'NONE',
        mostDisruptiveAllowedAction: 'REPLACE',
      },
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }
}
