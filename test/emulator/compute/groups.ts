import { randomBytes } from 'node:crypto';
import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import {
  alreadyExists,
  clone,
  fingerprint,
  lastSegment,
  link,
  newId,
  notFound,
  render,
  required,
  resourcePath,
  timestamp,
  validateName,
} from './common.ts';
import { base, type Core, P, requestIdOf, sendOperation } from './core.ts';
import type { Instances } from './instances.ts';
import { aggregatedPage, listPage } from './list.ts';
import { type GroupRecord, groupKey, type InstanceRecord, type Json } from './state.ts';
import type { Templates } from './templates.ts';
import { actionRank, calculate, isStateful, mergePatch, normalizeUpdatePolicy } from './update-policy.ts';

/** Options for creating a group in-process (test setup), bypassing the API and its operation. */
export interface CreateGroupOptions {
  project?: string;
  zone?: string;
  region?: string;
  /** Zones of a regional group (default: `<region>-a`, `-b`, `-c`). */
  zones?: string[];
  name: string;
  /** Template name (global) or path/URL. */
  template: string;
  targetSize: number;
  baseInstanceName?: string;
  updatePolicy?: Json;
  statefulPolicy?: Json;
  /** Create the instances RUNNING at once instead of over simulated steps. */
  ready?: boolean;
}

const OUTPUT_ONLY = [
  'kind',
  'id',
  'creationTimestamp',
  'selfLink',
  'zone',
  'region',
  'instanceGroup',
  'currentActions',
  'status',
  'targetPools',
  'satisfiesPzs',
  'satisfiesPzi',
];
const PATCHABLE = new Set([
  'baseInstanceName',
  'distributionPolicy',
  'versions',
  'updatePolicy',
  'targetSize',
  'instanceTemplate',
  'statefulPolicy',
  'description',
  'autoHealingPolicies',
  'fingerprint',
  'namedPorts',
  'listManagedInstancesResults',
]);

/**
 * Zonal and regional managed instance groups, and the simulation that replaces their instances over
 * `instanceStepMs` steps, honouring maxSurge/maxUnavailable, replacementMethod and PROACTIVE/OPPORTUNISTIC.
 */
export class Groups {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: Core,
    private readonly templates: Templates,
    private readonly instances: Instances,
  ) {
    const r = core.ctx.router;
    const scopes: [string, (rc: RouteContext) => string][] = [
      ['zones/{zone}', (rc) => `zones/${rc.params.zone}`],
      ['regions/{region}', (rc) => `regions/${rc.params.region}`],
    ];
    for (const [pattern, scopeOf] of scopes) {
      const path = `${P}/${pattern}/instanceGroupManagers`;
      r.add('POST', path, (rc) => this.insert(rc, scopeOf(rc)));
      r.add('GET', path, (rc) => this.list(rc, scopeOf(rc)));
      r.add('GET', `${path}/{group}`, (rc) =>
        sendJson(
          rc.res,
          200,
          this.view(
            this.find(rc.params.project as string, scopeOf(rc), rc.params.group as string),
            base(core, rc),
          ),
        ),
      );
      r.add('PATCH', `${path}/{group}`, (rc) => this.patch(rc, scopeOf(rc)));
      r.add('DELETE', `${path}/{group}`, (rc) => this.delete(rc, scopeOf(rc)));
      r.add('POST', `${path}/{group}/listManagedInstances`, (rc) => this.listManaged(rc, scopeOf(rc)));
      r.add('POST', `${path}/{group}/applyUpdatesToInstances`, (rc) => this.applyUpdates(rc, scopeOf(rc)));
      r.add('POST', `${path}/{group}/recreateInstances`, (rc) => this.recreate(rc, scopeOf(rc)));
      r.add('POST', `${path}/{group}/resize`, (rc) => this.resize(rc, scopeOf(rc)));
    }
    r.add('GET', `${P}/aggregated/instanceGroupManagers`, (rc) => this.aggregated(rc));
    core.ops.onDone('group.patch', (op, failed) => {
      if (failed) return;
      const g = this.core.state.value.groups[op.effect?.key as string];
      if (!g) throw notFound(String(op.effect?.key));
      if (g.body.fingerprint !== op.effect?.fingerprint) throw groupStale();
      g.body = { ...(op.effect?.body as Json), fingerprint: fingerprint() };
    });
    core.ops.onDone('group.apply', (op, failed) => {
      if (failed) return;
      const g = this.core.state.value.groups[op.effect?.key as string];
      if (!g) throw notFound(String(op.effect?.key));
      const names = op.effect?.instances as string[];
      const action = op.effect?.action as string;
      for (const i of this.members(g)) {
        if (!names.includes(i.name) || i.currentAction !== 'NONE') continue;
        const desired = this.assignment(g).get(i.name) ?? i.template;
        if (action === 'RECREATE' || desired !== i.template) this.instances.startRecreate(i, desired);
      }
      g.body.fingerprint = fingerprint();
    });
    core.ops.onDone('group.insert', (op, failed) => {
      if (!failed) return;
      // An insert that ends in error leaves no group behind (nor the VMs it started).
      const g = this.core.state.value.groups[op.effect?.key as string];
      if (!g) return;
      for (const i of this.members(g)) if (i.currentAction !== 'DELETING') this.instances.startDelete(i);
      delete this.core.state.value.groups[op.effect?.key as string];
    });
    core.ops.onDone('group.delete', (op, failed) => {
      if (failed) return;
      const g = this.core.state.value.groups[op.effect?.key as string];
      if (!g) return;
      // The group goes now; its VMs are deleted over the next simulated steps.
      for (const i of this.members(g)) if (i.currentAction !== 'DELETING') this.instances.startDelete(i);
      delete this.core.state.value.groups[op.effect?.key as string];
    });
    core.ops.onDone('group.resize', (op, failed) => {
      if (failed) return;
      const g = this.core.state.value.groups[op.effect?.key as string];
      if (!g) throw notFound(String(op.effect?.key));
      g.body.targetSize = op.effect?.size as number;
      g.body.fingerprint = fingerprint();
    });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.core.ctx.options.instanceStepMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  find(project: string, scope: string, nameOrId: string): GroupRecord {
    const all = this.core.state.value.groups;
    const g =
      all[groupKey(project, scope, nameOrId)] ??
      Object.values(all).find((x) => x.project === project && x.scope === scope && x.body.id === nameOrId);
    if (!g) throw notFound(`projects/${project}/${scope}/instanceGroupManagers/${nameOrId}`);
    return g;
  }

  /** Test setup: a group exists at once; its instances come up over simulated time unless `ready`. */
  createGroup(o: CreateGroupOptions): GroupRecord {
    const project = o.project ?? 'p';
    const scope = o.region ? `regions/${o.region}` : `zones/${o.zone ?? 'us-central1-a'}`;
    const template = o.template.includes('/')
      ? o.template
      : `projects/${project}/global/instanceTemplates/${o.template}`;
    const g = this.build(project, scope, {
      name: o.name,
      baseInstanceName: o.baseInstanceName ?? o.name,
      targetSize: o.targetSize,
      instanceTemplate: template,
      ...(o.updatePolicy ? { updatePolicy: o.updatePolicy } : {}),
      ...(o.statefulPolicy ? { statefulPolicy: o.statefulPolicy } : {}),
      ...(o.zones ? { distributionPolicy: { zones: o.zones.map((z) => ({ zone: `zones/${z}` })) } } : {}),
    });
    if (o.ready) {
      const tpl = this.versionTemplates(g)[0]?.template as string;
      for (let n = 0; n < o.targetSize; n++)
        this.instances.create(
          project,
          this.pickZone(g),
          this.newName(g),
          tpl,
          groupKey(project, scope, o.name),
          true,
        );
    }
    this.core.state.save();
    return g;
  }

  // ---- validation and building --------------------------------------------------------------------

  private zonesOf(scope: string, body: Json): string[] {
    if (scope.startsWith('zones/')) return [scope.slice('zones/'.length)];
    const dp = body.distributionPolicy as Json | undefined;
    const zones = ((dp?.zones as Json[] | undefined) ?? []).map((z) => lastSegment(String(z.zone)));
    const region = scope.slice('regions/'.length);
    return zones.length ? zones : [`${region}-a`, `${region}-b`, `${region}-c`];
  }

  /** Validates a whole group body (after defaults or a merge patch) and returns it normalised. */
  private normalize(project: string, scope: string, input: Json): Json {
    const body = clone(input);
    const regional = scope.startsWith('regions/');
    const zones = this.zonesOf(scope, body);
    if (typeof body.targetSize !== 'number' || !Number.isInteger(body.targetSize) || body.targetSize < 0) {
      if (body.targetSize === undefined) throw required('resource.targetSize');
      throw new ApiError(
        400,
        `Invalid value for field 'resource.targetSize': '${String(body.targetSize)}'. Must be greater than or equal to 0`,
        'invalid',
      );
    }
    let versions = (body.versions as Json[] | undefined) ?? [];
    if (versions.length === 0 && typeof body.instanceTemplate === 'string')
      versions = [{ instanceTemplate: body.instanceTemplate }];
    if (versions.length === 0) throw required('resource.versions');
    if (versions.length > 2)
      throw new ApiError(
        400,
        "Invalid value for field 'resource.versions': at most 2 versions are supported.",
        'invalid',
      );
    let untargeted = 0;
    versions = versions.map((v, n) => {
      if (typeof v.instanceTemplate !== 'string' || !v.instanceTemplate)
        throw required(`resource.versions[${n}].instanceTemplate`);
      const ref = v.instanceTemplate.includes('/')
        ? v.instanceTemplate
        : `projects/${project}/global/instanceTemplates/${v.instanceTemplate}`;
      const t = this.templates.byRef(ref);
      if (!t) throw notFound(resourcePath(ref));
      if (t.scope.startsWith('regions/') && (!regional || t.scope !== scope)) {
        throw new ApiError(
          400,
          `Invalid value for field 'resource.versions[${n}].instanceTemplate': '${v.instanceTemplate}'. A regional instance template must be in the same region as the group.`,
          'invalid',
        );
      }
      const out: Json = {
        ...v,
        instanceTemplate: link(`projects/${t.project}/${t.scope}/instanceTemplates/${t.body.name}`),
      };
      if (v.targetSize === undefined) untargeted++;
      else out.targetSize = calculate(v.targetSize as Json, body.targetSize as number, true);
      return out;
    });
    if (untargeted !== 1)
      throw new ApiError(
        400,
        "Invalid value for field 'resource.versions': exactly one version must leave targetSize unset.",
        'invalid',
      );
    body.versions = versions;
    if (versions.length === 1) body.instanceTemplate = (versions[0] as Json).instanceTemplate;
    const statefulPolicy = body.statefulPolicy as Json | undefined;
    const preserved = (statefulPolicy?.preservedState as Json | undefined) ?? {};
    const statefulDisksOrMetadata = ['disks', 'metadata'].some(
      (k) => preserved[k] && Object.keys(preserved[k] as Json).length > 0,
    );
    body.updatePolicy = normalizeUpdatePolicy(body.updatePolicy as Json | undefined, {
      zones: zones.length,
      regional,
      targetSize: body.targetSize as number,
      stateful: statefulDisksOrMetadata,
    });
    if (regional)
      body.distributionPolicy = {
        zones: zones.map((z) => ({ zone: link(`projects/${project}/zones/${z}`) })),
        targetShape: 'EVEN',
      };
    return body;
  }

  private build(project: string, scope: string, raw: Json): GroupRecord {
    const name = validateName(raw.name);
    const key = groupKey(project, scope, name);
    if (this.core.state.value.groups[key])
      throw alreadyExists(`projects/${project}/${scope}/instanceGroupManagers/${name}`);
    // Without a base name, VMs are named after the group (its first 58 characters), as gcloud documents
    // for `managed create` without --base-instance-name, which then sends none.
    const input = { ...raw, baseInstanceName: raw.baseInstanceName ?? name.slice(0, 58) };
    if (
      typeof input.baseInstanceName !== 'string' ||
      !/^[a-z]([-a-z0-9]{0,57})$/.test(input.baseInstanceName)
    ) {
      throw new ApiError(
        400,
        `Invalid value for field 'resource.baseInstanceName': '${String(input.baseInstanceName)}'. Must be a match of regex '[a-z](([-a-z0-9]{0,57})|((-[a-z0-9]{0,57})?-#{1,10}))'`,
        'invalid',
      );
    }
    const body = this.normalize(project, scope, input);
    const groupPath = `projects/${project}/${scope}/instanceGroups/${name}`;
    const g: GroupRecord = {
      project,
      scope,
      serial: 0,
      body: {
        kind: 'compute#instanceGroupManager',
        id: newId(),
        creationTimestamp: timestamp(),
        ...body,
        name,
        ...(scope.startsWith('zones/')
          ? { zone: link(`projects/${project}/${scope}`) }
          : { region: link(`projects/${project}/${scope}`) }),
        instanceGroup: link(groupPath),
        targetPools: [],
        listManagedInstancesResults: body.listManagedInstancesResults ?? 'PAGELESS',
        fingerprint: fingerprint(),
        selfLink: link(`projects/${project}/${scope}/instanceGroupManagers/${name}`),
      },
    };
    this.core.state.value.groups[key] = g;
    return g;
  }

  // ---- routes -------------------------------------------------------------------------------------

  private async insert(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const g = this.build(project, scope, input);
    this.core.state.save();
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'insert',
      targetPath: `projects/${project}/${scope}/instanceGroupManagers/${g.body.name}`,
      targetId: g.body.id as string,
      effect: { kind: 'group.insert', key: groupKey(project, scope, g.body.name as string) },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private list(rc: RouteContext, scope: string): void {
    const project = rc.params.project as string;
    const b = base(this.core, rc);
    const items = Object.values(this.core.state.value.groups)
      .filter((g) => g.project === project && g.scope === scope)
      .map((g) => this.view(g, b));
    sendJson(rc.res, 200, {
      kind: 'compute#instanceGroupManagerList',
      id: `projects/${project}/${scope}/instanceGroupManagers`,
      ...listPage(items, rc.url),
      selfLink: `${b}/compute/v1/projects/${project}/${scope}/instanceGroupManagers`,
    });
  }

  /** aggregatedList: the project's zonal and regional groups, keyed by scope (`zones/Z`, `regions/R`). */
  private aggregated(rc: RouteContext): void {
    const project = rc.params.project as string;
    const b = base(this.core, rc);
    const byScope: Record<string, Json[]> = {};
    for (const g of Object.values(this.core.state.value.groups)) {
      if (g.project !== project) continue;
      const list = byScope[g.scope] ?? [];
      list.push(this.view(g, b));
      byScope[g.scope] = list;
    }
    sendJson(rc.res, 200, {
      kind: 'compute#instanceGroupManagerAggregatedList',
      id: `projects/${project}/aggregated/instanceGroupManagers`,
      ...aggregatedPage(byScope, 'instanceGroupManagers', rc.url),
      selfLink: `${b}/compute/v1/projects/${project}/aggregated/instanceGroupManagers`,
    });
  }

  private async patch(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const g = this.find(project, scope, rc.params.group as string);
    // Output-only fields (a read-modify-write client sends them back) are ignored, as GCE does.
    for (const k of OUTPUT_ONLY) delete input[k];
    if (input.name !== undefined && input.name !== g.body.name) {
      throw new ApiError(
        400,
        `Invalid value for field 'resource.name': '${String(input.name)}'. The name cannot be changed.`,
        'invalid',
      );
    }
    delete input.name;
    for (const k of Object.keys(input)) {
      if (!PATCHABLE.has(k)) {
        throw new ApiError(
          400,
          `Invalid value for field 'resource.${k}': the field cannot be changed by patch.`,
          'invalid',
        );
      }
    }
    if (input.fingerprint !== undefined && input.fingerprint !== g.body.fingerprint) throw groupStale();
    const patch = { ...input };
    delete patch.fingerprint;
    // A new instanceTemplate without versions means "this template for every instance".
    if (typeof patch.instanceTemplate === 'string' && patch.versions === undefined)
      patch.versions = [{ instanceTemplate: patch.instanceTemplate }];
    if (patch.versions !== undefined) delete patch.instanceTemplate;
    const merged = mergePatch(g.body, patch) as Json;
    if (patch.versions !== undefined) delete merged.instanceTemplate;
    if (patch.updatePolicy !== undefined) {
      // Recompute what GCE derives: drop stale `calculated` values so the merge result is re-validated.
      const up = merged.updatePolicy as Json;
      for (const f of ['maxSurge', 'maxUnavailable']) {
        const v = up[f] as Json | undefined;
        if (v && (patch.updatePolicy as Json)[f] !== undefined) {
          const given = (patch.updatePolicy as Json)[f] as Json;
          up[f] = typeof given.percent === 'number' ? { percent: given.percent } : { fixed: given.fixed };
        }
      }
    }
    const body = { ...g.body, ...this.normalize(project, scope, merged) };
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'compute.instanceGroupManagers.patch',
      targetPath: `projects/${project}/${scope}/instanceGroupManagers/${g.body.name}`,
      targetId: g.body.id as string,
      effect: {
        kind: 'group.patch',
        key: groupKey(project, scope, g.body.name as string),
        body,
        fingerprint: g.body.fingerprint,
      },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private async delete(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    await readJson(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const g = this.find(project, scope, rc.params.group as string);
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'delete',
      targetPath: `projects/${project}/${scope}/instanceGroupManagers/${g.body.name}`,
      targetId: g.body.id as string,
      effect: { kind: 'group.delete', key: groupKey(project, scope, g.body.name as string) },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private async resize(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    await readJson(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const g = this.find(project, scope, rc.params.group as string);
    const size = Number(rc.url.searchParams.get('size'));
    if (!Number.isInteger(size) || size < 0)
      throw new ApiError(
        400,
        `Invalid value for field 'size': '${rc.url.searchParams.get('size')}'. Must be greater than or equal to 0`,
        'invalid',
      );
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'compute.instanceGroupManagers.resize',
      targetPath: `projects/${project}/${scope}/instanceGroupManagers/${g.body.name}`,
      targetId: g.body.id as string,
      effect: { kind: 'group.resize', key: groupKey(project, scope, g.body.name as string), size },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  /** Instance names from `zones/z/instances/name` URLs; each must belong to the group. */
  private memberNames(g: GroupRecord, refs: unknown, field: string): string[] {
    if (!Array.isArray(refs)) return [];
    const members = new Set(this.members(g).map((i) => `${i.zone}/${i.name}`));
    return refs.map((ref: unknown, n) => {
      const s = String(ref);
      const m = /zones\/([^/]+)\/instances\/([^/?]+)/.exec(s);
      const name = m ? (m[2] as string) : lastSegment(s);
      const zone = m ? (m[1] as string) : this.members(g).find((i) => i.name === name)?.zone;
      if (!zone || !members.has(`${zone}/${name}`)) {
        throw new ApiError(
          400,
          `Invalid value for field '${field}[${n}]': '${s}'. The instance is not a member of the managed instance group.`,
          'invalid',
        );
      }
      return name;
    });
  }

  /** No requestId: the method does not define one, and minimalAction NONE is what makes a repeat harmless. */
  private async applyUpdates(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const input = await readJson<Json>(rc);
    const g = this.find(project, scope, rc.params.group as string);
    const minimal = (input.minimalAction as string | undefined) ?? 'NONE';
    const most = (input.mostDisruptiveAllowedAction as string | undefined) ?? 'REPLACE';
    if (actionRank(most) < actionRank(minimal)) {
      throw new ApiError(
        400,
        "Invalid value for field 'request.mostDisruptiveAllowedAction': must not be less disruptive than minimalAction.",
        'invalid',
      );
    }
    const names =
      input.allInstances === true
        ? this.members(g).map((i) => i.name)
        : this.memberNames(g, input.instances, 'request.instances');
    if (names.length === 0) throw required('request.instances');
    // A template change needs REPLACE; it happens only if the most disruptive action allowed permits it.
    const action = minimal === 'REPLACE' ? 'RECREATE' : most === 'REPLACE' ? 'IF_OUTDATED' : 'NONE';
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'compute.instanceGroupManagers.applyUpdatesToInstances',
      targetPath: `projects/${project}/${scope}/instanceGroupManagers/${g.body.name}`,
      targetId: g.body.id as string,
      effect: {
        kind: 'group.apply',
        key: groupKey(project, scope, g.body.name as string),
        instances: action === 'NONE' ? [] : names,
        action,
      },
      fault: rc.fault,
    });
    sendOperation(this.core, rc, op);
  }

  private async recreate(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const g = this.find(project, scope, rc.params.group as string);
    const names = this.memberNames(g, input.instances, 'request.instances');
    if (names.length === 0) throw required('request.instances');
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'compute.instanceGroupManagers.recreateInstances',
      targetPath: `projects/${project}/${scope}/instanceGroupManagers/${g.body.name}`,
      targetId: g.body.id as string,
      effect: {
        kind: 'group.apply',
        key: groupKey(project, scope, g.body.name as string),
        instances: names,
        action: 'RECREATE',
      },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private async listManaged(rc: RouteContext, scope: string): Promise<void> {
    await readJson(rc);
    const g = this.find(rc.params.project as string, scope, rc.params.group as string);
    const b = base(this.core, rc);
    const versions = (g.body.versions as Json[]).map((v) => ({
      name: v.name as string | undefined,
      path: resourcePath(String(v.instanceTemplate).replace(/^@@\//, '')),
    }));
    const items = this.members(g).map((i) => {
      const v = versions.find((x) => x.path === i.template);
      return render(
        {
          instance: link(`projects/${i.project}/zones/${i.zone}/instances/${i.name}`),
          id: i.id,
          name: i.name,
          instanceStatus: i.status,
          currentAction: i.currentAction,
          version: { instanceTemplate: link(i.template), ...(v?.name ? { name: v.name } : {}) },
        } as Json,
        b,
      );
    });
    const { items: page, nextPageToken } = listPage(items, rc.url);
    sendJson(rc.res, 200, { managedInstances: page, ...(nextPageToken ? { nextPageToken } : {}) });
  }

  // ---- the view ------------------------------------------------------------------------------------

  members(g: GroupRecord): InstanceRecord[] {
    const key = groupKey(g.project, g.scope, g.body.name as string);
    return this.instances
      .all()
      .filter((i) => i.group === key)
      .sort((a, b) => a.createdMs - b.createdMs || (a.name < b.name ? -1 : 1));
  }

  view(g: GroupRecord, b: string): Json {
    const members = this.members(g);
    const count = (a: string) => members.filter((i) => i.currentAction === a).length;
    const currentActions = {
      none: count('NONE'),
      creating: count('CREATING'),
      creatingWithoutRetries: 0,
      verifying: count('VERIFYING'),
      recreating: count('RECREATING'),
      deleting: count('DELETING'),
      abandoning: 0,
      restarting: 0,
      refreshing: 0,
      suspending: 0,
      resuming: 0,
      stopping: 0,
      starting: 0,
    };
    const body: Json = {
      ...g.body,
      currentActions,
      targetSize: g.body.targetSize,
      status: {
        isStable: this.isStable(g),
        versionTarget: { isReached: this.versionReached(g) },
        stateful: {
          hasStatefulConfig: isStateful(g.body.statefulPolicy),
          perInstanceConfigs: { allEffective: true },
        },
        allInstancesConfig: { effective: true },
      },
    };
    return render(body, b);
  }

  private isStable(g: GroupRecord): boolean {
    const members = this.members(g);
    if (members.some((i) => i.currentAction !== 'NONE' || i.replacedBy)) return false;
    if (members.length !== g.body.targetSize) return false;
    // A PROACTIVE group with outdated instances still has work to do.
    if (
      (g.body.updatePolicy as Json).type === 'PROACTIVE' &&
      this.outdated(g).length > 0 &&
      this.canReplace(g)
    )
      return false;
    return true;
  }

  private versionReached(g: GroupRecord): boolean {
    const members = this.members(g).filter((i) => i.currentAction !== 'DELETING');
    if (
      members.some((i) => i.replacedBy || i.currentAction === 'RECREATING' || i.currentAction === 'CREATING')
    )
      return false;
    return members.length === g.body.targetSize && this.outdated(g).length === 0;
  }

  private canReplace(g: GroupRecord): boolean {
    const up = g.body.updatePolicy as Json;
    return actionRank(up.mostDisruptiveAllowedAction ?? 'REPLACE') >= actionRank('REPLACE');
  }

  // ---- the simulation ------------------------------------------------------------------------------

  /** `[{template path, count}]` for each version, in order. */
  private versionTemplates(g: GroupRecord): { template: string; count: number }[] {
    const size = g.body.targetSize as number;
    const versions = g.body.versions as Json[];
    const fixed = versions.map((v) =>
      v.targetSize ? Math.min(size, (v.targetSize as Json).calculated as number) : -1,
    );
    const taken = fixed.filter((n) => n >= 0).reduce((a, n) => a + n, 0);
    return versions.map((v, n) => ({
      template: resourcePath(String(v.instanceTemplate).replace(/^@@\//, '')),
      count: (fixed[n] as number) >= 0 ? (fixed[n] as number) : Math.max(0, size - taken),
    }));
  }

  /** Which template each live instance should run, keeping instances on their version where quota allows. */
  assignment(g: GroupRecord): Map<string, string> {
    const quotas = this.versionTemplates(g);
    const live = this.members(g).filter((i) => i.currentAction !== 'DELETING' && !i.replacedBy);
    const out = new Map<string, string>();
    for (const i of live) {
      const q = quotas.find((x) => x.template === (i.targetTemplate ?? i.template) && x.count > 0);
      if (q) {
        out.set(i.name, q.template);
        q.count--;
      }
    }
    for (const i of live) {
      if (out.has(i.name)) continue;
      const q = quotas.find((x) => x.count > 0) ?? quotas[quotas.length - 1];
      if (!q) continue;
      out.set(i.name, q.template);
      q.count--;
    }
    return out;
  }

  private outdated(g: GroupRecord): InstanceRecord[] {
    const want = this.assignment(g);
    return this.members(g).filter(
      (i) =>
        i.currentAction !== 'DELETING' &&
        !i.replacedBy &&
        want.has(i.name) &&
        want.get(i.name) !== (i.targetTemplate ?? i.template),
    );
  }

  private newName(g: GroupRecord): string {
    const baseName = g.body.baseInstanceName as string;
    for (;;) {
      const suffix = Array.from(randomBytes(4), (x) => 'abcdefghijklmnopqrstuvwxyz0123456789'[x % 36]).join(
        '',
      );
      const name = `${baseName}-${suffix}`;
      if (!this.instances.all().some((i) => i.project === g.project && i.name === name)) return name;
    }
  }

  /** The zone with the fewest live instances, so a regional group stays EVEN. */
  private pickZone(g: GroupRecord): string {
    const zones = this.zonesOf(g.scope, g.body);
    const live = this.members(g).filter((i) => i.currentAction !== 'DELETING' && !i.replacedBy);
    let best = zones[0] as string;
    let bestCount = Number.POSITIVE_INFINITY;
    for (const z of zones) {
      const n = live.filter((i) => i.zone === z).length;
      if (n < bestCount) {
        best = z;
        bestCount = n;
      }
    }
    return best;
  }

  private tick(): void {
    let changed = false;
    for (const i of this.instances.all()) if (i.group && this.instances.step(i)) changed = true;
    for (const g of Object.values(this.core.state.value.groups)) if (this.reconcile(g)) changed = true;
    if (changed) this.core.state.save();
  }

  /** One step of the group's controller: resize, finish surge pairs, then PROACTIVE replacements. */
  private reconcile(g: GroupRecord): boolean {
    const key = groupKey(g.project, g.scope, g.body.name as string);
    const target = g.body.targetSize as number;
    const up = g.body.updatePolicy as Json;
    const maxSurge = (up.maxSurge as Json).calculated as number;
    const maxUnavailable = (up.maxUnavailable as Json).calculated as number;
    let changed = false;
    const members = this.members(g);
    const byName = new Map(members.map((i) => [i.name, i]));

    // 1. An old instance whose surge replacement is up gets deleted.
    for (const old of members) {
      if (!old.replacedBy) continue;
      const repl = byName.get(old.replacedBy);
      if (!repl || repl.currentAction === 'DELETING') {
        // The replacement is gone (e.g. a resize took it): the old VM stays and is outdated again.
        delete old.replacedBy;
        changed = true;
      } else if (repl.status === 'RUNNING' && repl.currentAction === 'NONE') {
        delete old.replacedBy;
        this.instances.startDelete(old);
        changed = true;
      }
    }

    // 2. Resize: create missing instances, delete extra ones (outdated first, then newest).
    const live = () => this.members(g).filter((i) => i.currentAction !== 'DELETING');
    const effective = () => live().filter((i) => !i.replacedBy).length;
    const want = this.assignment(g);
    if (effective() < target) {
      const quotas = this.versionTemplates(g);
      for (const t of want.values()) {
        const q = quotas.find((x) => x.template === t);
        if (q) q.count--;
      }
      while (effective() < target) {
        const q = quotas.find((x) => x.count > 0) ?? quotas[quotas.length - 1];
        this.instances.create(g.project, this.pickZone(g), this.newName(g), q?.template as string, key);
        if (q) q.count--;
        changed = true;
      }
    } else if (effective() > target) {
      const outdatedNames = new Set(this.outdated(g).map((i) => i.name));
      const extra = live()
        .filter((i) => !i.replacedBy)
        .sort(
          (a, b) =>
            Number(outdatedNames.has(b.name)) - Number(outdatedNames.has(a.name)) ||
            b.createdMs - a.createdMs,
        )
        .slice(0, effective() - target);
      for (const i of extra) this.instances.startDelete(i);
      if (extra.length) changed = true;
    }

    // 3. PROACTIVE: replace outdated instances within maxSurge / maxUnavailable.
    if (up.type !== 'PROACTIVE' || !this.canReplace(g)) return changed;
    const outdated = this.outdated(g).filter((i) => i.currentAction === 'NONE');
    if (outdated.length === 0) return changed;
    const assignment = this.assignment(g);
    const now = this.members(g).filter((i) => i.currentAction !== 'DELETING');
    // A VM still being deleted exists, so it counts against maxSurge until it is gone.
    let surgeInUse = Math.max(0, this.members(g).length - target);
    const available = Math.min(
      target,
      now.filter((i) => i.status === 'RUNNING' && i.currentAction === 'NONE').length,
    );
    let unavailable = target - available;
    for (const old of outdated) {
      const tpl = assignment.get(old.name) as string;
      if (up.replacementMethod === 'RECREATE') {
        if (unavailable >= maxUnavailable) break;
        this.instances.startRecreate(old, tpl);
        unavailable++;
      } else if (surgeInUse < maxSurge) {
        const fresh = this.instances.create(g.project, old.zone, this.newName(g), tpl, key);
        old.replacedBy = fresh.name;
        surgeInUse++;
      } else if (unavailable < maxUnavailable) {
        this.instances.startDelete(old);
        this.instances.create(g.project, old.zone, this.newName(g), tpl, key);
        unavailable++;
      } else break;
      changed = true;
    }
    return changed;
  }
}

function groupStale(): ApiError {
  return new ApiError(412, 'Invalid fingerprint.', 'conditionNotMet');
}
