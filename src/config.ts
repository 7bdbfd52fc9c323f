/**
 * The one input schema. Every input is declared once here: name, type, default, description and
 * validation. action.yml, the CLI flags and help, and docs/inputs.md are generated from or checked against
 * it (scripts/gen-docs.ts, test/config/drift.test.ts). parseConfig validates everything up front, so a bad
 * input fails before anything is built, uploaded or created.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { UserError } from './errors.ts';
import type { GuestOsFeatureType } from './gcp/compute-api.ts';
import { checkImageNameTemplate, DEFAULT_IMAGE_NAME } from './inputs/image-name.ts';
import { checkModuleFile } from './inputs/module-file.ts';
import {
  checkBucket,
  checkEndpoint,
  checkLabelKey,
  checkLabelValue,
  checkObjectPrefix,
  checkProjectId,
  checkResourceName,
  checkStorageLocation,
  MAX_LABELS,
} from './inputs/rules.ts';
import { closest } from './inputs/suggest.ts';
import { checkNoCredentials, checkNotOptionLike, hideCredentials } from './inputs/untrusted.ts';
import {
  formatDuration,
  invalid,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  parseList,
  parseMap,
} from './inputs/values.ts';
import { DEFAULT_NIX_VERSION, isSha256Hex, PINNED_NIX_RELEASES, releaseSha256 } from './nix/releases.ts';

/** The one version: the action ref, the component version, the flake ref and `--version` (docs/architecture.md, "Versions"). */
export const VERSION: string = pkg.version;
/** Where this project's own flake lives, for the default `flake` outside GitHub Actions. */
export const PROJECT_FLAKE = 'github:pcboy/nix-glab-runner';

export type InputType = 'string' | 'boolean' | 'list' | 'enum' | 'duration' | 'map' | 'number';
export type InputGroup = 'Nix' | 'GCP target' | 'Image' | 'Retention' | 'Rollout' | 'Run';
export const INPUT_GROUPS: readonly InputGroup[] = [
  'Nix',
  'GCP target',
  'Image',
  'Retention',
  'Rollout',
  'Run',
];
/** The commands inputs belong to: the CLI subcommands, and the action's `command` input. */
export type Command = 'publish' | 'roll' | 'prune' | 'rollback';
export const COMMANDS: readonly Command[] = ['publish', 'roll', 'prune', 'rollback'];
const ALL_COMMANDS = COMMANDS;

/** The typed value of each input type: durations are seconds. */
export type ValueOf<T extends InputType> = T extends 'boolean'
  ? boolean
  : T extends 'list'
    ? string[]
    : T extends 'map'
      ? Record<string, string>
      : T extends 'duration' | 'number'
        ? number
        : string;

export interface ValidateContext {
  /** Absolute workspace directory: relative paths resolve against it, extra modules must lie in it. */
  workspace: string;
  /** True in CI (`CI=true`). */
  ci: boolean;
}

interface SpecOf<T extends InputType> {
  /** Kebab-case; the action input, the CLI flag (`--name`) and the component input all use it. */
  name: string;
  type: T;
  description: string;
  group: InputGroup;
  /** Default as the raw string a user would write. Absent: the input is optional with no value. */
  default?: string;
  /** A different default for action.yml only, such as an `${{ github.token }}` expression. */
  actionDefault?: string;
  required?: boolean;
  /** Allowed values for `enum`, and for each item of a `list` that declares them. */
  options?: readonly string[];
  /** What a value is, for help (`--bucket <name>`). Default: value. */
  valueName?: string;
  /** Bounds for `number` and `duration` (seconds). */
  min?: number;
  max?: number;
  /**
   * May hold a secret: never echoed in messages; entry points mask it; the CLI also reads it from
   * NGR_INPUT_<NAME>, and the GitLab component passes it there rather than on the command line.
   */
  secret?: boolean;
  /**
   * Free text that never becomes a command-line argument (a description, nix.conf lines, a token). Every
   * other string and list input names something (a reference, path or name) and must not start with "-".
   */
  freeText?: boolean;
  /** Commands that use this input; default publish only. */
  commands?: readonly Command[];
  /** An action input only: the CLI takes it as its subcommand instead of a flag. */
  actionOnly?: boolean;
  /**
   * Checks the typed value; throws a UserError (see `invalid`) on the first problem. It may return a
   * normalised value to store instead. Runs on defaults too, never on absent values.
   */
  validate?(value: ValueOf<T>, ctx: ValidateContext): ValueOf<T> | undefined;
}

export type InputSpec = { [T in InputType]: SpecOf<T> }[InputType];

function input<T extends InputType>(spec: SpecOf<T>): InputSpec {
  return spec as InputSpec;
}

/** A rule check (see inputs/rules.ts) as a validate function. */
function rule(check: (value: string) => string | undefined, name: string) {
  return (value: string): undefined => {
    const broken = check(value);
    if (broken) throw invalid(name, broken, value);
    return undefined;
  };
}

/**
 * Endpoints: as rule(), but a refused URL is echoed with its user info, query and fragment hidden, since
 * that is where a token or password would sit (issue 7: no secret in error messages).
 */
function endpoint(name: string) {
  return (value: string): undefined => {
    const broken = checkEndpoint(value);
    if (broken) throw invalid(name, broken, hideCredentials(value).replace(/([?#]).*$/s, '$1***'));
    return undefined;
  };
}

/**
 * The values of Compute v1 `GuestOsFeature.type` (the `@google-cloud/compute` protos) that the
 * `guest-os-features` input offers. The typecheck holds this list and the next one to the enum: every
 * value is either offered or left out for a reason, so a new value in the protos needs a decision.
 */
export const GUEST_OS_FEATURES = [
  'GVNIC',
  'IDPF',
  'MULTI_IP_SUBNET',
  'SEV_CAPABLE',
  'SEV_LIVE_MIGRATABLE',
  'SEV_LIVE_MIGRATABLE_V2',
  'SEV_SNP_CAPABLE',
  'SNP_SVSM_CAPABLE',
  'TDX_CAPABLE',
  'UEFI_COMPATIBLE',
  'VIRTIO_SCSI_MULTIQUEUE',
] as const satisfies readonly GuestOsFeatureType[];

/** The values of `GuestOsFeature.type` the input does not offer, and why. */
export const GUEST_OS_FEATURES_LEFT_OUT = {
  WINDOWS: 'a NixOS image is not Windows',
  SECURE_BOOT: 'NixOS images are not signed for Secure Boot',
  BARE_METAL_LINUX_COMPATIBLE: 'not in the values the API documents for the field',
  BMSAI_CAPABLE: 'not in the values the API documents for the field',
  CCA_CAPABLE: 'Arm confidential computing, not tried with these images',
  SUSPEND_SAFE_FPR: 'the API does not document what it means',
} as const satisfies Record<Exclude<GuestOsFeatureType, (typeof GUEST_OS_FEATURES)[number]>, string>;

/** Labels the pipeline sets itself; a user label with one of these keys would hide ours. */
/** The one accepted form of `instance-group`: a zonal or regional group path without the project. */
export const GROUP_PATH =
  /^(zones|regions)\/[a-z][-a-z0-9]{0,61}\/instanceGroupManagers\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const RESERVED_LABELS = ['managed-by', 'nix-hash'] as const;
/** The pipeline adds up to this many labels (managed-by, nix-hash, git-sha, flake-rev). */
const OWN_LABELS = 4;
/** The API documents no limit on image descriptions; this cap keeps summaries and logs readable. */
export const MAX_DESCRIPTION = 2048;

/** Resolves a path against the workspace and follows symlinks, refusing what is not a regular file. */
function existingFile(name: string, given: string, workspace: string): string {
  const absolute = path.resolve(workspace, given);
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    const rule = path.isAbsolute(given)
      ? 'must name files that exist'
      : 'must name files that exist, relative to the workspace';
    throw invalid(name, rule, given);
  }
  if (!statSync(real).isFile()) throw invalid(name, 'must name regular files, not directories', given);
  return real;
}

export const INPUTS: readonly InputSpec[] = [
  // Nix
  input({
    name: 'flake',
    type: 'string',
    valueName: 'ref',
    group: 'Nix',
    default: '',
    description:
      "Flake to build from: a builder flake exposing builders.<system>.gceImage (the upstream interface), or your own flake (\".\") with flake-attr. Empty means this project's own flake at the action's ref or the CLI's version.",
    validate: (value) => {
      if (/\s/.test(value)) throw invalid('flake', 'must be a flake reference without whitespace', value);
      // A password or token in the URL (user info or query) would reach logs, the image description and
      // the wrapper flake copied into the world-readable Nix store.
      const broken = checkNoCredentials(value);
      if (broken) throw invalid('flake', broken, hideCredentials(value));
      return undefined;
    },
  }),
  input({
    name: 'flake-attr',
    type: 'string',
    valueName: 'attr',
    group: 'Nix',
    description:
      'Attribute of the flake to build instead of the builder interface: an image derivation (e.g. packages.x86_64-linux.gce) or nixosConfigurations.<name>, which is extended with extra-modules.',
    validate: (value) => {
      if (!/^[A-Za-z0-9_'"][A-Za-z0-9_.'"-]*$/.test(value) || value.includes('..') || value.endsWith('.')) {
        throw invalid(
          'flake-attr',
          'must be a dotted attribute path such as nixosConfigurations.runner',
          value,
        );
      }
      return undefined;
    },
  }),
  input({
    name: 'extra-modules',
    type: 'list',
    group: 'Nix',
    description:
      'NixOS module files added to the image, separated by newlines or commas. Each must be a regular file inside the workspace, not a symlink, nothing under .git/ and no gha-creds-*.json; in a git checkout, a file git tracks. Only these files enter the Nix store.',
    validate: (files, ctx) => {
      requireWorkspace(ctx.workspace);
      const resolved = files.map((file) => {
        const checked = checkModuleFile(file, ctx.workspace);
        if ('broken' in checked) throw invalid('extra-modules', checked.broken, file);
        return checked.path;
      });
      return [...new Set(resolved)];
    },
  }),
  input({
    name: 'image-file',
    type: 'string',
    valueName: 'path',
    group: 'Nix',
    description:
      'A prebuilt *.raw.tar.gz to publish instead of building with Nix. Cannot be combined with extra-modules or flake-attr.',
    validate: (file, ctx) => existingFile('image-file', file, ctx.workspace),
  }),
  input({
    name: 'install-nix',
    type: 'enum',
    group: 'Nix',
    default: 'auto',
    options: ['auto', 'always', 'never'],
    description:
      'Whether to install Nix: auto installs it only in CI when no working nix is found, always installs the pinned nix-version, never requires an existing nix.',
  }),
  input({
    name: 'nix-version',
    type: 'string',
    valueName: 'version',
    group: 'Nix',
    default: DEFAULT_NIX_VERSION,
    description: `Nix release to install when Nix is installed. Versions with a pinned installer hash: ${Object.keys(PINNED_NIX_RELEASES).join(', ')}; any other needs nix-sha256, even when install-nix auto then finds Nix already there (only install-nix never skips this check).`,
    validate: (value) => {
      if (!/^\d+\.\d+\.\d+$/.test(value))
        throw invalid('nix-version', `must be a release such as ${DEFAULT_NIX_VERSION}`, value);
      return undefined;
    },
  }),
  input({
    name: 'nix-sha256',
    type: 'string',
    valueName: 'hex',
    group: 'Nix',
    description:
      'SHA-256 of the release tarball nix-VERSION-SYSTEM.tar.xz, from a source you trust; required for a nix-version without a pinned hash. The installer is checked against it before every run, downloaded or cached.',
    validate: (value) => {
      const hex = value.toLowerCase();
      if (!isSha256Hex(hex)) throw invalid('nix-sha256', 'must be 64 hex digits', value);
      return hex;
    },
  }),
  input({
    name: 'extra-nix-config',
    type: 'string',
    valueName: 'lines',
    group: 'Nix',
    default: '',
    freeText: true,
    // It may hold access-tokens: the component passes it to the CLI in the environment, not on argv.
    secret: true,
    description:
      'Lines appended to nix.conf, e.g. substituters and trusted-public-keys. access-tokens lines reach Nix only through the environment (NIX_CONFIG), never the nix.conf file the installer writes, which every user can read. The CLI also reads NGR_INPUT_EXTRA_NIX_CONFIG.',
  }),
  input({
    name: 'github-token',
    type: 'string',
    valueName: 'token',
    group: 'Nix',
    secret: true,
    freeText: true,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
    actionDefault: '${{ github.token }}',
    description:
      'Token for github.com flake inputs, avoiding API rate limits; Nix gets it as access-tokens through the environment (NIX_CONFIG), never a nix.conf file or a command line. The action uses the job token by default; the CLI also reads NGR_INPUT_GITHUB_TOKEN.',
  }),

  // GCP target
  input({
    name: 'project',
    commands: ALL_COMMANDS,
    type: 'string',
    valueName: 'id',
    group: 'GCP target',
    description: 'Google Cloud project id. Default: the project of the Application Default Credentials.',
    validate: rule(checkProjectId, 'project'),
  }),
  input({
    name: 'bucket',
    type: 'string',
    valueName: 'name',
    group: 'GCP target',
    required: true,
    description: 'Cloud Storage bucket the image tarball is uploaded to before the image is created.',
    validate: rule(checkBucket, 'bucket'),
  }),
  input({
    name: 'object-prefix',
    type: 'string',
    valueName: 'prefix',
    group: 'GCP target',
    default: 'nix-glab-runner/',
    description: 'Prefix of the uploaded object name; the object is {object-prefix}{image-name}.raw.tar.gz.',
    validate: rule(checkObjectPrefix, 'object-prefix'),
  }),
  input({
    name: 'keep-object',
    type: 'boolean',
    group: 'GCP target',
    default: 'false',
    description: 'Keep the uploaded tarball after the image is READY instead of deleting it.',
  }),
  input({
    name: 'storage-endpoint',
    type: 'string',
    valueName: 'url',
    group: 'GCP target',
    description:
      'Cloud Storage API endpoint, for Private Service Connect or the emulator. Plain http is allowed only for loopback hosts.',
    validate: endpoint('storage-endpoint'),
  }),
  input({
    name: 'compute-endpoint',
    commands: ALL_COMMANDS,
    type: 'string',
    valueName: 'url',
    group: 'GCP target',
    description:
      'Compute Engine API endpoint, for Private Service Connect or the emulator. Plain http is allowed only for loopback hosts.',
    validate: endpoint('compute-endpoint'),
  }),

  // Image
  input({
    name: 'family',
    commands: ALL_COMMANDS,
    type: 'string',
    valueName: 'name',
    group: 'Image',
    default: 'nixos-image-gitlab-runner',
    description:
      'Image family the new image joins, and the one prune, roll and rollback work on; instance templates can follow the family.',
    validate: rule(checkResourceName, 'family'),
  }),
  input({
    name: 'image-name',
    type: 'string',
    valueName: 'template',
    group: 'Image',
    default: DEFAULT_IMAGE_NAME,
    description:
      'Image name, or a template with {family}, {hash} (Nix output hash), {date} (UTC YYYYMMDD) and {nixos} (NixOS release). A template must contain {hash}; it is shortened to 63 characters by trimming {family} first.',
  }),
  input({
    name: 'guest-os-features',
    type: 'list',
    group: 'Image',
    options: GUEST_OS_FEATURES,
    default: '',
    description:
      'Guest OS features added to the defaults (GVNIC, VIRTIO_SCSI_MULTIQUEUE, and UEFI_COMPATIBLE for EFI images), separated by newlines or commas.',
  }),
  input({
    name: 'labels',
    type: 'map',
    group: 'Image',
    default: '',
    description:
      'Extra image labels as key=value pairs, separated by newlines or commas. The keys managed-by and nix-hash are reserved.',
    validate: (labels) => {
      const keys = Object.keys(labels);
      for (const key of keys) {
        const broken = checkLabelKey(key);
        if (broken) throw invalid('labels', broken, key);
        if ((RESERVED_LABELS as readonly string[]).includes(key)) {
          throw invalid(
            'labels',
            `must not set the reserved key "${key}", which the publisher sets itself`,
            key,
          );
        }
        const value = labels[key] ?? '';
        const badValue = checkLabelValue(value);
        if (badValue) throw invalid('labels', badValue, `${key}=${value}`);
      }
      if (keys.length > MAX_LABELS - OWN_LABELS) {
        throw invalid(
          'labels',
          `must have at most ${MAX_LABELS - OWN_LABELS} labels, leaving room for ${OWN_LABELS} of the publisher's, not ${keys.length}`,
        );
      }
      return undefined;
    },
  }),
  input({
    name: 'description',
    type: 'string',
    valueName: 'text',
    group: 'Image',
    freeText: true,
    description: 'Image description. Default: the flake reference and its revision.',
    validate: (value) => {
      if (value.length > MAX_DESCRIPTION) {
        throw invalid('description', `must be at most ${MAX_DESCRIPTION} characters, not ${value.length}`);
      }
      return undefined;
    },
  }),
  input({
    name: 'storage-location',
    type: 'string',
    valueName: 'location',
    group: 'Image',
    description:
      'Cloud Storage location of the image, such as us, eu or us-central1. Default: chosen by Compute Engine near the bucket.',
    validate: rule(checkStorageLocation, 'storage-location'),
  }),
  input({
    name: 'architecture',
    type: 'enum',
    group: 'Image',
    options: ['X86_64', 'ARM64'],
    description: "Image architecture. Default: from the build's nix-support/gce-image.json, else X86_64.",
  }),

  // Retention
  input({
    name: 'keep',
    type: 'number',
    group: 'Retention',
    default: '3',
    min: 1,
    max: 100,
    commands: ['publish', 'prune'],
    description:
      'How many of the newest READY, ACTIVE images of the family that carry managed-by=nix-glab-runner to keep ACTIVE; older ones get the retention action.',
  }),
  input({
    name: 'retention',
    type: 'enum',
    group: 'Retention',
    default: 'deprecate',
    options: ['deprecate', 'delete'],
    commands: ['publish', 'prune'],
    description:
      'What happens to managed images beyond keep: deprecate (replacement: the newest image) or delete. Images used by an instance template or by a disk of the group are never touched.',
  }),
  input({
    name: 'min-age',
    type: 'duration',
    group: 'Retention',
    min: 1,
    max: 3650 * 24 * 3600,
    commands: ['publish', 'prune'],
    description:
      'Only images at least this old get the retention action, e.g. 168h for a week. Default: any age.',
  }),

  input({
    name: 'retention-check-projects',
    type: 'list',
    valueName: 'ids',
    group: 'Retention',
    default: '',
    commands: ['publish', 'prune'],
    description:
      "Other projects whose instance templates may boot this project's images, separated by newlines or commas. Retention lists their templates too (global and regional) and keeps every image one of them uses, by name or through the family; it needs compute.instanceTemplates.list there. Their instances and disks are not checked.",
    validate: (projects) => {
      for (const project of projects) rule(checkProjectId, 'retention-check-projects')(project);
      return undefined;
    },
  }),

  // Rollout
  input({
    name: 'roll',
    type: 'enum',
    group: 'Rollout',
    default: 'none',
    options: ['none', 'mig'],
    description:
      'After publishing, roll instance-group onto the image (mig), or not (none). An unchanged build still rolls a group that is not on its image.',
  }),
  input({
    name: 'instance-group',
    type: 'string',
    valueName: 'path',
    group: 'Rollout',
    commands: ALL_COMMANDS,
    description:
      'Managed instance group of the runners, as zones/ZONE/instanceGroupManagers/NAME or regions/REGION/instanceGroupManagers/NAME. Required by roll and by roll: mig; for prune, the images its disks use are kept.',
    validate: (value) => {
      if (!GROUP_PATH.test(value)) {
        throw invalid(
          'instance-group',
          'must be zones/ZONE/instanceGroupManagers/NAME or regions/REGION/instanceGroupManagers/NAME',
          value,
        );
      }
      return undefined;
    },
  }),
  input({
    name: 'image',
    type: 'string',
    valueName: 'name',
    group: 'Rollout',
    commands: ['roll'],
    description: 'Image to roll the group onto, by name. Default: the newest ACTIVE image of the family.',
    validate: rule(checkResourceName, 'image'),
  }),
  input({
    name: 'drain',
    type: 'boolean',
    group: 'Rollout',
    default: 'true',
    commands: ['publish', 'roll', 'rollback'],
    description:
      'Drain each old instance before it is replaced: its runner stops taking jobs and finishes running ones (see docs/lifecycle.md). false replaces with a plain PROACTIVE rolling update.',
  }),
  input({
    name: 'drain-timeout',
    type: 'duration',
    group: 'Rollout',
    default: '1h',
    min: 1,
    max: 24 * 3600,
    commands: ['publish', 'roll', 'rollback'],
    description:
      'Longest an instance may drain; after it the instance is replaced anyway, with a warning naming it.',
  }),
  input({
    name: 'max-surge',
    type: 'number',
    group: 'Rollout',
    min: 0,
    max: 1000,
    commands: ['publish', 'roll', 'rollback'],
    description:
      "Most instances created above the group's target size during the roll. Default: Google's (the number of zones; 0 with RECREATE).",
  }),
  input({
    name: 'max-unavailable',
    type: 'number',
    group: 'Rollout',
    min: 0,
    max: 1000,
    commands: ['publish', 'roll', 'rollback'],
    description:
      "Most instances draining or being replaced at once. Default: Google's (the number of zones).",
  }),
  input({
    name: 'replacement-method',
    type: 'enum',
    group: 'Rollout',
    default: 'SUBSTITUTE',
    options: ['SUBSTITUTE', 'RECREATE'],
    commands: ['publish', 'roll', 'rollback'],
    description:
      'SUBSTITUTE replaces instances with new names; RECREATE keeps instance names and needs max-surge 0.',
  }),
  input({
    name: 'roll-timeout',
    type: 'duration',
    group: 'Rollout',
    default: '2h',
    min: 10,
    max: 48 * 3600,
    commands: ['publish', 'roll', 'rollback'],
    description:
      'How long to wait for the group to reach the new version, drains included; on timeout the stuck instances are named.',
  }),

  // Run
  input({
    name: 'command',
    type: 'enum',
    group: 'Run',
    default: 'publish',
    options: COMMANDS,
    commands: ALL_COMMANDS,
    actionOnly: true,
    description:
      'What the action does: publish (build and publish an image), roll, prune or rollback. The CLI takes it as its subcommand.',
  }),
  input({
    name: 'dry-run',
    commands: ALL_COMMANDS,
    type: 'boolean',
    group: 'Run',
    default: 'false',
    description:
      'Show what would be uploaded, created, deprecated, deleted and rolled, making read-only API calls only.',
  }),
  input({
    name: 'operation-timeout',
    commands: ALL_COMMANDS,
    type: 'duration',
    group: 'Run',
    default: '20m',
    min: 10,
    max: 24 * 3600,
    description:
      'How long to wait for a Compute Engine operation, such as image creation: e.g. 90s, 20m, 1h30m.',
  }),
  input({
    name: 'retry-deadline',
    commands: ALL_COMMANDS,
    type: 'duration',
    group: 'Run',
    default: '2m',
    // Below 5s a single backoff step could use it all up; past an hour an outage is better reported than
    // waited out (GitLab's default job timeout is one hour).
    min: 5,
    max: 3600,
    description:
      'How long to keep retrying a Google Cloud call that fails with 429, 5xx or a broken connection before failing, e.g. 90s or 5m.',
  }),
  input({
    name: 'allow-rolled-back',
    type: 'boolean',
    group: 'Run',
    default: 'false',
    description:
      'Make a build that a rollback deprecated (its image carries the label nix-glab-runner-rolled-back) current again: the mark is removed, the image marked ACTIVE and newer managed images deprecated in its favour; nothing is uploaded. Without it, such a build stops with exit code 5. A build that retention deprecated needs no override.',
  }),
];

/** The outputs a publish always sets; the lifecycle commands add the rest of OUTPUTS. */
export const PUBLISH_OUTPUTS = [
  'image-name',
  'image-self-link',
  'image-family',
  'gcs-uri',
  'store-path',
  'nix-hash',
  'skipped',
] as const;

/**
 * How an output reads in the CLI's `--json`: JSON booleans and numbers where the value is one, so that
 * `jq` and scripts need no string comparison. The action's outputs and the dotenv report stay strings.
 */
export type OutputType = 'string' | 'boolean' | 'number';

export const OUTPUTS: readonly { name: string; description: string; type?: OutputType }[] = [
  {
    name: 'image-name',
    description:
      'Name of the image, created or found; in a dry run of an unbuilt image whose image-name uses {nixos}, empty (that value comes from the build).',
  },
  { name: 'image-self-link', description: 'Self link of the image.' },
  { name: 'image-family', description: 'Family of the image.' },
  { name: 'gcs-uri', description: 'gs:// URI of the uploaded tarball; empty when nothing was uploaded.' },
  {
    name: 'store-path',
    description:
      'Nix store path of the build, as evaluated: an unchanged build is not built, so the path may be absent from the local store. With image-file: the store path holding that file, or empty for a file outside the Nix store.',
  },
  {
    name: 'nix-hash',
    description: 'Hash part of the Nix store path (or of the image file), the image identity.',
  },
  {
    name: 'skipped',
    description: 'true when an image of the same build already existed and nothing was published.',
    type: 'boolean',
  },
  {
    name: 'instance-group',
    description: 'The group that was rolled (or would be, in a dry run); empty when none.',
  },
  {
    name: 'instance-template',
    description:
      'Instance template the group runs after the roll, created or reused; empty when nothing was rolled.',
  },
  { name: 'instances-replaced', description: 'How many instances the roll replaced.', type: 'number' },
  {
    name: 'instances-drained',
    description: 'How many instances reported drained before they were replaced.',
    type: 'number',
  },
  {
    name: 'drain-timeouts',
    description: 'Comma-separated instances replaced after drain-timeout without reporting drained.',
  },
  { name: 'images-deprecated', description: 'Comma-separated images deprecated by retention or rollback.' },
  { name: 'images-deleted', description: 'Comma-separated images deleted by retention.' },
  { name: 'duration', description: 'Seconds the command took.', type: 'number' },
  { name: 'plan', description: 'With dry-run: the planned actions as a JSON array; empty otherwise.' },
];

/** The action's `command` input, read before the rest so parseConfig knows which inputs apply. */
export function actionCommand(raw: Record<string, string | undefined>): Command {
  const text = raw.command?.trim() || 'publish';
  return parseEnum('command', text, COMMANDS) as Command;
}

export interface Config {
  command: Command;
  flake: string;
  flakeAttr?: string;
  /** Absolute real paths inside the workspace. */
  extraModules: string[];
  /** Absolute real path. */
  imageFile?: string;
  installNix: 'auto' | 'always' | 'never';
  nixVersion: string;
  nixSha256?: string;
  extraNixConfig: string;
  githubToken?: string;
  project?: string;
  bucket: string;
  objectPrefix: string;
  keepObject: boolean;
  storageEndpoint?: string;
  computeEndpoint?: string;
  family: string;
  /** A template (see inputs/image-name.ts); `{family}-{hash}` by default. */
  imageName?: string;
  guestOsFeatures: string[];
  labels: Record<string, string>;
  description?: string;
  storageLocation?: string;
  architecture?: 'X86_64' | 'ARM64';
  /** Seconds. */
  operationTimeout: number;
  /** Seconds: how long one Google call is retried (429, 5xx, broken connection) before it fails. */
  retryDeadline: number;
  /** Republish a build whose image was rolled back (deprecated). */
  allowRolledBack: boolean;
  dryRun: boolean;
  /** Absolute. */
  workspace: string;
  /** Retention: how many managed ACTIVE images stay ACTIVE. */
  keep: number;
  retention: 'deprecate' | 'delete';
  /** Seconds; absent means any age. */
  minAge?: number;
  /** Other projects whose instance templates retention checks for images in use. */
  retentionCheckProjects: string[];
  /** After publish: roll the group or not. */
  roll: 'none' | 'mig';
  /** `zones/Z/instanceGroupManagers/N` or `regions/R/instanceGroupManagers/N`. */
  instanceGroup?: string;
  /** roll: the image to roll onto; absent means the family's newest. */
  image?: string;
  drain: boolean;
  /** Seconds. */
  drainTimeout: number;
  maxSurge?: number;
  maxUnavailable?: number;
  replacementMethod: 'SUBSTITUTE' | 'RECREATE';
  /** Seconds. */
  rollTimeout: number;
}

/** `extra-modules` → `extraModules`. */
export function configKey(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function findInput(name: string): InputSpec | undefined {
  return INPUTS.find((spec) => spec.name === name);
}

/** Inputs a command uses, in schema order. */
export function inputsFor(command: Command): InputSpec[] {
  return INPUTS.filter((spec) => (spec.commands ?? ['publish']).includes(command));
}

/** A missing workspace is reported as such, not as each module file missing from it. */
function requireWorkspace(workspace: string): void {
  try {
    realpathSync(workspace);
  } catch {
    throw new UserError(`The workspace directory "${workspace}" does not exist.`);
  }
}

/** The empty-value form of each type, for optional inputs that were not given. */
function emptyValue(type: InputType): unknown {
  if (type === 'list') return [];
  if (type === 'map') return {};
  if (type === 'boolean') return false;
  return undefined;
}

function typed(spec: InputSpec, text: string): unknown {
  switch (spec.type) {
    case 'boolean':
      return parseBoolean(spec.name, text);
    case 'list': {
      const items = parseList(text);
      const options = spec.options;
      if (!options) return items;
      const found = items.map((item) => options.find((o) => o.toLowerCase() === item.toLowerCase()) ?? item);
      const unknown = found.find((item) => !options.includes(item));
      if (unknown !== undefined) throw invalid(spec.name, `must list only ${options.join(', ')}`, unknown);
      return [...new Set(found)];
    }
    case 'map':
      return parseMap(spec.name, text);
    case 'enum':
      return parseEnum(spec.name, text, spec.options ?? []);
    case 'duration': {
      const seconds = parseDuration(spec.name, text);
      const { min = 1, max } = spec;
      if (seconds < min || (max !== undefined && seconds > max)) {
        const range =
          max === undefined
            ? `at least ${formatDuration(min)}`
            : `between ${formatDuration(min)} and ${formatDuration(max)}`;
        throw invalid(spec.name, `must be a duration ${range}`, text);
      }
      return seconds;
    }
    case 'number':
      return parseInteger(spec.name, text, spec.min, spec.max);
    case 'string':
      return text;
  }
}

/**
 * The one rule for every input that names something: a value starting with "-" is refused, since the
 * command it is passed to would read it as an option (`--flake=--version`). Free text is exempt.
 */
function refuseOptionLike(spec: InputSpec, value: unknown): void {
  if (spec.freeText || (spec.type !== 'string' && spec.type !== 'list')) return;
  for (const item of Array.isArray(value) ? value : [value]) {
    const broken = checkNotOptionLike(String(item));
    if (broken) throw invalid(spec.name, broken, spec.secret ? undefined : String(item));
  }
}

/** The flake built when `flake` is empty: the action's own checkout, or this version's release. */
export function defaultFlake(actionPath: string | undefined): string {
  return actionPath ? `path:${path.resolve(actionPath)}` : `${PROJECT_FLAKE}/v${VERSION}`;
}

/** Checks between inputs, after each input is valid on its own. */
function crossCheck(config: Config): void {
  if (config.imageFile !== undefined) {
    if (config.extraModules.length > 0) {
      throw new UserError(
        'Input "image-file" cannot be combined with "extra-modules": a prebuilt image is published as is.',
        'image-file',
      );
    }
    if (config.flakeAttr !== undefined) {
      throw new UserError(
        'Input "image-file" cannot be combined with "flake-attr": a prebuilt image skips the Nix build.',
        'image-file',
      );
    }
  }
  // Installing Nix runs its installer as root: refuse a version whose installer we cannot check, before
  // anything is done (ensureNix checks again when it installs).
  if (config.command === 'publish' && config.imageFile === undefined && config.installNix !== 'never') {
    // Not hostNixSystem(), which refuses other platforms: this runs even where Nix is not installed (macOS).
    const system = process.arch === 'arm64' ? 'aarch64-linux' : 'x86_64-linux';
    releaseSha256(config.nixVersion, system, config.nixSha256);
  }
  if (config.command === 'publish') {
    const template = config.imageName ?? DEFAULT_IMAGE_NAME;
    const broken = checkImageNameTemplate(template, config.family);
    if (broken) throw invalid('image-name', broken, template);
  }
  const rolls = config.command === 'roll' || (config.command === 'publish' && config.roll === 'mig');
  if (rolls && config.instanceGroup === undefined) {
    const why = config.command === 'roll' ? 'the roll command' : 'roll: mig';
    throw new UserError(
      `Input "instance-group" is required by ${why}: name the group to roll.`,
      'instance-group',
    );
  }
  if (config.replacementMethod === 'RECREATE' && (config.maxSurge ?? 0) > 0) {
    throw new UserError(
      `Input "max-surge" must be 0 with replacement-method RECREATE, which keeps instance names, not ${config.maxSurge}.`,
      'max-surge',
    );
  }
  if (config.maxSurge === 0 && config.maxUnavailable === 0) {
    throw new UserError(
      'Inputs "max-surge" and "max-unavailable" cannot both be 0: nothing could be replaced.',
      'max-unavailable',
    );
  }
}

/**
 * Validates raw inputs (name → string as given; undefined or blank = not given) into a Config. Throws a
 * UserError naming the input on the first problem. Touches nothing but stat() of paths. `env.command` selects
 * which inputs apply (publish by default; later commands add theirs through `InputSpec.commands`).
 */
export function parseConfig(
  raw: Record<string, string | undefined>,
  env: { workspace: string; ci: boolean; actionPath?: string; command?: Command },
): Config {
  const command = env.command ?? 'publish';
  const names = INPUTS.map((spec) => spec.name);
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || names.includes(name)) continue;
    const guess = closest(name, names);
    throw new UserError(`Unknown input "${name}"${guess ? `; did you mean "${guess}"?` : '.'}`, name);
  }

  const ctx: ValidateContext = { workspace: path.resolve(env.workspace), ci: env.ci };
  // Inputs of other commands are ignored: the action passes every input's default whatever the command.
  const values: Record<string, unknown> = { command, workspace: ctx.workspace };
  for (const spec of inputsFor(command)) {
    // The command comes from the entry point (the CLI subcommand, or the action's own reading of it).
    if (spec.actionOnly) continue;
    const given = raw[spec.name];
    const text = given !== undefined && given.trim() !== '' ? given.trim() : spec.default;
    if (text === undefined || text === '') {
      if (spec.required)
        throw new UserError(`Input "${spec.name}" is required but was not given.`, spec.name);
      const empty = spec.type === 'string' && spec.default === '' ? '' : emptyValue(spec.type);
      if (empty !== undefined) values[configKey(spec.name)] = empty;
      continue;
    }
    const value = typed(spec, text);
    refuseOptionLike(spec, value);
    const checked = spec.validate?.(value as never, ctx);
    values[configKey(spec.name)] = checked ?? value;
  }

  const config = values as unknown as Config;
  if (config.flake === '') config.flake = defaultFlake(env.actionPath);
  crossCheck(config);
  return config;
}

/**
 * Reads action inputs from the environment the runner sets: `INPUT_<NAME>` upper-cased with hyphens kept
 * (as @actions/core reads them), or with underscores (as some tools write them).
 */
export function readActionInputs(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const raw: Record<string, string | undefined> = {};
  for (const spec of INPUTS) {
    const upper = spec.name.toUpperCase();
    raw[spec.name] = env[`INPUT_${upper}`] ?? env[`INPUT_${upper.replaceAll('-', '_')}`];
  }
  return raw;
}
