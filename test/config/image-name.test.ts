import { describe, expect, it } from 'vitest';
import {
  checkImageNameTemplate,
  placeholders,
  renderImageName,
  sampleValues,
} from '../../src/inputs/image-name.ts';
import { RESOURCE_NAME } from '../../src/inputs/rules.ts';

const hash = '1b9q2x7ffd0kxv1n4l8w6jm3c5hs0gzr';
const values = { family: 'nixos-image-gitlab-runner', hash, date: '20261128', nixos: '25.11' };

describe('image-name templates', () => {
  it('renders the default template to family and hash', () => {
    expect(renderImageName('{family}-{hash}', values)).toBe(`nixos-image-gitlab-runner-${hash}`);
  });

  it('reduces values to the name alphabet', () => {
    expect(
      renderImageName('{family}-{nixos}-{date}-{hash}', {
        ...values,
        family: 'Runner',
        nixos: '25.11pre_Git',
      }),
    ).toBe(`runner-25-11pre-git-20261128-${hash}`);
  });

  it('shortens the family, never the hash, to fit 63 characters', () => {
    const family = `runners-${'x'.repeat(55)}`;
    const name = renderImageName('{family}-{hash}', { ...values, family });
    expect(name).toHaveLength(63);
    expect(name.endsWith(`-${hash}`)).toBe(true);
    expect(name.startsWith('runners-xxx')).toBe(true);
    expect(RESOURCE_NAME.test(name)).toBe(true);
  });

  it('shortens the NixOS release after the family when it must', () => {
    const name = renderImageName('r-{nixos}-{hash}', {
      ...values,
      nixos: '25.11.20261128.abcdef0123456789abcdef',
    });
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name.endsWith(hash)).toBe(true);
  });

  it('lists the placeholders a template uses', () => {
    expect(placeholders('{family}-{nixos}-x-{hash}')).toEqual(['family', 'nixos', 'hash']);
  });

  it('validates with a sample hash that starts with a digit', () => {
    expect(sampleValues('f').hash).toMatch(/^[0-9]/);
    expect(checkImageNameTemplate('{family}-{hash}', 'nixos-image-gitlab-runner')).toBeUndefined();
    expect(checkImageNameTemplate('img-{hash}', 'x')).toBeUndefined();
    expect(checkImageNameTemplate('{hash}', 'x')).toMatch(/renders to/);
    expect(checkImageNameTemplate('{family}-{hash}-', 'x')).toMatch(/renders to/);
  });
});
