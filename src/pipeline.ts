import type { Storage } from '@google-cloud/storage';
import type { Config, PUBLISH_OUTPUTS } from './config.ts';
import { ExitCode, UserError } from './errors.ts';
import { credentialsFor, resolveProject } from './gcp/auth.ts';
import { parseRawDiskSource, rawDiskSource, resolveEndpoints } from './gcp/endpoints.ts';
import { GcpApiError } from './gcp/errors.ts';
import { ImageFamily } from './gcp/image-family.ts';
import { deprecationState, type Image, Images, type NewImage } from './gcp/images.ts';
import { RestClient } from './gcp/rest.ts';
import { retryPolicy } from './gcp/retry.ts';
import {
  checkBucket,
  deleteObject,
  objectExists,
  removeLeftoverObject,
  storageClient,
} from './gcp/storage.ts';
import { checkObjectName, type Sent, uploadImageObject } from './gcp/upload.ts';
import { imageDescription, imageLabels, MANAGED_BY } from './identity.ts';
import { buildAndCheck, type ImageSource, identifyImage, imageName } from './image-source.ts';
import { DEFAULT_IMAGE_NAME } from './inputs/image-name.ts';
import { makeCurrent, newerThan } from './lifecycle/make-current.ts';
import { isManaged } from './lifecycle/retention.ts';
import { isRolledBack } from './lifecycle/rolled-back.ts';
import type { ImageFacts } from './nix/facts.ts';
import type { Reporter } from './report/events.ts';
import type { RunState } from './run-state.ts';

/** The action's outputs, keyed by output name. */
export type PublishOutputs = Record<(typeof PUBLISH_OUTPUTS)[number], string>;

export interface PublishResult {
  outputs: PublishOutputs;
  /**
   * What became of the build's image (or would, in a dry run): a new one, one that already existed and is
   * current, or one deprecated before and made current again, with the newer images `gaveWay` to it.
   */
  made: 'created' | 'reused' | 'reactivated';
  gaveWay: string[];
  /** What happened, in one line per stage, for summaries. */
  steps: { stage: string; result: string }[];
}

export interface PublishEnvironment {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** The Nix system to build for. */
  system?: string;
  /** Records what is under way, for the message of an interrupted run. */
  state?: RunState;
}

const BASE_GUEST_OS_FEATURES = ['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE'];

/** Runs one publish: ensure Nix, build, verify, upload, create the image. Nothing else is touched. */
export async function publish(
  config: Config,
  reporter: Reporter,
  run: PublishEnvironment,
): Promise<PublishResult> {
  const steps: PublishResult['steps'] = [];
  const endpoints = resolveEndpoints(config.storageEndpoint, config.computeEndpoint);
  const credentials = credentialsFor(endpoints);
  const retry = retryPolicy(config.retryDeadline, reporter);

  // Reads only: fail on a wrong project or bucket before spending minutes on a build.
  const { project, storage } = await reporter.group('Check Google Cloud target', async () => {
    // Mint a token first: without one the storage client would send unauthenticated requests and fail late.
    await credentials.headers();
    const project = await resolveProject(config.project, credentials);
    const storage = await storageClient(endpoints, credentials, project, retry);
    await checkBucket(storage, config.bucket, run.signal);
    reporter.info(`Project ${project}, bucket gs://${config.bucket}, family ${config.family}.`);
    return { project, storage };
  });

  // The identity comes first, before any build: a Nix image's output path is known after evaluation.
  const source = await identifyImage(config, reporter, run, steps);
  const rest = new RestClient(endpoints.compute, credentials, retry, run.signal);
  const images = new Images(rest, project);

  const outputs: PublishOutputs = {
    'image-name': '',
    'image-self-link': '',
    'image-family': config.family,
    'gcs-uri': '',
    'store-path': source.storePath ?? '',
    'nix-hash': source.nixHash,
    skipped: 'false',
  };

  const existing = await reporter.group('Look for an existing image', () =>
    existingImage(images, config, source.nixHash, reporter),
  );
  if (existing && deprecationState(existing) !== 'ACTIVE') {
    const family = new ImageFamily(rest, project, config.family);
    return reactivate(images, family, existing, config, reporter, outputs, steps);
  }
  if (existing) {
    reporter.info(
      `Image ${existing.name} of this build is already READY in family ${config.family}; nothing to ${source.evaluated ? 'build or ' : ''}publish.`,
    );
    return alreadyPublished(existing, config, storage, source.nixHash, reporter, outputs, steps);
  }

  if (config.dryRun && source.evaluated) return planWithoutBuild(config, source, reporter, outputs, steps);
  const artifact = source.prepared ?? (await buildAndCheck(source, config, reporter, run, steps));
  const identity = { nixHash: source.nixHash, name: imageName(config, source.nixHash, artifact.facts) };
  reporter.info(`Image ${identity.name} (nix-hash ${identity.nixHash}).`);
  outputs['image-name'] = identity.name;

  const guestOsFeatures = guestFeatures(artifact.facts, config);
  // The facts already take the architecture input over the builder's file (readImageFacts).
  const architecture = artifact.facts.architecture;
  const objectName = `${config.objectPrefix}${identity.name}.raw.tar.gz`;
  const objectMetadata = {
    'nix-hash': identity.nixHash,
    'managed-by': MANAGED_BY,
    // Read by a rerun that finds the image: a tarball this run meant to delete may be deleted then.
    'keep-object': String(config.keepObject),
  };
  // Reads only, before anything is written: a name another build holds stops the run here.
  const { atName, checkedObject } = await reporter.group('Check the image and object names', async () => {
    const ours = await imageOfThisBuild(images, identity.name, identity.nixHash, reporter, {
      timeoutMs: config.operationTimeout * 1000,
      deleteFailed: false,
    });
    if (ours) return { atName: ours, checkedObject: null };
    const found = await checkObjectName(storage, {
      bucket: config.bucket,
      object: objectName,
      file: artifact.tarball,
      metadata: objectMetadata,
      signal: run.signal,
    });
    return { atName: undefined, checkedObject: found ?? null };
  });
  if (atName) {
    reporter.info(`Image ${atName.name} of this build already exists; nothing to publish.`);
    return alreadyPublished(atName, config, storage, source.nixHash, reporter, outputs, steps);
  }
  const objectUri = `gs://${config.bucket}/${objectName}`;
  if (config.dryRun) {
    reporter.info(
      `Dry run: would upload ${artifact.tarball} to ${objectUri} and create image ${identity.name} (${architecture}, ${guestOsFeatures.join(', ')}).`,
    );
    steps.push({ stage: 'dry-run', result: `would create ${identity.name}` });
    return { outputs: { ...outputs, 'gcs-uri': objectUri }, steps, made: 'created', gaveWay: [] };
  }

  const newImage: NewImage = {
    name: identity.name,
    family: config.family,
    description: imageDescription(source.flakeRef, source.flakeRev, config.description),
    labels: imageLabels({
      nixHash: identity.nixHash,
      user: config.labels,
      env: run.env,
      flakeRev: source.flakeRev,
    }),
    source: rawDiskSource(config.bucket, objectName),
    guestOsFeatures,
    architecture,
    storageLocation: config.storageLocation,
  };
  const upload = async (checked?: Sent | null) => {
    run.state?.uploading(objectUri);
    const sent = await reporter.group('Upload to Cloud Storage', () =>
      uploadImageObject(storage, {
        bucket: config.bucket,
        object: objectName,
        file: artifact.tarball,
        metadata: objectMetadata,
        checked,
        reporter,
        signal: run.signal,
        onSent: (done, size) => run.state?.sent(done, size),
      }),
    );
    steps.push({ stage: 'upload', result: `${sent.reused ? 'reused' : 'uploaded'} ${sent.gcsUri}` });
    return sent;
  };
  const insert = () => {
    run.state?.inserting(identity.name, objectUri);
    return reporter.group('Create image', () => createImage(images, config, reporter, run.state, newImage));
  };
  // What the name check found is reused; a second upload (the object was deleted meanwhile) looks again.
  let uploaded = await upload(checkedObject);
  let inserted: { image: Image; created: boolean };
  try {
    inserted = await insert();
  } catch (err) {
    // Someone else deleted the object between our upload and the insert: send it once more.
    if (!(isSourceNotFound(err) && !(await objectExists(storage, config.bucket, objectName))))
      throw await withObjectFate(err, storage, config.bucket, objectName);
    reporter.warn(
      `gs://${config.bucket}/${objectName} was deleted by someone else before image ${identity.name} could read it; uploading it again.`,
    );
    uploaded = await upload();
    inserted = await insert().catch(async (again) => {
      throw await withObjectFate(again, storage, config.bucket, objectName);
    });
  }
  const { image, created } = inserted;
  if (!created) {
    // Another run of this very build made the image while we uploaded; it owns the object's cleanup too.
    steps.push({ stage: 'image', result: `published meanwhile by another run as ${image.name}` });
    return {
      outputs: { ...outputs, 'image-self-link': image.selfLink, 'gcs-uri': uploaded.gcsUri, skipped: 'true' },
      steps,
      made: 'reused',
      gaveWay: [],
    };
  }
  steps.push({ stage: 'image', result: `created ${image.name} (${image.status})` });

  if (!config.keepObject) {
    run.state?.removingObject(image.name, objectUri);
    await deleteObject(storage, config.bucket, objectName, uploaded.generation, run.signal);
    reporter.info(
      `Deleted gs://${config.bucket}/${objectName}; the image holds its own copy (keep-object keeps it).`,
    );
  }
  return {
    outputs: { ...outputs, 'image-self-link': image.selfLink, 'gcs-uri': uploaded.gcsUri },
    steps,
    made: 'created',
    gaveWay: [],
  };
}

/** The outputs of a publish that found this build already an image; an earlier run's tarball goes now. */
async function alreadyPublished(
  image: Image,
  config: Config,
  storage: Storage,
  nixHash: string,
  reporter: Reporter,
  outputs: PublishOutputs,
  steps: PublishResult['steps'],
): Promise<PublishResult> {
  steps.push({ stage: 'image', result: `already published as ${image.name}` });
  if (!config.keepObject && !config.dryRun) await removeLeftover(storage, image, nixHash, reporter, steps);
  return {
    outputs: { ...outputs, 'image-name': image.name, 'image-self-link': image.selfLink, skipped: 'true' },
    steps,
    made: 'reused',
    gaveWay: [],
  };
}

/** --dry-run of a Nix image that is not published yet: the plan, without building it. */
function planWithoutBuild(
  config: Config,
  source: ImageSource,
  reporter: Reporter,
  outputs: PublishOutputs,
  steps: PublishResult['steps'],
): PublishResult {
  // {nixos} comes from the built image's facts file, so a name using it is known only after the build.
  const template = config.imageName ?? DEFAULT_IMAGE_NAME;
  const name = template.includes('{nixos}') ? '' : imageName(config, source.nixHash, undefined);
  const objectName = `${config.objectPrefix}${name || `<image-name>`}.raw.tar.gz`;
  reporter.info(
    `Dry run: would build ${source.evaluated?.drvPath} (output ${source.storePath}), upload its tarball to gs://${config.bucket}/${objectName} and create image ${name || `${template} (its {nixos} part is read from the build)`}; nothing was built.`,
  );
  steps.push({ stage: 'dry-run', result: `would build ${source.storePath} and create ${name || template}` });
  return {
    outputs: { ...outputs, 'image-name': name, 'gcs-uri': name ? `gs://${config.bucket}/${objectName}` : '' },
    steps,
    made: 'created',
    gaveWay: [],
  };
}

/**
 * The image of this build that makes publishing unnecessary, if any: READY, or PENDING and then READY.
 * One a rollback deprecated (it carries the rolled-back mark) is refused unless "allow-rolled-back" asks for
 * it again; a deprecated one is returned and the caller makes it current again. A FAILED one is left to
 * createImage, which deletes it for a retry.
 */
async function existingImage(
  images: Images,
  config: Config,
  nixHash: string,
  reporter: Reporter,
): Promise<Image | undefined> {
  // Only images we made: a nix-hash label copied onto someone else's image neither skips nor reactivates.
  const found = (await images.findByNixHash(config.family, nixHash)).filter(isManaged);
  const deprecated = found.find((i) => i.status === 'READY' && deprecationState(i) !== 'ACTIVE');
  const rolledBack = deprecated && isRolledBack(deprecated) ? deprecated : undefined;
  if (rolledBack && !config.allowRolledBack) {
    throw new UserError(
      `This build was published as ${rolledBack.name} and later rolled back (${deprecationState(rolledBack)}); set "allow-rolled-back" to make it current again on purpose.`,
      'allow-rolled-back',
      ExitCode.RolledBack,
    );
  }
  if (deprecated) return deprecated;
  const ready = found.find((i) => i.status === 'READY');
  if (ready) return ready;
  const pending = found.find((i) => i.status === 'PENDING');
  if (pending) {
    reporter.info(
      `Image ${pending.name} of this build is PENDING (another run, or an interrupted one); waiting for it.`,
    );
    const settled = await images.waitUntilSettled(pending.name, config.operationTimeout * 1000);
    if (settled?.status === 'READY') return settled;
  }
  return undefined;
}

/**
 * The build is already an image, deprecated by retention (or by a rollback, with allow-rolled-back): it is
 * made the family's current image again rather than uploaded twice (lifecycle/make-current.ts).
 */
async function reactivate(
  images: Images,
  family: ImageFamily,
  image: Image,
  config: Config,
  reporter: Reporter,
  outputs: PublishOutputs,
  steps: PublishResult['steps'],
): Promise<PublishResult> {
  const done = { ...outputs, 'image-name': image.name, 'image-self-link': image.selfLink };
  const why = isRolledBack(image) ? 'rolled-back image, as allow-rolled-back asked' : 'deprecated image';
  if (config.dryRun) {
    const newer = (await newerThan(family, image)).map((i) => i.name);
    const giving = newer.length ? ` and deprecate ${newer.join(', ')} in its favour` : '';
    reporter.info(`Dry run: would mark the ${why} ${image.name} ACTIVE again${giving}.`);
    steps.push({ stage: 'dry-run', result: `would make ${image.name} current again` });
    return { outputs: done, steps, made: 'reactivated', gaveWay: newer };
  }
  const gaveWay = await makeCurrent(images, family, image, config.operationTimeout * 1000, reporter);
  const say = `Marked the ${why} ${image.name} ACTIVE again; it is this build, and the family gives it.`;
  if (isRolledBack(image)) reporter.warn(say);
  else reporter.info(say);
  steps.push({ stage: 'image', result: `made ${image.name} current again` });
  return { outputs: done, steps, made: 'reactivated', gaveWay };
}

/** The image insert failed because its source object is missing (at the insert, or while GCE read it). */
function isSourceNotFound(err: unknown): boolean {
  return (
    err instanceof GcpApiError &&
    (err.status === 404 || err.reason === 'RESOURCE_NOT_FOUND') &&
    /Google Cloud Storage object/.test(err.message)
  );
}

/** Adds what became of the uploaded object to a failed insert's message: the next run relies on it. */
async function withObjectFate(
  err: unknown,
  storage: Storage,
  bucket: string,
  object: string,
): Promise<unknown> {
  if (!(err instanceof GcpApiError)) return err;
  const kept = await objectExists(storage, bucket, object).catch(() => undefined);
  if (kept === undefined) return err;
  const fate = kept
    ? `gs://${bucket}/${object} is kept until an image of this build is READY: the next run uses it rather than uploading again, and deletes it then`
    : `gs://${bucket}/${object} no longer exists, so the next run uploads again`;
  return new GcpApiError(`${err.message}; ${fate}.`, err.status, err.reason);
}

/** On an unchanged rerun: the object an interrupted or timed-out earlier run left behind goes now. */
async function removeLeftover(
  storage: Storage,
  image: Image,
  nixHash: string,
  reporter: Reporter,
  steps: PublishResult['steps'],
): Promise<void> {
  const source = image.rawDisk?.source ? parseRawDiskSource(image.rawDisk.source) : undefined;
  if (!source) return;
  if (!(await removeLeftoverObject(storage, source.bucket, source.object, nixHash))) return;
  reporter.info(
    `Deleted gs://${source.bucket}/${source.object}, left by an earlier run of this build that stopped before its clean-up.`,
  );
  steps.push({ stage: 'clean-up', result: `deleted leftover gs://${source.bucket}/${source.object}` });
}

/**
 * Inserts the image. A name already taken by an image of this same build (another run, or an interrupted
 * one) is waited for instead: `created` is false then. A FAILED one is deleted and tried again.
 */
async function createImage(
  images: Images,
  config: Config,
  reporter: Reporter,
  state: RunState | undefined,
  image: NewImage,
): Promise<{ image: Image; created: boolean }> {
  const timeoutMs = config.operationTimeout * 1000;
  const ownership = { timeoutMs, deleteFailed: true };
  const nixHash = image.labels['nix-hash'] ?? '';
  const theirs = await imageOfThisBuild(images, image.name, nixHash, reporter, ownership);
  if (theirs) return { image: theirs, created: false };
  let last = '';
  try {
    const created = await images.insert(image, timeoutMs, (op) => {
      state?.operation(op.name);
      const line = `operation ${op.name}: ${op.status}`;
      if (line !== last) reporter.debug(line);
      last = line;
    });
    return { image: created, created: true };
  } catch (err) {
    // Lost a race to insert the same name since the check above.
    if (!(err instanceof GcpApiError && err.status === 409)) throw err;
    const winner = await imageOfThisBuild(images, image.name, nixHash, reporter, ownership);
    if (winner) return { image: winner, created: false };
    throw err;
  }
}

/**
 * The image already holding this name, when it is this build's (our managed-by label and this nix-hash):
 * a READY one, or a PENDING one once it is READY. A FAILED one of ours is deleted for a retry when
 * `deleteFailed` (never in the read-only check before the upload). An image that is not this build's
 * stops the run: it is never replaced or deleted.
 */
async function imageOfThisBuild(
  images: Images,
  name: string,
  nixHash: string,
  reporter: Reporter,
  opts: { timeoutMs: number; deleteFailed: boolean },
): Promise<Image | undefined> {
  const previous = await images.get(name);
  if (!previous) return undefined;
  if (previous.labels?.['managed-by'] !== MANAGED_BY || previous.labels['nix-hash'] !== nixHash) {
    const labels = `managed-by=${previous.labels?.['managed-by'] ?? '(none)'}, nix-hash=${previous.labels?.['nix-hash'] ?? '(none)'}`;
    throw new UserError(
      `Image name "${name}" is already taken by an image that is not this build's (${previous.status}, labels ${labels}; this build's nix-hash is ${nixHash}); nothing was uploaded or created. Choose another "image-name".`,
      'image-name',
    );
  }
  if (previous.status === 'FAILED') {
    if (!opts.deleteFailed) return undefined;
    reporter.warn(`A FAILED image named ${name} is in the way; deleting it and trying again.`);
    await images.delete(name, opts.timeoutMs);
    return undefined;
  }
  if (previous.status === 'READY') return previous;
  reporter.info(`Image ${name} of this build is being created by another run; waiting for it.`);
  const settled =
    previous.status === 'PENDING' ? await images.waitUntilSettled(name, opts.timeoutMs) : previous;
  if (settled?.status === 'READY') return settled;
  throw new GcpApiError(
    `creating image "${name}" failed: another run's image of this build ended ${settled?.status ?? 'deleted'}`,
    409,
    'alreadyExists',
  );
}

function guestFeatures(facts: ImageFacts, config: Config): string[] {
  const features = [
    ...BASE_GUEST_OS_FEATURES,
    ...(facts.efi ? ['UEFI_COMPATIBLE'] : []),
    ...config.guestOsFeatures,
  ];
  return [...new Set(features)];
}
