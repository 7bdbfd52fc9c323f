/**
 * One upload in a process of its own: `upload-worker.mjs '<json job>'`. Prints one JSON line: seconds and CPU
 * seconds. Its peak RSS is measured from outside, by GNU time (clients.ts).
 * `ours` is exactly the pipeline's upload; the other variants are the candidates of issue 8 §5.
 */

import { credentialsFor } from '../src/gcp/auth.ts';
import { resolveEndpoints } from '../src/gcp/endpoints.ts';
import { storageClient } from '../src/gcp/storage.ts';
import { uploadImageObject } from '../src/gcp/upload.ts';
import { silentReporter } from '../src/report/events.ts';
import { type UploadJob, VARIANTS } from './lib/variants.ts';

const job = JSON.parse(process.argv[2] as string) as UploadJob;
const started = performance.now();
if (job.variant === 'ours') {
  const endpoints = resolveEndpoints(job.url, job.url);
  const storage = await storageClient(endpoints, credentialsFor(endpoints), 'bench');
  await uploadImageObject(storage, {
    bucket: job.bucket,
    object: job.object,
    file: job.file,
    metadata: { bench: 'yes' },
    reporter: silentReporter,
  });
} else {
  await VARIANTS[job.variant](job);
}
const seconds = (performance.now() - started) / 1000;
// CPU time (user + system, all threads) of the whole process: on a shared machine it moves far less than wall time.
const cpu = process.cpuUsage();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds })}\n`);
