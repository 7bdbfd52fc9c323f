import type { Config } from '../config.ts';
import { credentialsFor, resolveProject } from '../gcp/auth.ts';
import { isLoopback, resolveEndpoints } from '../gcp/endpoints.ts';
import { Groups } from '../gcp/groups.ts';
import { ImageFamily } from '../gcp/image-family.ts';
import { Images } from '../gcp/images.ts';
import { Instances } from '../gcp/instances.ts';
import { RestClient } from '../gcp/rest.ts';
import { retryPolicy } from '../gcp/retry.ts';
import { Templates } from '../gcp/templates.ts';
import type { Reporter } from '../report/events.ts';

/** The Compute clients the lifecycle commands share, bound to one project. */
export interface Clients {
  project: string;
  images: Images;
  family: ImageFamily;
  templates: Templates;
  /** The templates of the other projects retention checks (`retention-check-projects`). */
  otherProjectTemplates: Templates[];
  groups: Groups;
  instances: Instances;
}

/**
 * Compute clients for prune, roll and rollback. These commands never touch Cloud Storage, so whether
 * credentials are needed depends on the Compute endpoint alone (the loopback emulator takes none).
 */
export async function lifecycleClients(
  config: Config,
  signal?: AbortSignal,
  reporter?: Reporter,
): Promise<Clients> {
  const endpoints = resolveEndpoints(config.storageEndpoint, config.computeEndpoint);
  const credentials = credentialsFor({ ...endpoints, loopback: isLoopback(endpoints.compute) });
  const project = await resolveProject(config.project, credentials);
  const rest = new RestClient(
    endpoints.compute,
    credentials,
    retryPolicy(config.retryDeadline, reporter),
    signal,
  );
  return {
    project,
    images: new Images(rest, project),
    family: new ImageFamily(rest, project, config.family),
    templates: new Templates(rest, project),
    otherProjectTemplates: [...new Set(config.retentionCheckProjects)]
      .filter((other) => other !== project)
      .map((other) => new Templates(rest, other)),
    groups: new Groups(rest, project),
    instances: new Instances(rest, project),
  };
}
