import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { Reporter } from '../report/events.ts';

/** What the image builder says about its image (docs/architecture.md, "The image builder's output"). */
export interface ImageFacts {
  efi: boolean;
  architecture: 'X86_64' | 'ARM64';
  nixos?: string;
  /** False when the builder wrote no gce-image.json and these are the defaults. */
  fromFile: boolean;
}

export const IMAGE_FACTS_FILE = 'nix-support/gce-image.json';
const ARCHITECTURES = ['X86_64', 'ARM64'] as const;

/** What the inputs already say about the image, so that a missing facts file assumes only the rest. */
export interface GivenFacts {
  /** The prebuilt tarball, when there was no build. */
  imageFile?: string;
  architecture?: ImageFacts['architecture'];
  guestOsFeatures: readonly string[];
}

/**
 * Reads `<output>/nix-support/gce-image.json`. Without it (a prebuilt image-file, or a builder that does
 * not write it), what the inputs leave open is assumed to be X86_64 and BIOS, with a warning naming the
 * inputs that change it; a malformed file is an error, since guessing could publish an unbootable image.
 */
export async function readImageFacts(
  outputDir: string,
  reporter: Reporter,
  given: GivenFacts = { guestOsFeatures: [] },
): Promise<ImageFacts> {
  const path = join(outputDir, IMAGE_FACTS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code !== 'ENOENT' &&
      (err as NodeJS.ErrnoException).code !== 'ENOTDIR'
    ) {
      throw new UserError(`Cannot read the image facts file ${path}: ${(err as Error).message}.`);
    }
    return assumedFacts(outputDir, given, reporter);
  }
  return parseImageFacts(text, path, reporter, given.architecture);
}

function assumedFacts(outputDir: string, given: GivenFacts, reporter: Reporter): ImageFacts {
  const architecture = given.architecture ?? 'X86_64';
  // Arm images on Compute Engine boot only with UEFI.
  const efi = architecture === 'ARM64' || given.guestOsFeatures.includes('UEFI_COMPATIBLE');
  const assumed: string[] = [];
  const changes: string[] = [];
  if (given.architecture === undefined) {
    assumed.push('an X86_64 image');
    changes.push('set architecture: ARM64');
  }
  if (!efi) {
    assumed.push(assumed.length > 0 ? 'that boots with BIOS' : 'an image that boots with BIOS');
    changes.push('add UEFI_COMPATIBLE to guest-os-features');
  }
  if (assumed.length > 0) {
    const subject = given.imageFile
      ? `The image-file ${given.imageFile} comes without a ${IMAGE_FACTS_FILE} beside it`
      : `The build output ${outputDir} has no ${IMAGE_FACTS_FILE}`;
    reporter.warn(
      `${subject}, so it is published as ${assumed.join(' ')}; if that is wrong, ${changes.join(' or ')}.`,
    );
  }
  return { efi, architecture, fromFile: false };
}

/**
 * Validates the file's JSON. The architecture input, when set, overrides the file's, so it also decides
 * whether the image must be UEFI.
 */
function parseImageFacts(
  text: string,
  path: string,
  reporter: Reporter,
  givenArchitecture?: ImageFacts['architecture'],
): ImageFacts {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(`The image facts file ${path} is not valid JSON (${(err as Error).message}).`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(
      `The image facts file ${path} must hold a JSON object such as {"efi": true, "architecture": "X86_64"}.`,
    );
  }
  const { efi = false, architecture = 'X86_64', nixos } = data as Record<string, unknown>;
  if (typeof efi !== 'boolean') {
    throw new UserError(
      `The image facts file ${path} has "efi": ${JSON.stringify(efi)}, which must be true or false.`,
    );
  }
  if (!ARCHITECTURES.includes(architecture as (typeof ARCHITECTURES)[number])) {
    throw new UserError(
      `The image facts file ${path} has "architecture": ${JSON.stringify(architecture)}, which must be one of ${ARCHITECTURES.join(', ')}.`,
    );
  }
  if (nixos !== undefined && typeof nixos !== 'string') {
    throw new UserError(
      `The image facts file ${path} has "nixos": ${JSON.stringify(nixos)}, which must be a string.`,
    );
  }
  const fileArch = architecture as ImageFacts['architecture'];
  const arch = givenArchitecture ?? fileArch;
  // Arm images on GCE boot only through UEFI (docs/architecture.md, "The image builder's output").
  if (arch === 'ARM64' && !efi)
    reporter.warn(
      `The image facts file ${path} says ${fileArch} without efi${fileArch === arch ? '' : `, but the architecture input is ${arch}`}; ARM64 images are always UEFI, so UEFI_COMPATIBLE is set.`,
    );
  const facts: ImageFacts = { efi: efi || arch === 'ARM64', architecture: arch, fromFile: true };
  if (nixos !== undefined) facts.nixos = nixos;
  return facts;
}
