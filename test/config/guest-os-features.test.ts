import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as config from '../../src/config.ts';

/** `GuestOsFeature.Type` as the shipped protos of `@google-cloud/compute` define it. */
function protoEnum(): string[] {
  const protos = createRequire(import.meta.url)('@google-cloud/compute/build/protos/protos.json');
  const v1 = protos.nested.google.nested.cloud.nested.compute.nested.v1.nested;
  return Object.keys(v1.GuestOsFeature.nested.Type.values);
}

describe('guest-os-features', () => {
  const values = protoEnum();

  it('offers only values of GuestOsFeature.type in the API', () => {
    expect(config.GUEST_OS_FEATURES.filter((f) => !values.includes(f))).toEqual([]);
  });

  it('decides on every value of the enum: offered, or left out with a reason', () => {
    const decided = [
      ...config.GUEST_OS_FEATURES,
      ...Object.keys(config.GUEST_OS_FEATURES_LEFT_OUT),
      'UNDEFINED_TYPE',
      'FEATURE_TYPE_UNSPECIFIED',
    ];
    expect(decided.toSorted()).toEqual(values.toSorted());
  });
});
