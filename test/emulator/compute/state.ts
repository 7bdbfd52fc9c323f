import { PersistedJson } from '../persisted.ts';

export type Json = Record<string, unknown>;

/** An operation as stored: the API body plus what the emulator needs to finish it. */
export interface OperationRecord {
  project: string;
  /** `global`, `regions/R` or `zones/Z`. */
  scope: string;
  body: Json;
  insertMs: number;
  /** Earliest time it may be DONE. */
  doneMs: number;
  /** Set once the side effect ran (or there was none). */
  finished: boolean;
  /** What to do when DONE, e.g. `{ kind: 'image.insert', key }`. */
  effect?: Json & { kind: string };
  /** Error the operation ends with; decided at creation (fault) or by the effect. */
  error?: { code: string; message: string; httpStatus?: number };
}

export interface ImageRecord {
  project: string;
  body: Json;
  createdMs: number;
  /** Result of reading the tarball: undefined while the check runs. */
  check?: { ok: true; sizeBytes: number } | { ok: false; code: string; message: string };
  opName: string;
}

export interface TemplateRecord {
  project: string;
  /** `global` or `regions/R`. */
  scope: string;
  body: Json;
}

export interface GroupRecord {
  project: string;
  /** `zones/Z` or `regions/R`. */
  scope: string;
  body: Json;
  /** Counter for generated instance names. */
  serial: number;
}

export interface InstanceRecord {
  project: string;
  zone: string;
  name: string;
  id: string;
  /** Owning group key, when managed. */
  group?: string;
  template: string;
  status: string;
  currentAction: string;
  /** Simulated step index within the current action. */
  step: number;
  /** What the current action leads to (e.g. recreate switches to this template). */
  targetTemplate?: string;
  /** Set on an outdated instance a surge instance will replace. */
  replacedBy?: string;
  metadata: { items: { key: string; value: string }[]; fingerprint: string };
  guestAttributes: Record<string, string>;
  labels: Record<string, string>;
  createdMs: number;
  creationTimestamp: string;
  sourceImage?: string;
}

export interface InstanceEvent {
  time: string;
  ms: number;
  /** created, deleted, recreated, draining-seen, drain-cleared, guest-attribute, metadata-set */
  event: string;
  instance: string;
  zone: string;
  group?: string;
  template: string;
  detail?: Json;
}

export interface ComputeStateShape {
  images: Record<string, ImageRecord>;
  operations: Record<string, OperationRecord>;
  /** `project/requestId` → operation name. */
  requestIds: Record<string, string>;
  templates: Record<string, TemplateRecord>;
  groups: Record<string, GroupRecord>;
  instances: Record<string, InstanceRecord>;
  events: InstanceEvent[];
  /** Project-wide metadata (`commonInstanceMetadata`), by project; absent means empty. */
  projectMetadata?: Record<string, { items: { key: string; value: string }[]; fingerprint: string }>;
}

export class ComputeState extends PersistedJson<ComputeStateShape> {
  private closed = false;

  /** After close, late async work (a tarball check still reading) must not overwrite a successor's state. */
  override save(): void {
    if (!this.closed) super.save();
  }

  close(): void {
    super.save();
    this.closed = true;
  }

  constructor(dataDir: string) {
    super(dataDir, 'compute', () => ({
      images: {},
      operations: {},
      requestIds: {},
      templates: {},
      groups: {},
      instances: {},
      events: [],
    }));
  }
}

export const imageKey = (project: string, name: string) => `${project}/global/images/${name}`;
export const templateKey = (project: string, scope: string, name: string) =>
  `${project}/${scope}/instanceTemplates/${name}`;
export const groupKey = (project: string, scope: string, name: string) =>
  `${project}/${scope}/instanceGroupManagers/${name}`;
export const instanceKey = (project: string, zone: string, name: string) =>
  `${project}/zones/${zone}/instances/${name}`;
