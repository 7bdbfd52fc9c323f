/**
 * The image of a publish before it is uploaded: its identity first (a prebuilt tarball checked and hashed in
 * one read, or a Nix image evaluated), then, only when needed, the build and the check of its tarball.
 */
import { dirname } from 'node:path';
import type { Config } from './config.ts';
import { prebuiltIdentity, storePathHash, storePathOf } from './identity.ts';
import { DEFAULT_IMAGE_NAME, renderImageName } from './inputs/image-name.ts';
import { type EvaluatedImage, evaluateImage, realiseImage } from './nix/build.ts';
import { type ImageFacts, readImageFacts } from './nix/facts.ts';
import {
  inspectImageTarball,
  locateImageTarball,
  type TarballCheck,
  verifyImageTarball,
} from './nix/image-file.ts';
import { ensureNix } from './nix/install.ts';
import type { PublishEnvironment, PublishResult } from './pipeline.ts';
import type { Reporter } from './report/events.ts';

/** What is known of the image before anything is built or uploaded. */
export interface ImageSource {
  nixHash: string;
  storePath?: string;
  flakeRef: string;
  flakeRev?: string;
  /** A Nix image: evaluated, not built yet. */
  evaluated?: EvaluatedImage;
  /** A prebuilt tarball: checked already, in the pass that hashed it. */
  prepared?: PreparedImage;
}

interface PreparedImage {
  tarball: string;
  facts: ImageFacts;
}

/**
 * The image's identity. A prebuilt tarball is checked and, outside the store, hashed in one read; a Nix
 * image is only evaluated: its output path is its identity, so an unchanged build is found before it
 * is built.
 */
export async function identifyImage(
  config: Config,
  reporter: Reporter,
  run: PublishEnvironment,
  steps: PublishResult['steps'],
): Promise<ImageSource> {
  if (config.imageFile) {
    const tarball = config.imageFile;
    const storePath = storePathOf(tarball);
    steps.push({ stage: 'build', result: `prebuilt ${tarball}` });
    return reporter.group('Verify tarball', async () => {
      const pass = await inspectImageTarball(tarball, { sha256: !storePath, signal: run.signal });
      reportCheck(reporter, tarball, pass.check);
      const facts = await readImageFacts(storePath ?? dirname(tarball), reporter, {
        imageFile: config.imageFile,
        architecture: config.architecture,
        guestOsFeatures: config.guestOsFeatures,
      });
      const nixHash = storePath
        ? (storePathHash(storePath) as string)
        : prebuiltIdentity(pass.sha256 as string);
      return { nixHash, storePath, flakeRef: `file ${tarball}`, prepared: { tarball, facts } };
    });
  }
  const nix = await reporter.group('Ensure Nix', () =>
    ensureNix(
      {
        installNix: config.installNix,
        nixVersion: config.nixVersion,
        nixSha256: config.nixSha256,
        extraNixConfig: config.extraNixConfig,
        githubToken: config.githubToken,
        ci: run.env.CI === 'true',
      },
      reporter,
    ),
  );
  run.state?.building();
  const evaluated = await reporter.group('Evaluate image with Nix', () =>
    evaluateImage(
      {
        flake: config.flake,
        flakeAttr: config.flakeAttr,
        extraModules: config.extraModules,
        workspace: config.workspace,
        system: run.system ?? 'x86_64-linux',
        nixBin: nix.nixBin,
      },
      reporter,
      run.signal,
    ),
  );
  return {
    nixHash: storePathHash(evaluated.storePath) as string,
    storePath: evaluated.storePath,
    flakeRef: evaluated.flakeRef,
    flakeRev: evaluated.flakeRev,
    evaluated,
  };
}

/** Builds exactly the evaluated derivation, then checks its tarball and reads its facts. */
export async function buildAndCheck(
  source: ImageSource,
  config: Pick<Config, 'architecture' | 'guestOsFeatures'>,
  reporter: Reporter,
  run: PublishEnvironment,
  steps: PublishResult['steps'],
): Promise<PreparedImage> {
  const evaluated = source.evaluated as EvaluatedImage;
  run.state?.building();
  const built = await reporter.group('Build image with Nix', () =>
    realiseImage(evaluated, reporter, run.signal),
  );
  steps.push({ stage: 'build', result: built.storePath });
  return reporter.group('Verify tarball', async () => {
    const tarball = await locateImageTarball(built.storePath);
    // The whole archive, before any upload: a bad one must leave nothing behind in the bucket.
    reportCheck(reporter, tarball, await verifyImageTarball(tarball, run.signal));
    const given = { architecture: config.architecture, guestOsFeatures: config.guestOsFeatures };
    return { tarball, facts: await readImageFacts(built.storePath, reporter, given) };
  });
}

function reportCheck(reporter: Reporter, tarball: string, check: TarballCheck): void {
  reporter.info(
    `${tarball}: member ${check.member} alone, ${check.format} tar, ${check.type}, archive complete.`,
  );
}

export function imageName(config: Config, nixHash: string, facts: ImageFacts | undefined): string {
  return renderImageName(config.imageName ?? DEFAULT_IMAGE_NAME, {
    family: config.family,
    hash: nixHash,
    date: new Date().toISOString().slice(0, 10).replaceAll('-', ''),
    nixos: facts?.nixos ?? '',
  });
}
