import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GCLOUD_INSTALL_HINT = 'install gcloud: apt-get install google-cloud-cli';

export interface GcloudTarget {
  /** The emulator base URL, e.g. `http://127.0.0.1:41234`. */
  emulatorUrl: string;
  project: string;
}

export interface GcloudResult {
  code: number;
  stdout: string;
  /** stdout as raw bytes, for binary output such as `gcloud storage cat`. */
  stdoutBytes: Buffer;
  stderr: string;
}

let available: boolean | undefined;

/** Throws with the install hint when gcloud is not on PATH (tests needing it must fail, not skip). */
export function requireGcloud(): void {
  available ??= spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).error === undefined;
  if (!available) throw new Error(`gcloud not found on PATH — ${GCLOUD_INSTALL_HINT}`);
}

const configs = new Map<string, string>();

/**
 * An isolated CLOUDSDK_CONFIG pointed at the emulator through endpoint overrides and
 * `auth/disable_credentials` alone, as a user would configure it (one per emulator URL + project).
 */
export function gcloudConfigDir(target: GcloudTarget): string {
  const key = `${target.emulatorUrl} ${target.project}`;
  const existing = configs.get(key);
  if (existing) return existing;
  requireGcloud();
  const dir = mkdtempSync(join(tmpdir(), 'gcloud-cfg-'));
  // Exactly what `gcloud config set SECTION/KEY VALUE` writes into the default configuration, written
  // directly because six `gcloud config set` runs cost several seconds.
  mkdirSync(join(dir, 'configurations'), { recursive: true });
  writeFileSync(join(dir, 'active_config'), 'default');
  writeFileSync(
    join(dir, 'configurations', 'config_default'),
    [
      '[core]',
      `project = ${target.project}`,
      'disable_usage_reporting = true',
      '[auth]',
      'disable_credentials = true',
      '[api_endpoint_overrides]',
      `storage = ${target.emulatorUrl}/`,
      `compute = ${target.emulatorUrl}/compute/v1/`,
      '[component_manager]',
      'disable_update_check = true',
      // One process, one thread: gcloud storage otherwise forks worker pools, slow on a 2-core runner.
      '[storage]',
      'process_count = 1',
      'thread_count = 1',
      '',
    ].join('\n'),
  );
  configs.set(key, dir);
  return dir;
}

function gcloudEnv(configDir: string): NodeJS.ProcessEnv {
  return { ...process.env, CLOUDSDK_CONFIG: configDir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
}

/** Runs `gcloud ARGS` against the emulator; never throws on a non-zero exit (tests assert on `code`). */
export function gcloud(
  args: string[],
  target: GcloudTarget,
  opts: { timeoutMs?: number } = {},
): Promise<GcloudResult> {
  const env = gcloudEnv(gcloudConfigDir(target));
  return new Promise((resolve, reject) => {
    const child = spawn('gcloud', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(`gcloud not found — ${GCLOUD_INSTALL_HINT}`)
          : e,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        stdout: bytes.toString('utf8'),
        stdoutBytes: bytes,
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Runs `gcloud ARGS` against the emulator and returns its stdout; throws with its stderr on a non-zero exit. */
export async function gcloudOk(args: string[], target: GcloudTarget): Promise<string> {
  const r = await gcloud(args, target);
  if (r.code !== 0) throw new Error(`gcloud ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
