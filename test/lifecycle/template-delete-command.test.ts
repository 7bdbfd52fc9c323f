/**
 * The gcloud command our messages give for deleting a template: a regional template is deleted only with
 * its --region, or gcloud looks for a global one of that name.
 */
import { describe, expect, it } from 'vitest';
import { groupRef } from '../../src/gcp/groups.ts';
import type { InstanceTemplate } from '../../src/gcp/templates.ts';
import { templateTaken } from '../../src/lifecycle/roll-conflicts.ts';

const regional = {
  name: 'runner-ngr-0123456789',
  selfLink:
    'https://compute.googleapis.com/compute/v1/projects/p/regions/europe-west1/instanceTemplates/runner-ngr-0123456789',
  properties: {},
} as InstanceTemplate;

describe('the delete command for a template someone else made under our name', () => {
  it('names the region of a regional template', () => {
    const err = templateTaken(
      groupRef('p', 'zones/europe-west1-b/instanceGroupManagers/runners'),
      regional,
      'boots a, not b',
      'projects/p/regions/europe-west1/instanceTemplates/runner',
    );
    expect(err.message).toContain(
      '(gcloud compute instance-templates delete runner-ngr-0123456789 --region europe-west1)',
    );
  });
});
