import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import {
  alreadyExists,
  clone,
  fingerprint,
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
import { validateLabels } from './images.ts';
import { aggregatedPage, listPage } from './list.ts';
import { type Json, type TemplateRecord, templateKey } from './state.ts';

/** Global and regional instance templates: insert, get, list, aggregatedList, delete (refused while used). */
export class Templates {
  constructor(private readonly core: Core) {
    const r = core.ctx.router;
    const scopes: [string, (rc: RouteContext) => string][] = [
      ['global', () => 'global'],
      ['regions/{region}', (rc) => `regions/${rc.params.region}`],
    ];
    for (const [pattern, scopeOf] of scopes) {
      const path = `${P}/${pattern}/instanceTemplates`;
      r.add('POST', path, (rc) => this.insert(rc, scopeOf(rc)));
      r.add('GET', path, (rc) => this.list(rc, scopeOf(rc)));
      r.add('GET', `${path}/{template}`, (rc) =>
        sendJson(
          rc.res,
          200,
          render(
            this.find(rc.params.project as string, scopeOf(rc), rc.params.template as string).body,
            base(core, rc),
          ),
        ),
      );
      r.add('DELETE', `${path}/{template}`, (rc) => this.delete(rc, scopeOf(rc)));
    }
    r.add('GET', `${P}/aggregated/instanceTemplates`, (rc) => this.aggregated(rc));
    core.ops.onDone('template.delete', (op, failed) => {
      if (!failed) delete this.core.state.value.templates[op.effect?.key as string];
    });
    core.ops.onDone('template.insert', (op, failed) => {
      if (failed) delete this.core.state.value.templates[op.effect?.key as string];
    });
  }

  find(project: string, scope: string, nameOrId: string): TemplateRecord {
    const all = this.core.state.value.templates;
    const t =
      all[templateKey(project, scope, nameOrId)] ??
      Object.values(all).find((x) => x.project === project && x.scope === scope && x.body.id === nameOrId);
    if (!t) throw notFound(`projects/${project}/${scope}/instanceTemplates/${nameOrId}`);
    return t;
  }

  /** A template by full or partial URL, or undefined. */
  byRef(ref: string): TemplateRecord | undefined {
    const m = /projects\/([^/]+)\/(global|regions\/[^/]+)\/instanceTemplates\/([^/?]+)/.exec(
      resourcePath(ref),
    );
    if (!m) return undefined;
    return this.core.state.value.templates[templateKey(m[1] as string, m[2] as string, m[3] as string)];
  }

  /** Insert directly (admin/test setup), returning the stored record. */
  create(project: string, scope: string, input: Json): TemplateRecord {
    const name = validateName(input.name);
    const key = templateKey(project, scope, name);
    if (this.core.state.value.templates[key])
      throw alreadyExists(`projects/${project}/${scope}/instanceTemplates/${name}`);
    const properties = input.properties as Json | undefined;
    if (!properties || typeof properties !== 'object') throw required('resource.properties');
    if (!properties.machineType) throw required('resource.properties.machineType');
    const disks = properties.disks;
    if (!Array.isArray(disks) || disks.length === 0) throw required('resource.properties.disks');
    const boot = (disks as Json[]).filter((d) => d.boot === true);
    if (boot.length !== 1) {
      throw new ApiError(
        400,
        "Invalid value for field 'resource.properties.disks': exactly one boot disk must be specified.",
        'invalid',
      );
    }
    const bootDisk = boot[0] as Json;
    const init = bootDisk.initializeParams as Json | undefined;
    if (!bootDisk.source && !init?.sourceImage)
      throw required('resource.properties.disks[0].initializeParams.sourceImage');
    if (init?.sourceImage) this.checkImage(project, String(init.sourceImage));
    validateLabels(properties.labels, 'resource.properties.labels');
    const metadata = (properties.metadata as Json | undefined) ?? {};
    const items = (metadata.items as unknown[] | undefined) ?? [];
    const body: Json = {
      kind: 'compute#instanceTemplate',
      id: newId(),
      creationTimestamp: timestamp(),
      name,
      ...(typeof input.description === 'string' ? { description: input.description } : {}),
      properties: {
        ...clone(properties),
        metadata: { kind: 'compute#metadata', items, fingerprint: fingerprint() },
      },
      selfLink: link(`projects/${project}/${scope}/instanceTemplates/${name}`),
      ...(scope.startsWith('regions/') ? { region: link(`projects/${project}/${scope}`) } : {}),
    };
    const rec: TemplateRecord = { project, scope, body };
    this.core.state.value.templates[key] = rec;
    this.core.state.save();
    return rec;
  }

  /**
   * GCE refuses a template whose image is missing. An image of another project is checked when the emulator
   * holds images of that project; otherwise (a public image project such as debian-cloud) it is taken on
   * trust. Access to the other project's images is not modelled.
   */
  private checkImage(project: string, ref: string): void {
    const m = /projects\/([^/]+)\/global\/images\/(family\/)?([^/?]+)/.exec(resourcePath(ref));
    const imgProject = m?.[1] ?? project;
    const imgs = Object.values(this.core.state.value.images).filter((i) => i.project === imgProject);
    if (imgProject !== project && imgs.length === 0) return;
    const name = m ? (m[3] as string) : (ref.split('/').pop() ?? ref);
    const found = m?.[2] ? imgs.some((i) => i.body.family === name) : imgs.some((i) => i.body.name === name);
    if (!found) throw notFound(`projects/${imgProject}/global/images/${m?.[2] ? 'family/' : ''}${name}`);
  }

  private async insert(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const t = this.create(project, scope, input);
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'insert',
      targetPath: `projects/${project}/${scope}/instanceTemplates/${t.body.name}`,
      targetId: t.body.id as string,
      effect: { kind: 'template.insert', key: templateKey(project, scope, t.body.name as string) },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private list(rc: RouteContext, scope: string): void {
    const project = rc.params.project as string;
    const b = base(this.core, rc);
    const items = Object.values(this.core.state.value.templates)
      .filter((t) => t.project === project && t.scope === scope)
      .map((t) => render(t.body, b));
    sendJson(rc.res, 200, {
      kind: 'compute#instanceTemplateList',
      id: `projects/${project}/${scope}/instanceTemplates`,
      ...listPage(items, rc.url),
      selfLink: `${b}/compute/v1/projects/${project}/${scope}/instanceTemplates`,
    });
  }

  private aggregated(rc: RouteContext): void {
    const project = rc.params.project as string;
    const b = base(this.core, rc);
    const byScope: Record<string, Json[]> = {};
    for (const t of Object.values(this.core.state.value.templates)) {
      if (t.project !== project) continue;
      const list = byScope[t.scope] ?? [];
      list.push(render(t.body, b));
      byScope[t.scope] = list;
    }
    sendJson(rc.res, 200, {
      kind: 'compute#instanceTemplateAggregatedList',
      id: `projects/${project}/aggregated/instanceTemplates`,
      ...aggregatedPage(byScope, 'instanceTemplates', rc.url),
      selfLink: `${b}/compute/v1/projects/${project}/aggregated/instanceTemplates`,
    });
  }

  private async delete(rc: RouteContext, scope: string): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    await readJson(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const t = this.find(project, scope, rc.params.template as string);
    const path = `projects/${project}/${scope}/instanceTemplates/${t.body.name}`;
    for (const g of Object.values(this.core.state.value.groups)) {
      const refs = [
        g.body.instanceTemplate,
        ...((g.body.versions as Json[] | undefined) ?? []).map((v) => v.instanceTemplate),
      ];
      if (refs.some((r) => typeof r === 'string' && resourcePath(r) === path)) {
        throw new ApiError(
          400,
          `The instance_template resource '${path}' is already being used by 'projects/${g.project}/${g.scope}/instanceGroupManagers/${g.body.name}'`,
          'resourceInUseByAnotherResource',
        );
      }
    }
    const op = this.core.ops.start({
      project,
      scope,
      operationType: 'delete',
      targetPath: path,
      targetId: t.body.id as string,
      effect: { kind: 'template.delete', key: templateKey(project, scope, t.body.name as string) },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }
}
