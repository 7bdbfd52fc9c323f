/** The three upload clients of issue 8 §1, each run as its own process against one endpoint. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMeasured } from './measured.ts';
import { mustSucceed, runTimed } from './proc.ts';
import type { UploadJob } from './variants.ts';

export interface UploadRun {
  seconds: number;
  /** Our worker only: the upload itself, without process start-up and module loading. */
  uploadSeconds?: number;
  /** CPU (user + system) the client process used in all. */
  cpuSeconds?: number;
  peakRssMb?: number;
}

/**
 * Our upload (or a candidate) in the bundled worker, on plain Node 24. Peak RSS comes from GNU time, from
 * outside: the worker's own `maxRSS` would report this bench runner's peak (see measured.ts).
 */
export async function workerUpload(worker: string, job: UploadJob): Promise<UploadRun> {
  const ran = mustSucceed(
    await runMeasured(process.execPath, [worker, JSON.stringify(job)], { timeoutMs: 300_000 }),
    `upload worker (${job.variant})`,
  );
  const out = JSON.parse(ran.stdout.trim().split('\n').pop() as string) as {
    seconds: number;
    cpuSeconds: number;
  };
  // The process's wall time, as for curl and gcloud: start-up and the metadata check count too.
  return {
    seconds: ran.seconds,
    uploadSeconds: out.seconds,
    cpuSeconds: out.cpuSeconds,
    peakRssMb: ran.peakRssMb,
  };
}

/** `curl -T` into a resumable session; the time covers opening the session and the PUT, as ours does. */
export async function curlUpload(
  url: string,
  bucket: string,
  object: string,
  file: string,
  size: number,
): Promise<UploadRun> {
  const started = performance.now();
  const init = await fetch(
    `${url}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(object)}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentType: 'application/x-tar' }),
    },
  );
  const session = init.headers.get('location');
  if (!init.ok || !session) throw new Error(`opening a resumable session failed: ${init.status}`);
  const ran = mustSucceed(
    await runMeasured(
      'curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-T',
        file,
        '-H',
        `content-range: bytes 0-${size - 1}/${size}`,
        '-H',
        'expect:',
        session,
      ],
      {
        timeoutMs: 300_000,
      },
    ),
    'curl -T',
  );
  if (ran.stdout.trim() !== '200') throw new Error(`curl -T answered ${ran.stdout}`);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: ran.cpuSeconds };
}

/** An isolated gcloud configuration with its storage and compute endpoints at `url` (docs/architecture.md, "gcloud against the emulator"). */
export function gcloudConfig(dir: string, url: string): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'configurations'), { recursive: true });
  writeFileSync(join(dir, 'active_config'), 'default');
  writeFileSync(
    join(dir, 'configurations', 'config_default'),
    [
      '[core]',
      'project = bench',
      'disable_usage_reporting = true',
      '[auth]',
      'disable_credentials = true',
      '[component_manager]',
      'disable_update_check = true',
      '[api_endpoint_overrides]',
      `storage = ${url}/`,
      `compute = ${url}/compute/v1/`,
      '',
    ].join('\n'),
  );
  return { ...process.env, CLOUDSDK_CONFIG: dir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
}

/** `gcloud storage cp`, as a user runs it (its defaults include parallel composite uploads above 150 MiB). */
export async function gcloudUpload(
  env: NodeJS.ProcessEnv,
  bucket: string,
  object: string,
  file: string,
): Promise<UploadRun> {
  const ran = mustSucceed(
    await runTimed('gcloud', ['storage', 'cp', file, `gs://${bucket}/${object}`], {
      env,
      timeoutMs: 300_000,
    }),
    'gcloud storage cp',
  );
  return { seconds: ran.seconds };
}

/** A bucket in the emulator (the JSON API's buckets.insert). */
export async function createBucket(url: string, project: string, bucket: string): Promise<void> {
  const res = await fetch(`${url}/storage/v1/b?project=${project}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  if (!res.ok && res.status !== 409) throw new Error(`creating bucket ${bucket}: ${res.status}`);
}

export async function deleteObject(url: string, bucket: string, object: string): Promise<void> {
  const res = await fetch(`${url}/storage/v1/b/${bucket}/o/${encodeURIComponent(object)}`, {
    method: 'DELETE',
  });
  if (!res.ok && res.status !== 404) throw new Error(`deleting ${object}: ${res.status}`);
}
