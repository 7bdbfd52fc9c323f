import { createHash } from 'node:crypto';
import { computeEnum } from '../conformance/compute.ts';
import { ApiError, type RouteContext, readJson, sendJson } from '../http.ts';
import {
  alreadyExists,
  link,
  NAME_RE,
  newId,
  notFound,
  render,
  required,
  timestamp,
  validateName,
} from './common.ts';
import { base, type Core, P, requestIdOf, sendOperation } from './core.ts';
import { listPage } from './list.ts';
import { type ImageRecord, imageKey, type Json } from './state.ts';
import { parseRawDiskSource, storageOf } from './storage-source.ts';
import { checkImageTarball, UNSUPPORTED_FORMAT } from './tar-check.ts';

const DEPRECATION_STATES = new Set(['ACTIVE', 'DEPRECATED', 'OBSOLETE', 'DELETED']);
/** GuestOsFeature.Type and Image.Architecture values of the v1 API, from the client's protos. */
const GUEST_OS_FEATURES = new Set(
  computeEnum('GuestOsFeature', 'Type').filter((v) => v !== 'UNDEFINED_TYPE'),
);
const ARCHITECTURES = new Set(
  computeEnum('Image', 'Architecture').filter((v) => v !== 'UNDEFINED_ARCHITECTURE'),
);
const LABEL_KEY_RE = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE_RE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const GIB = 1024 ** 3;

/** GCE's fingerprint of an empty label set; others are a hash of the sorted labels. */
export function labelFingerprint(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return '42WmSpB8rSM=';
  return createHash('sha1').update(JSON.stringify(entries)).digest().subarray(0, 8).toString('base64');
}

export function validateLabels(labels: unknown, field: string): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels))
    throw new ApiError(400, `Invalid value for field '${field}'.`, 'invalid');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    if (!LABEL_KEY_RE.test(k))
      throw new ApiError(
        400,
        `Invalid value for field '${field}.${k}': '${k}'. Label keys must start with a lowercase letter and contain only lowercase letters, digits, underscores and dashes (1-63 characters).`,
        'invalid',
      );
    const s = String(v ?? '');
    if (!LABEL_VALUE_RE.test(s))
      throw new ApiError(
        400,
        `Invalid value for field '${field}.${k}': '${s}'. Label values contain only lowercase letters, digits, underscores and dashes (0-63 characters).`,
        'invalid',
      );
    out[k] = s;
  }
  if (Object.keys(out).length > 64)
    throw new ApiError(400, `Invalid value for field '${field}': at most 64 labels are allowed.`, 'invalid');
  return out;
}

/** Images: insert (with tarball checks), get, getFromFamily, list, deprecate, delete, setLabels. */
export class Images {
  constructor(private readonly core: Core) {
    const r = core.ctx.router;
    r.add('POST', `${P}/global/images`, (rc) => this.insert(rc));
    r.add('GET', `${P}/global/images`, (rc) => this.list(rc));
    r.add('GET', `${P}/global/images/family/{family}`, (rc) => this.fromFamily(rc));
    r.add('GET', `${P}/global/images/{image}`, (rc) =>
      sendJson(rc.res, 200, this.view(this.find(rc.params.project as string, rc.params.image as string), rc)),
    );
    r.add('DELETE', `${P}/global/images/{image}`, (rc) => this.delete(rc));
    r.add('POST', `${P}/global/images/{image}/deprecate`, (rc) => this.deprecate(rc));
    r.add('POST', `${P}/global/images/{image}/setLabels`, (rc) => this.setLabels(rc));

    core.ops.onDone('image.insert', (op, failed) => {
      const img = this.core.state.value.images[op.effect?.key as string];
      if (!img) return;
      if (failed) {
        img.body.status = 'FAILED';
        return;
      }
      if (!img.check) return false;
      if (img.check.ok) {
        img.body.status = 'READY';
        img.body.diskSizeGb = String(Math.max(1, Math.ceil(img.check.sizeBytes / GIB)));
      } else {
        img.body.status = 'FAILED';
        op.error = { code: img.check.code, message: img.check.message, httpStatus: 400 };
      }
    });
    core.ops.onDone('image.delete', (op, failed) => {
      const key = op.effect?.key as string;
      const img = this.core.state.value.images[key];
      if (!img) return;
      if (failed) img.body.status = img.body.statusBeforeDelete ?? img.body.status;
      else delete this.core.state.value.images[key];
      delete img.body.statusBeforeDelete;
    });
    core.ops.onDone('image.deprecate', (op, failed) => {
      const img = this.core.state.value.images[op.effect?.key as string];
      if (!img || failed) return;
      const dep = op.effect?.deprecated as Json | undefined;
      if (dep) img.body.deprecated = dep;
      else delete img.body.deprecated;
    });
    core.ops.onDone('image.setLabels', (op, failed) => {
      const img = this.core.state.value.images[op.effect?.key as string];
      if (!img || failed) return;
      if (img.body.labelFingerprint !== op.effect?.fingerprint) throw labelsStale();
      const labels = op.effect?.labels as Record<string, string>;
      img.body.labels = labels;
      img.body.labelFingerprint = labelFingerprint(labels);
    });
  }

  /** Re-reads tarballs whose check an earlier run did not finish. */
  resume(): void {
    // Deferred: the emulator registers the storage service only after every service is constructed.
    setImmediate(() => {
      for (const img of Object.values(this.core.state.value.images)) {
        if (img.body.status === 'PENDING' && !img.check) this.startCheck(img);
      }
    });
  }

  find(project: string, nameOrId: string): ImageRecord {
    const imgs = this.core.state.value.images;
    const img =
      imgs[imageKey(project, nameOrId)] ??
      Object.values(imgs).find((i) => i.project === project && i.body.id === nameOrId);
    if (!img) throw notFound(`projects/${project}/global/images/${nameOrId}`);
    return img;
  }

  all(project: string): ImageRecord[] {
    return Object.values(this.core.state.value.images).filter((i) => i.project === project);
  }

  private view(img: ImageRecord, rc?: RouteContext): Json {
    const body = { ...img.body };
    delete body.statusBeforeDelete;
    return render(body, base(this.core, rc));
  }

  private async insert(rc: RouteContext): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);

    const name = validateName(input.name);
    if (input.family !== undefined && input.family !== null && input.family !== '') {
      if (typeof input.family !== 'string' || !NAME_RE.test(input.family)) {
        throw new ApiError(
          400,
          `Invalid value for field 'resource.family': '${String(input.family)}'. Must be a match of regex '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'`,
          'invalid',
        );
      }
    }
    const labels = validateLabels(input.labels, 'resource.labels');
    const rawDisk = input.rawDisk as Json | undefined;
    const sourceUrl = rawDisk?.source;
    if (input.sourceDisk || input.sourceImage || input.sourceSnapshot) {
      throw new ApiError(400, 'The emulator creates images from rawDisk.source only.', 'invalid');
    }
    if (typeof sourceUrl !== 'string' || !sourceUrl) throw required('resource.rawDisk.source');
    if (rawDisk?.containerType !== undefined && rawDisk.containerType !== 'TAR') {
      throw new ApiError(
        400,
        `Invalid value for field 'resource.rawDisk.containerType': '${String(rawDisk.containerType)}'.`,
        'invalid',
      );
    }
    const features = input.guestOsFeatures ?? [];
    if (!Array.isArray(features))
      throw new ApiError(400, "Invalid value for field 'resource.guestOsFeatures'.", 'invalid');
    for (const [n, f] of (features as Json[]).entries()) {
      if (!GUEST_OS_FEATURES.has(String(f?.type))) {
        throw new ApiError(
          400,
          `Invalid value for field 'resource.guestOsFeatures[${n}].type': '${String(f?.type)}'.`,
          'invalid',
        );
      }
    }
    if (input.architecture !== undefined && !ARCHITECTURES.has(String(input.architecture))) {
      throw new ApiError(
        400,
        `Invalid value for field 'resource.architecture': '${String(input.architecture)}'.`,
        'invalid',
      );
    }
    const { bucket, object } = parseRawDiskSource(sourceUrl);
    const key = imageKey(project, name);
    if (this.core.state.value.images[key]) throw alreadyExists(`projects/${project}/global/images/${name}`);
    const storage = storageOf(this.core.ctx);
    if (!(await storage.getObject(bucket, object))) {
      throw new ApiError(
        404,
        `The resource '${sourceUrl}' of type 'Google Cloud Storage object' was not found.`,
        'notFound',
      );
    }
    // The object was looked up asynchronously: a concurrent insert may have taken the name meanwhile.
    if (this.core.state.value.images[key]) throw alreadyExists(`projects/${project}/global/images/${name}`);

    const now = Date.now();
    const body: Json = {
      kind: 'compute#image',
      id: newId(),
      creationTimestamp: timestamp(now),
      name,
      ...(typeof input.description === 'string' ? { description: input.description } : {}),
      sourceType: 'RAW',
      rawDisk: {
        source: sourceUrl,
        containerType: 'TAR',
        ...(rawDisk?.sha1Checksum ? { sha1Checksum: rawDisk.sha1Checksum } : {}),
      },
      status: 'PENDING',
      archiveSizeBytes: '0',
      diskSizeGb: '0',
      ...(input.family ? { family: input.family } : {}),
      labels,
      labelFingerprint: labelFingerprint(labels),
      guestOsFeatures: features,
      ...(input.architecture ? { architecture: input.architecture } : {}),
      storageLocations:
        Array.isArray(input.storageLocations) && input.storageLocations.length
          ? input.storageLocations
          : ['us'],
      ...(input.licenses ? { licenses: input.licenses } : {}),
      selfLink: link(`projects/${project}/global/images/${name}`),
    };
    const op = this.core.ops.start({
      project,
      scope: 'global',
      operationType: 'insert',
      targetPath: `projects/${project}/global/images/${name}`,
      targetId: body.id as string,
      effect: { kind: 'image.insert', key },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    const img: ImageRecord = { project, body, createdMs: now, opName: op.body.name as string };
    this.core.state.value.images[key] = img;
    this.core.state.save();
    if (!op.error) this.startCheck(img);
    sendOperation(this.core, rc, op);
  }

  /** Reads the tarball in the background; the insert operation is DONE only once this has answered. */
  private startCheck(img: ImageRecord): void {
    const { bucket, object } = parseRawDiskSource((img.body.rawDisk as Json).source as string);
    const finish = (check: NonNullable<ImageRecord['check']>) => {
      img.check = check;
      this.core.state.save();
    };
    void (async () => {
      const storage = storageOf(this.core.ctx);
      const meta = await storage.getObject(bucket, object);
      if (!meta)
        return finish({
          ok: false,
          code: 'RESOURCE_NOT_FOUND',
          message: `The resource '${(img.body.rawDisk as Json).source}' of type 'Google Cloud Storage object' was not found.`,
        });
      // A gzip-encoded object is served decompressed, so the importer sees a bare tar (nixos-generators#221).
      if (meta.contentEncoding?.toLowerCase() === 'gzip')
        return finish({ ok: false, code: 'INVALID_IMAGE_FILE', message: UNSUPPORTED_FORMAT });
      img.body.archiveSizeBytes = String(meta.size);
      const verdict = await checkImageTarball(await storage.openObject(bucket, object));
      finish(verdict.ok ? { ok: true, sizeBytes: verdict.diskBytes } : verdict);
    })().catch((err: Error) =>
      finish({
        ok: false,
        code: 'INTERNAL_ERROR',
        message: `Reading the image archive failed: ${err.message}`,
      }),
    );
  }

  private list(rc: RouteContext): void {
    const project = rc.params.project as string;
    const b = base(this.core, rc);
    const items = this.all(project).map((i) => this.view(i, rc));
    const page = listPage(items, rc.url);
    sendJson(rc.res, 200, {
      kind: 'compute#imageList',
      id: `projects/${project}/global/images`,
      ...page,
      selfLink: `${b}/compute/v1/projects/${project}/global/images`,
    });
  }

  private fromFamily(rc: RouteContext): void {
    const project = rc.params.project as string;
    const family = rc.params.family as string;
    const candidates = this.all(project)
      .filter((i) => i.body.family === family && i.body.status === 'READY')
      .filter((i) => {
        const state = (i.body.deprecated as Json | undefined)?.state;
        return state === undefined || state === 'ACTIVE';
      })
      .sort((a, b) => b.createdMs - a.createdMs);
    const newest = candidates[0];
    if (!newest) throw notFound(`projects/${project}/global/images/family/${family}`);
    sendJson(rc.res, 200, this.view(newest, rc));
  }

  private async delete(rc: RouteContext): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    await readJson(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const img = this.find(project, rc.params.image as string);
    if (img.body.status === 'DELETING')
      throw new ApiError(
        400,
        `The image resource 'projects/${project}/global/images/${img.body.name}' is not ready`,
        'resourceNotReady',
      );
    img.body.statusBeforeDelete = img.body.status;
    img.body.status = 'DELETING';
    const op = this.core.ops.start({
      project,
      scope: 'global',
      operationType: 'delete',
      targetPath: `projects/${project}/global/images/${img.body.name}`,
      targetId: img.body.id as string,
      effect: { kind: 'image.delete', key: imageKey(project, img.body.name as string) },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private async deprecate(rc: RouteContext): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const img = this.find(project, rc.params.image as string);
    const state = (input.state ?? 'ACTIVE') as string;
    if (!DEPRECATION_STATES.has(state)) {
      throw new ApiError(
        400,
        `Invalid value for field 'resource.state': '${state}'. Must be one of [ACTIVE, DELETED, DEPRECATED, OBSOLETE]`,
        'invalid',
      );
    }
    let deprecated: Json | undefined;
    if (state !== 'ACTIVE') {
      deprecated = { state };
      if (typeof input.replacement === 'string' && input.replacement) {
        const rep = input.replacement;
        deprecated.replacement = /^https?:\/\//.test(rep)
          ? rep
          : link(rep.startsWith('projects/') ? rep : `projects/${project}/global/images/${rep}`);
      }
      for (const f of ['deprecated', 'obsolete', 'deleted'] as const) {
        if (typeof input[f] === 'string' && input[f]) {
          if (Number.isNaN(Date.parse(input[f] as string))) {
            throw new ApiError(
              400,
              `Invalid value for field 'resource.${f}': '${input[f]}'. Must be an RFC 3339 timestamp.`,
              'invalid',
            );
          }
          deprecated[f] = input[f];
        }
      }
    }
    const op = this.core.ops.start({
      project,
      scope: 'global',
      operationType: 'deprecate',
      targetPath: `projects/${project}/global/images/${img.body.name}`,
      targetId: img.body.id as string,
      effect: {
        kind: 'image.deprecate',
        key: imageKey(project, img.body.name as string),
        ...(deprecated ? { deprecated } : {}),
      },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }

  private async setLabels(rc: RouteContext): Promise<void> {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(this.core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(this.core, rc, previous);
    const img = this.find(project, rc.params.image as string);
    const labels = validateLabels(input.labels, 'labels');
    if (input.labelFingerprint !== img.body.labelFingerprint) throw labelsStale();
    const op = this.core.ops.start({
      project,
      scope: 'global',
      operationType: 'setLabels',
      targetPath: `projects/${project}/global/images/${img.body.name}`,
      targetId: img.body.id as string,
      effect: {
        kind: 'image.setLabels',
        key: imageKey(project, img.body.name as string),
        labels,
        fingerprint: input.labelFingerprint,
      },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(this.core, rc, op);
  }
}

function labelsStale(): ApiError {
  return new ApiError(
    412,
    'Labels fingerprint either invalid or resource labels have changed',
    'conditionNotMet',
  );
}
