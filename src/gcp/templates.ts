import { randomUUID } from 'node:crypto';
import type {
  InstanceTemplateResource,
  TemplatesAggregatedList,
  TemplatesDelete,
  TemplatesGet,
  TemplatesInsert,
} from './compute-api.ts';
import { type Operation, waitForOperation } from './operations.ts';
import { imagePath, lastSegment, resourcePath } from './resource-path.ts';
import { listAllPages, type RestClient } from './rest.ts';

export interface AttachedDisk {
  boot?: boolean;
  initializeParams?: { sourceImage?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface MetadataItem {
  key: string;
  value?: string;
}

export interface TemplateProperties {
  disks?: AttachedDisk[];
  metadata?: { items?: MetadataItem[]; fingerprint?: string; [key: string]: unknown };
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface InstanceTemplate {
  name: string;
  selfLink: string;
  description?: string;
  /** Set on regional templates only. */
  region?: string;
  properties: TemplateProperties;
  [key: string]: unknown;
}

/** `projects/P/global/instanceTemplates/N` or `projects/P/regions/R/instanceTemplates/N`. */
const TEMPLATE_PATH = /^projects\/[^/]+\/(global|regions\/[^/]+)\/instanceTemplates\/[^/]+$/;

/** The scope part of a template path: `global` or `regions/R`. */
export function templateScope(path: string): string {
  const m = /^projects\/[^/]+\/(global|regions\/[^/]+)\//.exec(resourcePath(path));
  return m?.[1] ?? 'global';
}

/** The gcloud command that deletes the template at `path`; a regional one needs its --region. */
export function deleteTemplateCommand(path: string): string {
  const scope = templateScope(path);
  const region = scope.startsWith('regions/') ? ` --region ${lastSegment(scope)}` : '';
  return `gcloud compute instance-templates delete ${lastSegment(resourcePath(path))}${region}`;
}

/** Global and regional instance templates: read, create, delete, and list every one in the project. */
export class Templates {
  constructor(
    private readonly rest: RestClient,
    readonly project: string,
  ) {}

  get(ref: string): Promise<InstanceTemplate | undefined> {
    const path = resourcePath(ref);
    if (!TEMPLATE_PATH.test(path)) throw new Error(`"${ref}" is not an instance template path`);
    return this.rest.call<InstanceTemplate | undefined, TemplatesGet>({
      method: 'GET',
      path: `/${path}`,
      what: `reading instance template "${path}"`,
      allowNotFound: true,
    });
  }

  /** Creates a template in `scope` (`global` or `regions/R`) and waits until the operation is done. */
  async insert(
    scope: string,
    body: InstanceTemplateResource & { name: string },
    timeoutMs: number,
  ): Promise<InstanceTemplate> {
    const what = `creating instance template "${body.name}"`;
    const op = await this.rest.call<Operation, TemplatesInsert>({
      method: 'POST',
      path: `/projects/${this.project}/${scope}/instanceTemplates`,
      query: { requestId: randomUUID() },
      body,
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    const created = await this.get(`projects/${this.project}/${scope}/instanceTemplates/${body.name}`);
    if (!created) throw new Error(`${what}: the operation finished but the template does not exist`);
    return created;
  }

  async delete(ref: string, timeoutMs: number): Promise<void> {
    const path = resourcePath(ref);
    const what = `deleting instance template "${path}"`;
    const op = await this.rest.call<Operation, TemplatesDelete>({
      method: 'DELETE',
      path: `/${path}`,
      query: { requestId: randomUUID() },
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }

  /** Every template of the project, global and regional (aggregatedList, all pages). */
  async listAll(): Promise<InstanceTemplate[]> {
    return listAllPages(
      (pageToken) =>
        this.rest.call<
          { items?: Record<string, { instanceTemplates?: InstanceTemplate[] }>; nextPageToken?: string },
          TemplatesAggregatedList
        >({
          method: 'GET',
          path: `/projects/${this.project}/aggregated/instanceTemplates`,
          query: { maxResults: 500, pageToken },
          what: `listing the instance templates of project "${this.project}"`,
        }),
      (res) => Object.values(res.items ?? {}).flatMap((scoped) => scoped.instanceTemplates ?? []),
    );
  }
}

/** The boot disk's source image of a template, as given (URL, path or family). */
export function bootImage(template: InstanceTemplate): string | undefined {
  const boot =
    (template.properties.disks ?? []).find((d) => d.boot === true) ?? template.properties.disks?.[0];
  return boot?.initializeParams?.sourceImage;
}

/** Whether the template boots `image`; a reference without a project names an image of `project`. */
export function bootsImage(project: string, template: InstanceTemplate, image: string): boolean {
  const boot = bootImage(template);
  return boot !== undefined && imagePath(project, boot) === imagePath(project, image);
}
