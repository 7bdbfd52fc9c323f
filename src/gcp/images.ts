import { randomUUID } from 'node:crypto';
import type {
  ImageResource,
  ImagesDelete,
  ImagesGet,
  ImagesInsert,
  ImagesList,
  ImagesSetLabels,
} from './compute-api.ts';
import { type Operation, waitForOperation } from './operations.ts';
import type { RestClient } from './rest.ts';
import { sleep } from './retry.ts';

export interface Image {
  name: string;
  selfLink: string;
  family?: string;
  status: 'PENDING' | 'READY' | 'FAILED' | 'DELETING';
  creationTimestamp: string;
  labels?: Record<string, string>;
  labelFingerprint?: string;
  description?: string;
  guestOsFeatures?: { type: string }[];
  architecture?: string;
  storageLocations?: string[];
  /** The object the image was created from; GCE keeps the URL after the object is gone. */
  rawDisk?: { source?: string };
  deprecated?: { state?: 'ACTIVE' | 'DEPRECATED' | 'OBSOLETE' | 'DELETED'; replacement?: string };
}

export interface NewImage {
  name: string;
  family: string;
  description: string;
  labels: Record<string, string>;
  source: string;
  guestOsFeatures: string[];
  architecture: string;
  storageLocation?: string;
}

/** The state an image is in, as far as re-publishing goes. */
export function deprecationState(image: Image): 'ACTIVE' | 'DEPRECATED' | 'OBSOLETE' | 'DELETED' {
  return image.deprecated?.state ?? 'ACTIVE';
}

/** READY and not deprecated: an image the family can give out. */
export function isCurrent(image: Image | undefined): boolean {
  return image?.status === 'READY' && deprecationState(image) === 'ACTIVE';
}

/** For messages: "deleted", the status while not READY, else the deprecation state. */
export function describeState(image: Image | undefined): string {
  if (!image) return 'deleted';
  return image.status === 'READY' ? deprecationState(image) : image.status;
}

export class Images {
  constructor(
    private readonly rest: RestClient,
    readonly project: string,
  ) {}

  private get base(): string {
    return `/projects/${this.project}/global/images`;
  }

  /** Images of the family carrying this nix-hash label: one list call, the whole no-op check. */
  async findByNixHash(family: string, nixHash: string): Promise<Image[]> {
    const res = await this.rest.call<{ items?: Image[] }, ImagesList>({
      method: 'GET',
      path: this.base,
      query: { filter: `(family = "${family}") AND (labels.nix-hash = "${nixHash}")`, maxResults: 500 },
      what: `looking up images of family "${family}"`,
    });
    return res.items ?? [];
  }

  get(name: string): Promise<Image | undefined> {
    return this.rest.call<Image | undefined, ImagesGet>({
      method: 'GET',
      path: `${this.base}/${name}`,
      what: `reading image "${name}"`,
      allowNotFound: true,
    });
  }

  /** Inserts and waits until the operation is done; a retried insert carries the same requestId. */
  async insert(image: NewImage, timeoutMs: number, onPoll?: (op: Operation) => void): Promise<Image> {
    const body: ImageResource = {
      name: image.name,
      family: image.family,
      description: image.description,
      labels: image.labels,
      rawDisk: { source: image.source },
      guestOsFeatures: image.guestOsFeatures.map((type) => ({ type })),
      architecture: image.architecture,
      ...(image.storageLocation ? { storageLocations: [image.storageLocation] } : {}),
    };
    const what = `creating image "${image.name}"`;
    const op = await this.rest.call<Operation, ImagesInsert>({
      method: 'POST',
      path: this.base,
      query: { requestId: randomUUID() },
      body,
      what,
    });
    // The caller learns the operation at once: an interrupted run names it as going on in Google Cloud.
    onPoll?.(op);
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what, onPoll });
    const created = await this.get(image.name);
    if (!created) throw new Error(`${what}: the operation finished but the image does not exist`);
    return created;
  }

  async delete(name: string, timeoutMs: number): Promise<void> {
    const what = `deleting image "${name}"`;
    const op = await this.rest.call<Operation, ImagesDelete>({
      method: 'DELETE',
      path: `${this.base}/${name}`,
      query: { requestId: randomUUID() },
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }

  /**
   * Replaces the image's labels, guarded by the fingerprint they were read with: Google answers 412 when
   * someone changed them since. The method takes no requestId.
   */
  async setLabels(
    name: string,
    labels: Record<string, string>,
    labelFingerprint: string,
    timeoutMs: number,
  ): Promise<void> {
    const what = `setting the labels of image "${name}"`;
    const op = await this.rest.call<Operation, ImagesSetLabels>({
      method: 'POST',
      path: `${this.base}/${name}/setLabels`,
      body: { labels, labelFingerprint },
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }

  /** Polls a PENDING image (someone else's insert, or our own from an interrupted run) until it settles. */
  async waitUntilSettled(name: string, timeoutMs: number, pollMs = 3000): Promise<Image | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const image = await this.get(name);
      if (image?.status !== 'PENDING') return image;
      if (Date.now() > deadline) return image;
      await sleep(pollMs, this.rest.signal);
    }
  }
}
