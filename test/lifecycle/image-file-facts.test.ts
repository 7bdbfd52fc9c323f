/**
 * A prebuilt `image-file` has no builder to say how it boots: the publish says what it assumes, names the
 * inputs that change it, and the image the emulator receives follows those inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Image, type Lab, lab } from './helpers.ts';

interface CreatedImage extends Image {
  architecture?: string;
  guestOsFeatures: { type: string }[];
}

describe('publish --image-file without nix-support/gce-image.json', () => {
  let l: Lab;
  beforeAll(async () => {
    l = await lab();
  });
  afterAll(() => l.stop());

  const warnings = (lines: string[]) => lines.filter((line) => line.startsWith('warn: '));
  const created = async (name: string) => {
    const image = await l.get<CreatedImage>(`global/images/${name}`);
    return { architecture: image.architecture, features: image.guestOsFeatures.map((f) => f.type) };
  };

  it('says the image is taken as X86_64 booting with BIOS, and which inputs change that', async () => {
    const r = await l.publish(1);
    expect(warnings(r.lines)).toEqual([
      `warn: The image-file ${l.ws}/image-1.raw.tar.gz comes without a nix-support/gce-image.json beside it, so it is published as an X86_64 image that boots with BIOS; if that is wrong, set architecture: ARM64 or add UEFI_COMPATIBLE to guest-os-features.`,
    ]);
    expect(await created(r.outputs['image-name'] as string)).toEqual({
      architecture: 'X86_64',
      features: ['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE'],
    });
  });

  it('assumes only what the inputs leave open', async () => {
    const uefi = await l.publish(2, { 'guest-os-features': 'UEFI_COMPATIBLE' });
    expect(warnings(uefi.lines)).toEqual([
      `warn: The image-file ${l.ws}/image-2.raw.tar.gz comes without a nix-support/gce-image.json beside it, so it is published as an X86_64 image; if that is wrong, set architecture: ARM64.`,
    ]);
    expect(await created(uefi.outputs['image-name'] as string)).toEqual({
      architecture: 'X86_64',
      features: ['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE'],
    });

    const x86 = await l.publish(3, { architecture: 'X86_64' });
    expect(warnings(x86.lines)).toEqual([
      `warn: The image-file ${l.ws}/image-3.raw.tar.gz comes without a nix-support/gce-image.json beside it, so it is published as an image that boots with BIOS; if that is wrong, add UEFI_COMPATIBLE to guest-os-features.`,
    ]);

    // Arm images on Compute Engine boot only with UEFI, so ARM64 settles both.
    const arm = await l.publish(4, { architecture: 'ARM64' });
    expect(warnings(arm.lines)).toEqual([]);
    expect(await created(arm.outputs['image-name'] as string)).toEqual({
      architecture: 'ARM64',
      features: ['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE', 'UEFI_COMPATIBLE'],
    });
  });
});
