import { beforeAll, describe, expect, it } from 'vitest';
import { LIB, nixEval, nixEvalError, nixString, requireNixInstantiate } from './helpers.ts';

const GCE_IMAGE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function sanitise(name: string): string {
  return nixEval<string>(`${LIB}.sanitiseImageName ${nixString(name)}`);
}

describe('lib.sanitiseImageName', () => {
  beforeAll(requireNixInstantiate);

  it("turns upstream's prefix into upstream's image name", () => {
    expect(sanitise('nixos-image-23.11.x86_64-linux')).toBe('nixos-image-23-11-x86-64-linux');
  });

  it('lower-cases, collapses dash runs and trims the ends', () => {
    expect(sanitise('--My__Runner..Image--')).toBe('my-runner-image');
  });

  it('starts a name that begins with a digit with a letter', () => {
    expect(sanitise('25.11-runner')).toBe('nixos-25-11-runner');
  });

  it('cuts long names to 63 characters without a trailing dash', () => {
    const name = sanitise(`${'ab-'.repeat(40)}tail`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(GCE_IMAGE_NAME);
    expect(name.endsWith('-')).toBe(false);
  });

  it('always yields a name GCE accepts, whatever the input', () => {
    const inputs = [
      'A',
      'x.y',
      'Ünïcødé runner',
      '9',
      'a'.repeat(200),
      'nixos image 25.11 (aarch64)',
      '_-_x',
    ];
    const names = nixEval<string[]>(`map ${LIB}.sanitiseImageName [ ${inputs.map(nixString).join(' ')} ]`);
    for (const name of names) {
      expect(name).toMatch(GCE_IMAGE_NAME);
      expect(name.length).toBeLessThanOrEqual(63);
    }
  });

  it('refuses a name with no letter or digit, saying what to give', () => {
    expect(nixEvalError(`${LIB}.sanitiseImageName "..."`)).toMatch(
      /has no letter or digit; give imagePrefixName/,
    );
  });

  it('isValidImageName agrees with the GCE rule', () => {
    const verdicts = nixEval<boolean[]>(
      `map ${LIB}.isValidImageName [ "a" "a-1" "1a" "a-" "A" "${'a'.repeat(63)}" "${'a'.repeat(64)}" ]`,
    );
    expect(verdicts).toEqual([true, true, false, false, false, true, false]);
  });
});

describe('lib.gceImageMetadata', () => {
  beforeAll(requireNixInstantiate);

  it('writes the contract of nix-support/gce-image.json', () => {
    expect(
      nixEval(`${LIB}.gceImageMetadata { system = "x86_64-linux"; efi = true; nixosRelease = "25.11"; }`),
    ).toEqual({
      efi: true,
      architecture: 'X86_64',
      nixos: '25.11',
    });
    expect(
      nixEval(`${LIB}.gceImageMetadata { system = "aarch64-linux"; efi = true; nixosRelease = "25.11"; }`),
    ).toEqual({
      efi: true,
      architecture: 'ARM64',
      nixos: '25.11',
    });
  });

  it('keeps legacy boot for x86_64 only', () => {
    expect(
      nixEval(
        `(${LIB}.gceImageMetadata { system = "x86_64-linux"; efi = false; nixosRelease = "25.11"; }).efi`,
      ),
    ).toBe(false);
    expect(
      nixEvalError(
        `${LIB}.gceImageMetadata { system = "aarch64-linux"; efi = false; nixosRelease = "25.11"; }`,
      ),
    ).toMatch(/aarch64-linux images must boot with EFI/);
  });

  it('names the supported systems when given another', () => {
    expect(nixEvalError(`${LIB}.gceArchitecture "riscv64-linux"`)).toMatch(
      /image system 'riscv64-linux' is not supported; use one of: aarch64-linux, x86_64-linux/,
    );
  });

  it('builds for the builder system when it is an image system, else x86_64-linux', () => {
    expect(
      nixEval(
        `map ${LIB}.defaultImageSystem [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" "x86_64-darwin" ]`,
      ),
    ).toEqual(['x86_64-linux', 'aarch64-linux', 'x86_64-linux', 'x86_64-linux']);
  });
});

describe('lib.sizeToBytes', () => {
  beforeAll(requireNixInstantiate);

  it('reads plain bytes and K/M/G/T suffixes', () => {
    expect(nixEval(`map ${LIB}.sizeToBytes [ "512" "1K" "10M" "30G" "1T" 7 ]`)).toEqual([
      512,
      1024,
      10 * 1024 ** 2,
      30 * 1024 ** 3,
      1024 ** 4,
      7,
    ]);
  });

  it('refuses anything else with the expected form', () => {
    expect(nixEvalError(`${LIB}.sizeToBytes "10GB"`)).toMatch(
      /size '10GB' is not a size; write a whole number/,
    );
  });
});

describe('lib.publishFlags', () => {
  beforeAll(requireNixInstantiate);

  it("passes the CLI's input names, upstream's family by default and the sanitised prefix", () => {
    expect(
      nixEval(
        `${LIB}.publishFlags { bucket = "gitlab-runner-images-nix"; imagePrefixName = "nixos-image-23.11.x86_64-linux"; }`,
      ),
    ).toEqual([
      '--bucket',
      'gitlab-runner-images-nix',
      '--family',
      'nixos-image-gitlab-runner',
      '--image-name',
      'nixos-image-23-11-x86-64-linux-{hash}',
    ]);
  });

  it('passes family and project when given', () => {
    expect(
      nixEval(
        `${LIB}.publishFlags { bucket = "b"; imagePrefixName = "p"; family = "f"; project = "my-project"; }`,
      ),
    ).toEqual(['--bucket', 'b', '--family', 'f', '--image-name', 'p-{hash}', '--project', 'my-project']);
  });
});

describe('lib.imageNameTemplate', () => {
  beforeAll(requireNixInstantiate);

  it('keeps a long prefix to 30 characters without a trailing dash, so the rendered name fits in 63', () => {
    const template = nixEval(
      `${LIB}.imageNameTemplate "nixos-image-25.11.x86_64-linux-gitlab-runner-extra"`,
    ) as string;
    expect(template).toBe('nixos-image-25-11-x86-64-linux-{hash}');
    expect(template.replace('{hash}', 'x'.repeat(32)).length).toBeLessThanOrEqual(63);
    expect(nixEval(`${LIB}.imageNameTemplate "abcdefghijklmnopqrstuvwxyz-abc-def"`)).toBe(
      'abcdefghijklmnopqrstuvwxyz-abc-{hash}',
    );
  });
});

describe('lib.drainProtocol', () => {
  beforeAll(requireNixInstantiate);

  it('uses the names of the drain contract in docs/architecture.md', () => {
    expect(nixEval(`${LIB}.drainProtocol`)).toEqual({
      metadataKey: 'nix-glab-runner-drain',
      guestAttributeNamespace: 'nix-glab-runner',
      serviceName: 'nix-glab-runner-drain',
      attributes: {
        state: 'drain-state',
        started: 'drain-started',
        finished: 'drain-finished',
        runningJobs: 'running-jobs',
      },
      states: ['draining', 'drained', 'timeout'],
    });
  });

  it('keeps the token file upstream reads', () => {
    expect(nixEval(`${LIB}.defaultTokenFile`)).toBe('/etc/gitlab-runner-env');
  });
});
