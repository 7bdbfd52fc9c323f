import compute from '@google-cloud/compute';
import { googleAuthLibrary } from 'google-gax';

/**
 * The unmodified @google-cloud/compute clients, pointed at an emulator (docs/architecture.md, "The Google
 * client libraries", the "Compute: our REST client, Google's types" point): `apiEndpoint` plus a separate
 * `port`, plain http, and a PassThroughClient from the google-auth-library that google-gax itself uses
 * (another major fails with "auth.fetch is not a function").
 */
export function computeClients(emulatorUrl: string) {
  const url = new URL(emulatorUrl);
  const opts = {
    apiEndpoint: url.hostname,
    port: Number(url.port),
    protocol: url.protocol.replace(':', ''),
    authClient: new googleAuthLibrary.PassThroughClient(),
  };
  return {
    images: new compute.ImagesClient(opts),
    globalOperations: new compute.GlobalOperationsClient(opts),
    regionOperations: new compute.RegionOperationsClient(opts),
    zoneOperations: new compute.ZoneOperationsClient(opts),
    instanceTemplates: new compute.InstanceTemplatesClient(opts),
    regionInstanceTemplates: new compute.RegionInstanceTemplatesClient(opts),
    instanceGroupManagers: new compute.InstanceGroupManagersClient(opts),
    regionInstanceGroupManagers: new compute.RegionInstanceGroupManagersClient(opts),
    instances: new compute.InstancesClient(opts),
    disks: new compute.DisksClient(opts),
    projects: new compute.ProjectsClient(opts),
  };
}

export type ComputeClients = ReturnType<typeof computeClients>;

/** Closes every client's channel so a test file can end cleanly. */
export async function closeComputeClients(clients: ComputeClients): Promise<void> {
  await Promise.all(Object.values(clients).map((c) => c.close()));
}
