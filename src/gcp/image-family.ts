import { randomUUID } from 'node:crypto';
import type {
  DeprecationStatusResource,
  ImagesDeprecate,
  ImagesGetFromFamily,
  ImagesList,
} from './compute-api.ts';
import type { Image } from './images.ts';
import { type Operation, waitForOperation } from './operations.ts';
import { listAllPages, type RestClient } from './rest.ts';

/** The family-wide image calls retention and rollback need: list, getFromFamily, deprecate. */
export class ImageFamily {
  constructor(
    private readonly rest: RestClient,
    readonly project: string,
    readonly family: string,
  ) {}

  private get base(): string {
    return `/projects/${this.project}/global/images`;
  }

  /** Every image of the family, whatever its state or labels (all pages). */
  async list(): Promise<Image[]> {
    return listAllPages(
      (pageToken) =>
        this.rest.call<{ items?: Image[]; nextPageToken?: string }, ImagesList>({
          method: 'GET',
          path: this.base,
          query: { filter: `family = "${this.family}"`, maxResults: 500, pageToken },
          what: `listing the images of family "${this.family}"`,
        }),
      (res) => res.items ?? [],
    );
  }

  /** The newest non-deprecated image of the family, as instances following the family get it. */
  newest(): Promise<Image | undefined> {
    return this.rest.call<Image | undefined, ImagesGetFromFamily>({
      method: 'GET',
      path: `${this.base}/family/${this.family}`,
      what: `reading the newest image of family "${this.family}"`,
      allowNotFound: true,
    });
  }

  /** Marks an image DEPRECATED in favour of `replacement` (a self link). Google calls this irreversible. */
  deprecate(name: string, replacement: string, timeoutMs: number): Promise<void> {
    return this.setDeprecation(
      name,
      { state: 'DEPRECATED', replacement },
      `deprecating image "${name}"`,
      timeoutMs,
    );
  }

  /**
   * Marks a deprecated image ACTIVE again. Google's current docs call deprecation irreversible while gcloud
   * and older docs offer `state=ACTIVE`; it is used only on the user's explicit `allow-rolled-back`.
   */
  reactivate(name: string, timeoutMs: number): Promise<void> {
    return this.setDeprecation(name, { state: 'ACTIVE' }, `marking image "${name}" ACTIVE again`, timeoutMs);
  }

  private async setDeprecation(
    name: string,
    body: DeprecationStatusResource,
    what: string,
    timeoutMs: number,
  ): Promise<void> {
    const op = await this.rest.call<Operation, ImagesDeprecate>({
      method: 'POST',
      path: `${this.base}/${name}/deprecate`,
      query: { requestId: randomUUID() },
      body,
      what,
    });
    await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
  }
}
