/** Where the two APIs live. Defaults are Google's; inputs override them (private endpoints, the emulator). */
export interface Endpoints {
  /** Base URL for the Cloud Storage JSON API, without `/storage/v1`. */
  storage: string;
  /** Base URL for Compute Engine, ending in `/compute/v1`. */
  compute: string;
  /** True when both point at loopback: the local emulator, which takes no credentials. */
  loopback: boolean;
}

export const GOOGLE_STORAGE = 'https://storage.googleapis.com';
export const GOOGLE_COMPUTE = 'https://compute.googleapis.com/compute/v1';

export function resolveEndpoints(storageEndpoint?: string, computeEndpoint?: string): Endpoints {
  const storage = trimSlash(storageEndpoint || GOOGLE_STORAGE).replace(/\/storage\/v1$/, '');
  // Accept both `http://host:port` and gcloud's override form `http://host:port/compute/v1/`.
  const computeBase = trimSlash(computeEndpoint || GOOGLE_COMPUTE).replace(/\/compute\/v1$/, '');
  return {
    storage,
    compute: `${computeBase}/compute/v1`,
    loopback: isLoopback(storage) && isLoopback(computeBase),
  };
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * The `rawDisk.source` for an uploaded object. GCE itself reads the object, so it always gets the
 * documented form, even when we uploaded through a private endpoint (the emulator resolves it too).
 */
export function rawDiskSource(bucket: string, object: string): string {
  return `${GOOGLE_STORAGE}/${bucket}/${object.split('/').map(encodeURIComponent).join('/')}`;
}

/** Bucket and object of a `rawDisk.source` in the documented form; undefined for any other form. */
export function parseRawDiskSource(source: string): { bucket: string; object: string } | undefined {
  const prefix = `${GOOGLE_STORAGE}/`;
  if (!source.startsWith(prefix)) return undefined;
  const [bucket, ...rest] = source.slice(prefix.length).split('/');
  if (!bucket || rest.length === 0) return undefined;
  return { bucket, object: rest.map(decodeURIComponent).join('/') };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
