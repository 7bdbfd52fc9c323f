import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const GCLOUD_INSTALL_HINT =
  'gcloud is not installed. Install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install, e.g. `apt-get install google-cloud-cli`) and re-run.';

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * gcloud with an isolated CLOUDSDK_CONFIG pointed at an emulator through endpoint overrides and
 * `auth/disable_credentials` alone (FACTS.md "gcloud against local endpoints"). Runs asynchronously so an
 * in-process emulator keeps answering. Throws with an install hint when gcloud is missing.
 */
export async function gcloudForEmulator(
  emulatorUrl: string,
  project = 'p',
): Promise<(args: string[]) => Promise<GcloudResult>> {
  const config = mkdtempSync(join(tmpdir(), 'gcloud-cfg-'));
  const env = { ...process.env, CLOUDSDK_CONFIG: config, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
  const gcloud = async (args: string[]): Promise<GcloudResult> => {
    try {
      const { stdout, stderr } = await run('gcloud', args, { env, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
      if (e.code === 'ENOENT') throw new Error(GCLOUD_INSTALL_HINT);
      return {
        code: typeof e.code === 'number' ? e.code : 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  };
  // What `gcloud config set` would write, written at once: six `config set` calls cost ~10 s of startup.
  mkdirSync(join(config, 'configurations'), { recursive: true });
  writeFileSync(join(config, 'active_config'), 'default');
  writeFileSync(
    join(config, 'configurations', 'config_default'),
    [
      '[core]',
      `project = ${project}`,
      'disable_usage_reporting = true',
      '[auth]',
      'disable_credentials = true',
      '[component_manager]',
      'disable_update_check = true',
      '[api_endpoint_overrides]',
      `compute = ${emulatorUrl}/compute/v1/`,
      `storage = ${emulatorUrl}/`,
      '',
    ].join('\n'),
  );
  const check = await gcloud(['config', 'get', 'api_endpoint_overrides/compute']);
  if (check.stdout.trim() !== `${emulatorUrl}/compute/v1/`)
    throw new Error(`gcloud did not take the config: ${check.stdout} ${check.stderr}`);
  return gcloud;
}
