/**
 * Issue 15 §2 and §3: the whole publish of a prebuilt tarball through the bundled CLI, against upstream's
 * pair (`gcloud storage cp` + `gcloud compute images create`), same emulator, same run, interleaved; the
 * CLI's own peak RSS under GNU time; and where its time goes, from its stage headers.
 */
import { cleanEnv } from '../../test/component/helpers.ts';
import { publishArgs, publishOutputs } from './cli-json.ts';
import { type Measured, runMeasured } from './measured.ts';
import { mustSucceed, runTimed } from './proc.ts';

/** The CLI's stage headers ("==> Title") and the share of the publish each one names. */
export const STAGES = {
  'Check Google Cloud target': 'setup',
  'Verify tarball': 'identity_pass',
  'Look for an existing image': 'lookup',
  'Upload to Cloud Storage': 'upload',
  'Create image': 'image_wait',
  Retention: 'retention',
} as const;
/** `start`: Node start-up, loading and input checks; `image_wait` also holds deleting the uploaded object. */
export type Stage = (typeof STAGES)[keyof typeof STAGES] | 'start';

export interface PublishRun {
  seconds: number;
  peakRssMb: number;
  cpuSeconds: number;
  stages: Record<Stage, number>;
}

/** One publish of `file` into a family of its own (so it is never a no-op), under GNU time. */
export async function cliPublish(
  cli: string,
  url: string,
  bucket: string,
  family: string,
  file: string,
): Promise<PublishRun> {
  const ran = mustSucceed(
    await runMeasured(
      process.execPath,
      publishArgs(cli, url, { project: 'bench-e2e', bucket, family }, ['--image-file', file]),
      { env: cleanEnv(), timeoutMs: 600_000 },
    ),
    'publish',
  );
  publishOutputs(ran.stdout, false, `publish of ${file}`);
  return {
    seconds: ran.seconds,
    peakRssMb: ran.peakRssMb,
    cpuSeconds: ran.cpuSeconds,
    stages: stageTimes(ran),
  };
}

/** Seconds spent in each stage: from its header line to the next one (the last runs to the exit). */
export function stageTimes(ran: Measured): Record<Stage, number> {
  const times = { start: 0 } as Record<Stage, number>;
  for (const s of Object.values(STAGES)) times[s] = 0;
  let current: Stage = 'start';
  let since = 0;
  for (const { t, line } of ran.lines) {
    const title = /^==> (.*)$/.exec(line)?.[1] as keyof typeof STAGES | undefined;
    if (!title) continue;
    times[current] += t - since;
    current = STAGES[title] ?? current;
    since = t;
  }
  times[current] += ran.seconds - since;
  return times;
}

/** Upstream's way: copy to GCS, then `gcloud compute images create` from it (which waits for it). */
export async function gcloudPublish(
  env: NodeJS.ProcessEnv,
  bucket: string,
  name: string,
  file: string,
): Promise<{ seconds: number; cpSeconds: number; createSeconds: number }> {
  const object = `${name}.raw.tar.gz`;
  const cp = mustSucceed(
    await runTimed('gcloud', ['storage', 'cp', file, `gs://${bucket}/${object}`], {
      env,
      timeoutMs: 600_000,
    }),
    'gcloud storage cp',
  );
  const create = mustSucceed(
    await runTimed(
      'gcloud',
      ['compute', 'images', 'create', name, '--source-uri', `gs://${bucket}/${object}`, '--family', name],
      { env, timeoutMs: 600_000 },
    ),
    'gcloud compute images create',
  );
  return { seconds: cp.seconds + create.seconds, cpSeconds: cp.seconds, createSeconds: create.seconds };
}
