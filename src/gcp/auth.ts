import { GoogleAuth } from 'google-auth-library';
import { UserError } from '../errors.ts';
import type { Endpoints } from './endpoints.ts';

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

/**
 * Credentials from Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS (service-account or
 * external_account files from OIDC federation), gcloud's ADC, or the metadata server. The library
 * refreshes tokens itself, which matters because federated tokens last minutes and builds last longer.
 * The loopback emulator takes no credentials.
 */
export interface Credentials {
  /** Headers for one request; fetched per request so tokens stay fresh. */
  headers(): Promise<Record<string, string>>;
  /** GoogleAuth for client libraries, or undefined for the emulator. */
  auth: GoogleAuth | undefined;
}

export function credentialsFor(endpoints: Endpoints): Credentials {
  if (endpoints.loopback) return { auth: undefined, headers: async () => ({}) };
  dropMetadataLookupWarnings();
  const auth = new GoogleAuth({ scopes: SCOPES });
  return {
    auth,
    async headers() {
      try {
        const client = await auth.getClient();
        const headers = await client.getRequestHeaders();
        return Object.fromEntries(headers.entries());
      } catch (err) {
        throw noCredentials(err);
      }
    },
  };
}

export async function resolveProject(project: string | undefined, credentials: Credentials): Promise<string> {
  if (project) return project;
  if (!credentials.auth) {
    throw new UserError('Input "project" is required when talking to the local emulator.', 'project');
  }
  try {
    return await credentials.auth.getProjectId();
  } catch {
    throw new UserError(
      'Input "project" is not set and Application Default Credentials name no project; set "project" or GOOGLE_CLOUD_PROJECT.',
      'project',
    );
  }
}

let dropping = false;

/**
 * google-auth-library probes the metadata server when no other credentials exist, and on an unexpected
 * answer (a reset, say) Node prints a MetadataLookupWarning before our own sentence. That sentence already
 * says what to do, so the library's warning of that one type is dropped; every other warning still prints.
 */
function dropMetadataLookupWarnings(): void {
  if (dropping) return;
  dropping = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const type = typeof options === 'string' ? options : (options as { type?: string } | undefined)?.type;
    if (type === 'MetadataLookupWarning') return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

function noCredentials(err: unknown): UserError {
  const detail = (err as Error).message.split('\n')[0];
  return new UserError(
    `No Google credentials found (${detail}); on GitHub run google-github-actions/auth first, on GitLab set GOOGLE_APPLICATION_CREDENTIALS to an external_account file, locally run "gcloud auth application-default login".`,
    'project',
    4,
  );
}
