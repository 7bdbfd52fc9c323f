import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import { readImageFacts } from '../../src/nix/facts.ts';
import { recordingReporter } from '../../src/report/events.ts';
import { tempDir } from './helpers.ts';

function output(json: string | undefined): string {
  const dir = tempDir('facts');
  if (json !== undefined) {
    mkdirSync(join(dir, 'nix-support'));
    writeFileSync(join(dir, 'nix-support', 'gce-image.json'), json);
  }
  return dir;
}

describe('readImageFacts', () => {
  it('reads efi, architecture and the NixOS release', async () => {
    const r = recordingReporter();
    const facts = await readImageFacts(
      output('{"efi": true, "architecture": "X86_64", "nixos": "25.11"}'),
      r,
    );
    expect(facts).toEqual({ efi: true, architecture: 'X86_64', nixos: '25.11', fromFile: true });
    expect(r.lines).toEqual([]);
  });

  it('defaults with a warning when a foreign builder wrote no file', async () => {
    const r = recordingReporter();
    const dir = output(undefined);
    expect(await readImageFacts(dir, r)).toEqual({
      efi: false,
      architecture: 'X86_64',
      fromFile: false,
    });
    expect(r.lines).toEqual([
      `warn: The build output ${dir} has no nix-support/gce-image.json, so it is published as an X86_64 image that boots with BIOS; if that is wrong, set architecture: ARM64 or add UEFI_COMPATIBLE to guest-os-features.`,
    ]);
  });

  it('treats ARM64 as always EFI', async () => {
    const r = recordingReporter();
    const facts = await readImageFacts(output('{"efi": false, "architecture": "ARM64"}'), r);
    expect(facts).toMatchObject({ efi: true, architecture: 'ARM64' });
    expect(r.lines.some((l) => l.startsWith('warn:'))).toBe(true);
    expect(await readImageFacts(output('{"architecture": "ARM64"}'), recordingReporter())).toMatchObject({
      efi: true,
    });
  });

  it('takes the architecture input over the file, and ARM64 from it as EFI too', async () => {
    const r = recordingReporter();
    const dir = output('{"efi": false, "architecture": "X86_64"}');
    const facts = await readImageFacts(dir, r, { architecture: 'ARM64', guestOsFeatures: [] });
    expect(facts).toEqual({ efi: true, architecture: 'ARM64', fromFile: true });
    expect(r.lines).toEqual([
      `warn: The image facts file ${dir}/nix-support/gce-image.json says X86_64 without efi, but the architecture input is ARM64; ARM64 images are always UEFI, so UEFI_COMPATIBLE is set.`,
    ]);
  });

  it('refuses malformed files with one sentence naming the field', async () => {
    const cases: [string, RegExp][] = [
      ['{not json', /not valid JSON/],
      ['[1]', /must hold a JSON object/],
      ['{"efi": "yes"}', /"efi": "yes", which must be true or false/],
      ['{"architecture": "aarch64"}', /"architecture": "aarch64", which must be one of X86_64, ARM64/],
      ['{"nixos": 25.11}', /"nixos": 25.11, which must be a string/],
    ];
    for (const [json, message] of cases) {
      const err = await readImageFacts(output(json), recordingReporter()).catch((e: unknown) => e);
      expect(err, json).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message.split('\n')).toHaveLength(1);
    }
  });
});
