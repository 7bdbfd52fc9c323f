import { UserError } from '../errors.ts';
import { MANAGED_BY } from '../identity.ts';

/** What a read of an object says about it (see storage.ts, objectMetadata). */
export interface StoredObject {
  crc32c?: string;
  size?: string | number;
  generation: string;
  metadata?: Record<string, unknown>;
}

/** What this build would store: its metadata (`managed-by`, `nix-hash`…) and the tarball's bytes. */
interface ThisBuild {
  metadata: Record<string, string>;
  crc32c: string;
  size: number;
}

/**
 * Why an object is not this build's, or undefined when it is: our `managed-by` and this `nix-hash`
 * metadata, and the same CRC32C and size as the tarball. Only such an object may be reused; any other
 * is someone else's and is never replaced or deleted.
 */
export function notThisBuilds(found: StoredObject, build: ThisBuild): string | undefined {
  const owner = notOurMetadata(found, build.metadata);
  if (owner) return owner;
  if (found.crc32c !== build.crc32c || Number(found.size) !== build.size) {
    return `it holds other bytes (CRC32C ${found.crc32c}, ${found.size} bytes) than this build's tarball (CRC32C ${build.crc32c}, ${build.size} bytes)`;
  }
  return undefined;
}

/** The metadata half of `notThisBuilds`, which needs no hashing of the tarball. */
export function notOurMetadata(found: StoredObject, ours: Record<string, string>): string | undefined {
  const managedBy = found.metadata?.['managed-by'];
  if (managedBy !== MANAGED_BY) {
    return managedBy === undefined
      ? 'it has no managed-by metadata, so nix-glab-runner did not upload it'
      : `its managed-by metadata is ${JSON.stringify(String(managedBy))}`;
  }
  const nixHash = found.metadata?.['nix-hash'];
  if (nixHash !== ours['nix-hash']) {
    return `its nix-hash metadata is ${JSON.stringify(String(nixHash ?? ''))}, not this build's ${ours['nix-hash']}`;
  }
  return undefined;
}

/**
 * The run stops, having written nothing: the name this build would upload to is held by an object that
 * is not this build's. Bad input (exit 2): the name comes from `object-prefix` and `image-name`.
 */
export function objectNameTaken(uri: string, why: string): UserError {
  return new UserError(
    `${uri} already exists and is not this build's (${why}); nothing was uploaded or replaced. Choose another "object-prefix" or "image-name", or delete that object yourself if it is yours to delete.`,
    'object-prefix',
  );
}
