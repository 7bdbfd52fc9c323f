import { randomUUID } from 'node:crypto';
import type {
  DisksGet,
  InstancesGet,
  InstancesGetGuestAttributes,
  InstancesSetMetadata,
  ProjectsGet,
} from './compute-api.ts';
import { type Operation, waitForOperation } from './operations.ts';
import type { RestClient } from './rest.ts';
import type { MetadataItem } from './templates.ts';

export interface Instance {
  name: string;
  /** Changes when the group recreates the instance under the same name. */
  id?: string;
  status: string;
  metadata?: { fingerprint?: string; items?: MetadataItem[] };
  disks?: { boot?: boolean; source?: string }[];
}

export interface Disk {
  name: string;
  sourceImage?: string;
}

/** Instances and their disks: metadata, guest attributes, boot images. */
export class Instances {
  constructor(
    private readonly rest: RestClient,
    readonly project: string,
  ) {}

  private path(zone: string, name: string): string {
    return `/projects/${this.project}/zones/${zone}/instances/${name}`;
  }

  get(zone: string, name: string): Promise<Instance | undefined> {
    return this.rest.call<Instance | undefined, InstancesGet>({
      method: 'GET',
      path: this.path(zone, name),
      what: `reading instance "${name}" in ${zone}`,
      allowNotFound: true,
    });
  }

  /** Replaces the instance's metadata; `fingerprint` must be the one just read (412 when stale). */
  async setMetadata(
    zone: string,
    name: string,
    fingerprint: string,
    items: MetadataItem[],
    timeoutMs: number,
  ): Promise<void> {
    const what = `setting metadata of instance "${name}" in ${zone}`;
    const op = await this.rest.call<Operation, InstancesSetMetadata>({
      method: 'POST',
      path: `${this.path(zone, name)}/setMetadata`,
      query: { requestId: randomUUID() },
      body: { fingerprint, items },
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }

  /** Guest attributes under `namespace/` as key → value; empty when there are none (404) or they are off. */
  async guestAttributes(zone: string, name: string, namespace: string): Promise<Record<string, string>> {
    const res = await this.rest.call<
      { queryValue?: { items?: { namespace?: string; key?: string; value?: string }[] } } | undefined,
      InstancesGetGuestAttributes
    >({
      method: 'GET',
      path: `${this.path(zone, name)}/getGuestAttributes`,
      query: { queryPath: `${namespace}/` },
      what: `reading guest attributes of instance "${name}" in ${zone}`,
      allowNotFound: true,
    });
    const out: Record<string, string> = {};
    for (const item of res?.queryValue?.items ?? [])
      if (item.key !== undefined) out[item.key] = item.value ?? '';
    return out;
  }

  /** Project-wide metadata (`commonInstanceMetadata`), which instance metadata overrides key by key. */
  async projectMetadata(): Promise<MetadataItem[]> {
    const project = await this.rest.call<
      { commonInstanceMetadata?: { items?: MetadataItem[] } },
      ProjectsGet
    >({
      method: 'GET',
      path: `/projects/${this.project}`,
      what: `reading the metadata of project "${this.project}"`,
    });
    return project.commonInstanceMetadata?.items ?? [];
  }

  getDisk(zone: string, name: string): Promise<Disk | undefined> {
    return this.rest.call<Disk | undefined, DisksGet>({
      method: 'GET',
      path: `/projects/${this.project}/zones/${zone}/disks/${name}`,
      what: `reading disk "${name}" in ${zone}`,
      allowNotFound: true,
    });
  }
}
