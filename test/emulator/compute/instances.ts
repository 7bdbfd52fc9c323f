import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import { fingerprint, link, newId, notFound, render, resourcePath, timestamp } from './common.ts';
import { base, type Core, P, requestIdOf, sendOperation } from './core.ts';
import {
  type GuestApi,
  type GuestEvent,
  type GuestMatcher,
  type GuestScript,
  guestAttributesEnabled,
  matches,
  metadataMap,
} from './guests.ts';
import { listPage } from './list.ts';
import { type InstanceEvent, type InstanceRecord, instanceKey, type Json } from './state.ts';

export const DRAIN_KEY = 'nix-glab-runner-drain';
const METADATA_KEY_RE = /^[a-zA-Z0-9-_]{1,128}$/;

/**
 * Instances and their boot disks: get, setMetadata, getGuestAttributes; disks get/list. Also the instance
 * lifecycle the groups drive (create, delete, recreate in simulated steps), the event log and guest scripts.
 */
export class Instances {
  private readonly scripts: { matcher: GuestMatcher; script: GuestScript }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly core: Core) {
    const r = core.ctx.router;
    const z = `${P}/zones/{zone}`;
    r.add('GET', `${z}/instances`, (rc) => this.list(rc));
    r.add('GET', `${z}/instances/{instance}`, (rc) =>
      sendJson(rc.res, 200, this.view(this.find(rc), base(core, rc))),
    );
    r.add('POST', `${z}/instances/{instance}/setMetadata`, (rc) => this.setMetadata(rc));
    r.add('GET', `${z}/instances/{instance}/getGuestAttributes`, (rc) => this.guestAttributes(rc));
    r.add('GET', `${z}/disks`, (rc) => this.listDisks(rc));
    r.add('GET', `${z}/disks/{disk}`, (rc) => {
      const i = this.byName(rc.params.project as string, rc.params.zone as string, rc.params.disk as string);
      if (!i) throw notFound(`projects/${rc.params.project}/zones/${rc.params.zone}/disks/${rc.params.disk}`);
      sendJson(rc.res, 200, this.diskView(i, base(core, rc)));
    });
    r.add('GET', '/_emulator/compute/instance-events', ({ res }) =>
      sendJson(res, 200, { events: this.core.state.value.events }),
    );
    core.ops.onDone('instance.setMetadata', (op, failed) => {
      if (failed) return;
      const i = this.core.state.value.instances[op.effect?.key as string];
      if (!i) throw notFound(String(op.effect?.key));
      if (i.metadata.fingerprint !== op.effect?.fingerprint) throw metadataStale();
      this.applyMetadata(i, op.effect?.items as { key: string; value: string }[]);
    });
  }

  private projectItems(project: string): { key: string; value: string }[] {
    return this.core.state.value.projectMetadata?.[project]?.items ?? [];
  }

  get events(): readonly InstanceEvent[] {
    return this.core.state.value.events;
  }

  all(): InstanceRecord[] {
    return Object.values(this.core.state.value.instances);
  }

  byName(project: string, zone: string, name: string): InstanceRecord | undefined {
    return this.core.state.value.instances[instanceKey(project, zone, name)];
  }

  scriptGuest(matcher: GuestMatcher, script: GuestScript): () => void {
    const entry = { matcher, script };
    this.scripts.push(entry);
    return () => {
      const at = this.scripts.indexOf(entry);
      if (at >= 0) this.scripts.splice(at, 1);
    };
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---- lifecycle, driven by groups -------------------------------------------------------------

  /** A new VM from a template, starting in PROVISIONING (or RUNNING when `ready`). */
  create(
    project: string,
    zone: string,
    name: string,
    templateRef: string,
    group: string | undefined,
    ready = false,
  ): InstanceRecord {
    const now = Date.now();
    const i: InstanceRecord = {
      project,
      zone,
      name,
      id: newId(),
      ...(group ? { group } : {}),
      template: resourcePath(templateRef),
      status: ready ? 'RUNNING' : 'PROVISIONING',
      currentAction: ready ? 'NONE' : 'CREATING',
      step: 0,
      metadata: { items: [], fingerprint: fingerprint() },
      guestAttributes: {},
      labels: {},
      createdMs: now,
      creationTimestamp: timestamp(now),
    };
    this.fromTemplate(i);
    this.core.state.value.instances[instanceKey(project, zone, name)] = i;
    this.log('created', i);
    if (ready) this.notify(i, 'booted', {});
    return i;
  }

  startDelete(i: InstanceRecord): void {
    i.currentAction = 'DELETING';
    i.status = 'STOPPING';
    i.step = 0;
  }

  startRecreate(i: InstanceRecord, templateRef: string): void {
    i.currentAction = 'RECREATING';
    i.status = 'STOPPING';
    i.targetTemplate = resourcePath(templateRef);
    i.step = 0;
  }

  /** Advances one simulated step; returns true when something changed. */
  step(i: InstanceRecord): boolean {
    const key = instanceKey(i.project, i.zone, i.name);
    switch (i.currentAction) {
      case 'CREATING':
        i.step++;
        if (i.step === 1) i.status = 'STAGING';
        else if (i.step >= 2) {
          i.status = 'RUNNING';
          i.currentAction = 'VERIFYING';
          this.notify(i, 'booted', {});
        }
        return true;
      case 'VERIFYING':
        i.currentAction = 'NONE';
        i.step = 0;
        return true;
      case 'DELETING':
        delete this.core.state.value.instances[key];
        this.log('deleted', i);
        return true;
      case 'RECREATING':
        i.step++;
        if (i.step === 1) {
          i.template = i.targetTemplate ?? i.template;
          delete i.targetTemplate;
          i.id = newId();
          i.status = 'PROVISIONING';
          i.guestAttributes = {};
          i.metadata = { items: [], fingerprint: fingerprint() };
          i.createdMs = Date.now();
          i.creationTimestamp = timestamp(i.createdMs);
          this.fromTemplate(i);
          this.log('recreated', i);
        } else if (i.step === 2) i.status = 'STAGING';
        else {
          i.status = 'RUNNING';
          i.currentAction = 'VERIFYING';
          this.notify(i, 'booted', {});
        }
        return true;
      default:
        return false;
    }
  }

  /** Metadata and boot image come from the template; a family resolves to its newest image now. */
  private fromTemplate(i: InstanceRecord): void {
    const t = this.templateBody(i.template);
    const props = (t?.properties as Json | undefined) ?? {};
    const items = (
      ((props.metadata as Json | undefined)?.items as { key: string; value: string }[] | undefined) ?? []
    ).map((x) => ({ key: x.key, value: String(x.value ?? '') }));
    // A managed instance's metadata names its group and template, as on GCE.
    const g = i.group ? this.core.state.value.groups[i.group] : undefined;
    if (g) {
      items.push({ key: 'instance-template', value: link(i.template) });
      items.push({
        key: 'created-by',
        value: link(`projects/${g.project}/${g.scope}/instanceGroupManagers/${g.body.name}`),
      });
    }
    i.metadata = { items, fingerprint: fingerprint() };
    i.labels = { ...((props.labels as Record<string, string> | undefined) ?? {}) };
    const boot = ((props.disks as Json[] | undefined) ?? []).find((d) => d.boot === true);
    const src = (boot?.initializeParams as Json | undefined)?.sourceImage;
    if (typeof src === 'string') i.sourceImage = this.resolveImage(i.project, src);
    else delete i.sourceImage;
  }

  private templateBody(path: string): Json | undefined {
    const m = /projects\/([^/]+)\/(global|regions\/[^/]+)\/instanceTemplates\/([^/]+)/.exec(path);
    if (!m) return undefined;
    return this.core.state.value.templates[`${m[1]}/${m[2]}/instanceTemplates/${m[3]}`]?.body;
  }

  private resolveImage(project: string, ref: string): string {
    const path = resourcePath(ref);
    const m = /^projects\/([^/]+)\/global\/images\/family\/([^/]+)$/.exec(path);
    if (m) {
      const newest = Object.values(this.core.state.value.images)
        .filter((x) => x.project === m[1] && x.body.family === m[2] && x.body.status === 'READY')
        .filter((x) => {
          const s = (x.body.deprecated as Json | undefined)?.state;
          return s === undefined || s === 'ACTIVE';
        })
        .sort((a, b) => b.createdMs - a.createdMs)[0];
      if (newest) return `projects/${m[1]}/global/images/${newest.body.name}`;
    }
    if (path.startsWith('projects/')) return path;
    return `projects/${project}/global/images/${path.split('/').pop()}`;
  }

  log(event: string, i: InstanceRecord, detail?: Json): void {
    const ms = Date.now();
    this.core.state.value.events.push({
      time: new Date(ms).toISOString(),
      ms,
      event,
      instance: i.name,
      zone: i.zone,
      ...(i.group ? { group: i.group } : {}),
      template: i.template,
      ...(detail ? { detail } : {}),
    });
  }

  // ---- metadata and guests ---------------------------------------------------------------------

  private applyMetadata(i: InstanceRecord, items: { key: string; value: string }[]): void {
    const previous = metadataMap(i);
    i.metadata = { items, fingerprint: fingerprint() };
    const now = metadataMap(i);
    const changed = [...new Set([...Object.keys(previous), ...Object.keys(now)])].filter(
      (k) => previous[k] !== now[k],
    );
    this.log('metadata-set', i, { changed });
    if (now[DRAIN_KEY] !== undefined && previous[DRAIN_KEY] === undefined)
      this.log('draining-seen', i, { deadline: now[DRAIN_KEY] });
    if (now[DRAIN_KEY] === undefined && previous[DRAIN_KEY] !== undefined) this.log('drain-cleared', i);
    if (changed.length) this.notify(i, 'metadata', previous, changed);
  }

  private notify(
    i: InstanceRecord,
    type: GuestEvent['type'],
    previous: Record<string, string>,
    changed: string[] = [],
  ): void {
    const scripts = this.scripts.filter((s) => matches(s.matcher, i));
    if (scripts.length === 0) return;
    const incarnation = i.id;
    const key = instanceKey(i.project, i.zone, i.name);
    const current = () => {
      const now = this.core.state.value.instances[key];
      return now && now.id === incarnation && now.currentAction !== 'DELETING' && now.status !== 'STOPPING'
        ? now
        : undefined;
    };
    const api: GuestApi = {
      instance: i.name,
      zone: i.zone,
      setGuestAttribute: (path, value) => {
        const now = current();
        if (!now) return false;
        if (!guestAttributesEnabled(now, this.projectItems(now.project))) {
          this.log('guest-attribute-refused', now, { path });
          return false;
        }
        now.guestAttributes[path] = value;
        this.log('guest-attribute', now, { path, value });
        this.core.state.save();
        return true;
      },
      deleteGuestAttribute: (path) => {
        const now = current();
        if (now) delete now.guestAttributes[path];
      },
      metadata: () => {
        const now = current();
        return now ? metadataMap(now) : {};
      },
      after: (ms, fn) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (current()) fn();
        }, ms);
        this.timers.add(t);
      },
      alive: () => current() !== undefined,
    };
    const event: GuestEvent = {
      type,
      instance: i.name,
      zone: i.zone,
      template: i.template,
      metadata: metadataMap(i),
      previous,
      changed,
    };
    // Guests react asynchronously, as a VM would: never inside the API call that changed the metadata.
    for (const s of scripts) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (current()) s.script(event, api);
      }, 0);
      this.timers.add(t);
    }
  }

  // ---- routes ------------------------------------------------------------------------------------

  private find(rc: RouteContext): InstanceRecord {
    const { project, zone, instance } = rc.params as { project: string; zone: string; instance: string };
    const i =
      this.byName(project, zone, instance) ??
      this.all().find((x) => x.project === project && x.zone === zone && x.id === instance);
    if (!i) throw notFound(`projects/${project}/zones/${zone}/instances/${instance}`);
    return i;
  }

  view(i: InstanceRecord, b: string): Json {
    const path = `projects/${i.project}/zones/${i.zone}/instances/${i.name}`;
    const t = this.templateBody(i.template);
    const machineType = String(
      ((t?.properties as Json | undefined)?.machineType as string | undefined) ?? 'e2-medium',
    )
      .split('/')
      .pop();
    const body: Json = {
      kind: 'compute#instance',
      id: i.id,
      creationTimestamp: i.creationTimestamp,
      name: i.name,
      zone: link(`projects/${i.project}/zones/${i.zone}`),
      machineType: link(`projects/${i.project}/zones/${i.zone}/machineTypes/${machineType}`),
      status: i.status,
      metadata: { kind: 'compute#metadata', fingerprint: i.metadata.fingerprint, items: i.metadata.items },
      labels: i.labels,
      disks: [
        {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          source: link(`projects/${i.project}/zones/${i.zone}/disks/${i.name}`),
          deviceName: 'persistent-disk-0',
          index: 0,
          boot: true,
          autoDelete: true,
        },
      ],
      selfLink: link(path),
    };
    return render(body, b);
  }

  private diskView(i: InstanceRecord, b: string): Json {
    const image = i.sourceImage
      ? Object.values(this.core.state.value.images).find(
          (x) => `projects/${x.project}/global/images/${x.body.name}` === i.sourceImage,
        )
      : undefined;
    return render(
      {
        kind: 'compute#disk',
        id: i.id,
        creationTimestamp: i.creationTimestamp,
        name: i.name,
        zone: link(`projects/${i.project}/zones/${i.zone}`),
        sizeGb: String(image?.body.diskSizeGb ?? '10'),
        status: i.status === 'PROVISIONING' ? 'CREATING' : 'READY',
        ...(i.sourceImage ? { sourceImage: link(i.sourceImage) } : {}),
        ...(image ? { sourceImageId: image.body.id } : {}),
        type: link(`projects/${i.project}/zones/${i.zone}/diskTypes/pd-balanced`),
        users: [link(`projects/${i.project}/zones/${i.zone}/instances/${i.name}`)],
        selfLink: link(`projects/${i.project}/zones/${i.zone}/disks/${i.name}`),
      },
      b,
    );
  }

  private list(rc: RouteContext): void {
    const { project, zone } = rc.params as { project: string; zone: string };
    const b = base(this.core, rc);
    const items = this.all()
      .filter((i) => i.project === project && i.zone === zone)
      .map((i) => this.view(i, b));
    sendJson(rc.res, 200, {
      kind: 'compute#instanceList',
      id: `projects/${project}/zones/${zone}/instances`,
      ...listPage(items, rc.url),
      selfLink: `${b}/compute/v1/projects/${project}/zones/${zone}/instances`,
    });
  }

  private listDisks(rc: RouteContext): void {
    const { project, zone } = rc.params as { project: string; zone: string };
    const b = base(this.core, rc);
    const items = this.all()
      .filter((i) => i.project === project && i.zone === zone)
      .map((i) => this.diskView(i, b));
    sendJson(rc.res, 200, {
      kind: 'compute#diskList',
      id: `projects/${project}/zones/${zone}/disks`,
      ...listPage(items, rc.url),
      selfLink: `${b}/compute/v1/projects/${project}/zones/${zone}/disks`,
    });
  }

  private async setMetadata(rc: RouteContext): Promise<void> {
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const i = this.find(rc);
    const rawItems = (input.items ?? []) as unknown;
    if (!Array.isArray(rawItems))
      throw new ApiError(400, "Invalid value for field 'metadata.items'.", 'invalid');
    const seen = new Set<string>();
    const items: { key: string; value: string }[] = [];
    for (const [n, it] of (rawItems as Json[]).entries()) {
      const k = it?.key;
      if (typeof k !== 'string' || !METADATA_KEY_RE.test(k)) {
        throw new ApiError(
          400,
          `Invalid value for field 'metadata.items[${n}].key': '${String(k)}'. Must be a match of regex '[a-zA-Z0-9-_]{1,128}'`,
          'invalid',
        );
      }
      if (seen.has(k))
        throw new ApiError(
          400,
          `Invalid value for field 'metadata.items[${n}].key': '${k}'. Duplicate keys are not allowed.`,
          'invalid',
        );
      seen.add(k);
      items.push({ key: k, value: String(it.value ?? '') });
    }
    if (input.fingerprint !== i.metadata.fingerprint) throw metadataStale();
    const op = this.core.ops.start({
      project: i.project,
      scope: `zones/${i.zone}`,
      operationType: 'setMetadata',
      targetPath: `projects/${i.project}/zones/${i.zone}/instances/${i.name}`,
      targetId: i.id,
      effect: {
        kind: 'instance.setMetadata',
        key: instanceKey(i.project, i.zone, i.name),
        items,
        fingerprint: i.metadata.fingerprint,
      },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  /**
   * Guest attributes exist only when the guest could write them (`enable-guest-attributes=TRUE`); a path
   * with nothing under it is 404, as is every path of an instance with guest attributes disabled.
   */
  private guestAttributes(rc: RouteContext): void {
    const i = this.find(rc);
    const b = base(this.core, rc);
    const variableKey = rc.url.searchParams.get('variableKey');
    const queryPath = rc.url.searchParams.get('queryPath');
    const selfPath = `projects/${i.project}/zones/${i.zone}/instances/${i.name}/guestAttributes`;
    const missing = (p: string) => notFound(`${selfPath}/${p}`);
    const enabled = guestAttributesEnabled(i, this.projectItems(i.project));
    if (variableKey) {
      const value = enabled ? i.guestAttributes[variableKey] : undefined;
      if (value === undefined) throw missing(variableKey);
      sendJson(rc.res, 200, {
        kind: 'compute#guestAttributes',
        variableKey,
        variableValue: value,
        selfLink: `${b}/compute/v1/${selfPath}/${variableKey}`,
      });
      return;
    }
    const prefix = queryPath ?? '';
    const items = Object.entries(enabled ? i.guestAttributes : {})
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, value]) => {
        const at = k.indexOf('/');
        return { namespace: k.slice(0, at), key: k.slice(at + 1), value };
      });
    if (items.length === 0) throw missing(prefix);
    sendJson(rc.res, 200, {
      kind: 'compute#guestAttributes',
      ...(queryPath ? { queryPath } : {}),
      queryValue: { items },
      selfLink: `${b}/compute/v1/${selfPath}/${prefix}`,
    });
  }
}

function metadataStale(): ApiError {
  return new ApiError(
    412,
    'Supplied fingerprint does not match current metadata fingerprint.',
    'conditionNotMet',
  );
}
