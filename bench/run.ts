/**
 * `npm run bench` (issue 8): upload throughput against the emulator, each candidate's own ceiling against a
 * lean sink, peak memory, the no-op rebuild, cold start and bundle size. Rewrites bench/results.json and
 * bench/README.md. Loopback only; every loop is bounded; temp files are removed at the end.
 *
 * BENCH_ROUNDS (default 3) sets the runs per figure; BENCH_SKIP=emulator,candidates,memory,noop,bundle skips
 * sections (for working on one; a run that skips any is not a full run and says so).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildUploadWorker } from './lib/build-worker.ts';
import { bundleFigures } from './lib/bundle.ts';
import {
  curlUpload,
  deleteObject,
  gcloudConfig,
  gcloudUpload,
  type UploadRun,
  workerUpload,
} from './lib/clients.ts';
import { writeRandomFile } from './lib/files.ts';
import { buildFreshBundles } from './lib/fresh-bundle.ts';
import { hashSpeeds } from './lib/hash-speed.ts';
import { noopRebuild } from './lib/noop.ts';
import { startService, stopService } from './lib/proc.ts';
import { renderReadme } from './lib/report.ts';
import { MiB, median, mibps, round } from './lib/stats.ts';
import type { VariantName } from './lib/variants.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 3));
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const GiB = 1024 * MiB;
const BUCKET = 'bench';
/** Candidates upload a smaller file: seven of them, three rounds each, must fit the 10-minute budget. */
const CAND_MIB = 256;

const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const benchStarted = performance.now();
const loadBefore = loadavg();
const tmp = mkdtempSync(join(tmpdir(), 'ngr-bench-'));
const tsx = pathToFileURL(join(REPO, 'node_modules/tsx/dist/esm/index.mjs')).href;
const services: Awaited<ReturnType<typeof startService>>[] = [];

try {
  log(`temp ${tmp}; ${ROUNDS} rounds; load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
  const file1g = join(tmp, 'image-1g.tar');
  const fileCand = join(tmp, 'image-candidates.tar');
  await writeRandomFile(file1g, GiB);
  await writeRandomFile(fileCand, CAND_MIB * MiB);
  const worker = await buildUploadWorker(REPO);

  // The emulator and the sink each run in a process of their own, as a server would: one core each side.
  const emulator = await startService(
    process.execPath,
    ['--import', tsx, join(REPO, 'test/emulator/cli.ts'), '--port', '0', '--data-dir', join(tmp, 'emulator')],
    /listening on (http:\/\/\S+)/,
  );
  services.push(emulator);
  const sink = await startService(
    process.execPath,
    ['--import', tsx, join(REPO, 'bench/sink.ts')],
    /(http:\/\/\S+)/,
  );
  services.push(sink);
  const emuUrl = emulator.value;
  await fetch(`${emuUrl}/storage/v1/b?project=bench`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: BUCKET }),
  });

  log('hash speeds');
  const hashes = await hashSpeeds(ROUNDS);

  // Warm both servers with one untimed upload each: the first large upload into a fresh process runs before
  // its JIT has settled, and that is the server's cold start, not any client's speed.
  log('warm-up (untimed)');
  for (const url of [emuUrl, sink.value]) {
    await curlUpload(url, BUCKET, 'warm-up', fileCand, CAND_MIB * MiB);
    await workerUpload(worker, {
      variant: 'ours',
      url,
      bucket: BUCKET,
      object: 'warm-up-ours',
      file: fileCand,
    });
  }
  await deleteObject(emuUrl, BUCKET, 'warm-up');
  await deleteObject(emuUrl, BUCKET, 'warm-up-ours');

  // §1: the three clients against the emulator, interleaved round by round so drift hits all alike.
  log('upload: ours vs gcloud vs curl (1 GiB, emulator)');
  const gcloudEnv = gcloudConfig(join(tmp, 'gcloud'), emuUrl);
  const emuRuns: Record<'ours' | 'gcloud' | 'curl', UploadRun[]> = { ours: [], gcloud: [], curl: [] };
  const emuClients = {
    ours: (o: string) =>
      workerUpload(worker, { variant: 'ours', url: emuUrl, bucket: BUCKET, object: o, file: file1g }),
    gcloud: (o: string) => gcloudUpload(gcloudEnv, BUCKET, o, file1g),
    curl: (o: string) => curlUpload(emuUrl, BUCKET, o, file1g, GiB),
  };
  for (let r = 0; r < (SKIP.has('emulator') ? 0 : ROUNDS); r++) {
    for (const name of rotate(Object.keys(emuClients) as (keyof typeof emuClients)[], r)) {
      const object = `emu-${name}-${r}`;
      const run = await emuClients[name](object);
      emuRuns[name].push(run);
      log(
        `  ${name} round ${r + 1}: ${mibps(GiB, run.uploadSeconds ?? run.seconds).toFixed(0)} MiB/s${run.cpuSeconds ? `, ${(1024 / run.cpuSeconds).toFixed(0)} MiB/CPU-s` : ''}`,
      );
      await deleteObject(emuUrl, BUCKET, object);
    }
  }
  // Ours is timed over the uploadImageObject call (metadata check, session, PUT, validation): in a publish the
  // process is long started, and its start-up is the cold-start figure. The process wall time is kept too.
  const emuMibps = Object.fromEntries(
    Object.entries(emuRuns).map(([k, runs]) => [
      k,
      median(runs.map((x) => mibps(GiB, x.uploadSeconds ?? x.seconds))),
    ]),
  ) as Record<keyof typeof emuRuns, number>;
  const oursProcessMibps = median(emuRuns.ours.map((x) => mibps(GiB, x.seconds)));

  // §5: every candidate against the lean sink, where the client is the bottleneck, not the emulator.
  log(`candidates (${CAND_MIB} MiB, sink)`);
  const candidates: (VariantName | 'curl')[] = [
    'ours',
    'library-upload',
    'library-js-crc',
    'library-native-crc',
    'chunked-32mib',
    'stream-hwm-1mib',
    'lean-put-fresh-buffers',
    'curl',
  ];
  const candRuns: Record<string, UploadRun[]> = Object.fromEntries(candidates.map((c) => [c, []]));
  for (let r = 0; r < (SKIP.has('candidates') ? 0 : ROUNDS); r++) {
    for (const name of rotate(candidates, r)) {
      const object = `sink-${name}-${r}`;
      const run =
        name === 'curl'
          ? await curlUpload(sink.value, BUCKET, object, fileCand, CAND_MIB * MiB)
          : await workerUpload(worker, {
              variant: name,
              url: sink.value,
              bucket: BUCKET,
              object,
              file: fileCand,
            });
      candRuns[name]?.push(run);
      log(
        `  ${name} round ${r + 1}: ${mibps(CAND_MIB * MiB, run.uploadSeconds ?? run.seconds).toFixed(0)} MiB/s, ${(CAND_MIB / (run.cpuSeconds ?? Number.NaN)).toFixed(0)} MiB/CPU-s`,
      );
    }
  }
  const candMibps = Object.fromEntries(
    candidates.map((c) => [
      c,
      median((candRuns[c] ?? []).map((x) => mibps(CAND_MIB * MiB, x.uploadSeconds ?? x.seconds))),
    ]),
  );
  // MiB per CPU-second of the client process: how cheap each way of uploading is, whatever else runs.
  const candCpu = Object.fromEntries(
    candidates.map((c) => [
      c,
      median((candRuns[c] ?? []).map((x) => (x.cpuSeconds ? CAND_MIB / x.cpuSeconds : Number.NaN))),
    ]),
  );
  const candRss = Object.fromEntries(
    candidates
      .filter((c) => c !== 'curl')
      .map((c) => [c, median((candRuns[c] ?? []).map((x) => x.peakRssMb ?? 0))]),
  );

  // §2: memory flat in file size: ours with 1 GiB and 4 GiB, alternating, against the sink (same endpoint, short run).
  log('memory: 1 GiB and 4 GiB (sink)');
  rmSync(fileCand);
  const file4g = join(tmp, 'image-4g.tar');
  const rss: Record<'1g' | '4g', number[]> = { '1g': [], '4g': [] };
  if (!SKIP.has('memory')) {
    await writeRandomFile(file4g, 4 * GiB, 64 * MiB);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [key, file, size] of [
        ['1g', file1g, GiB],
        ['4g', file4g, 4 * GiB],
      ] as const) {
        const run = await workerUpload(worker, {
          variant: 'ours',
          url: sink.value,
          bucket: BUCKET,
          object: `rss-${key}`,
          file,
        });
        rss[key].push(run.peakRssMb ?? 0);
        log(
          `  ${key} round ${r + 1}: ${mibps(size, run.uploadSeconds ?? run.seconds).toFixed(0)} MiB/s, peak RSS ${run.peakRssMb?.toFixed(0)} MB`,
        );
      }
    }
  }
  rmSync(file4g, { force: true });
  const rss1g = median(rss['1g']);
  const rss4g = median(rss['4g']);

  // A section that cannot run (e.g. the bundle build fails) is noted in the results instead of failing the run.
  const notes: string[] = [];
  const section = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (SKIP.has(name)) return undefined;
    log(name);
    try {
      return await fn();
    } catch (err) {
      notes.push(`${name}: not measured: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 400)}`);
      log(notes[notes.length - 1] as string);
      return undefined;
    }
  };
  const dist =
    SKIP.has('noop') && SKIP.has('bundle')
      ? undefined
      : await section('bundle build', () => buildFreshBundles(REPO, join(tmp, 'bundle')));
  const noop = dist ? await section('noop', () => noopRebuild(dist, emuUrl, ROUNDS)) : undefined;
  const bundle = dist
    ? await section('bundle', () => bundleFigures(REPO, dist, Math.max(ROUNDS, 7)))
    : undefined;

  const results = {
    generated: new Date().toISOString(),
    command: 'npm run bench',
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? '',
      node: process.version,
      load_average_before: loadBefore.map((l) => round(l)),
      load_average_after: loadavg().map((l) => round(l)),
      bench_seconds: 0,
      // With a proxy variable set, uploadImageObject takes the library path, and "ours" measures that.
      proxy_env: Boolean(
        process.env.HTTPS_PROXY ||
          process.env.https_proxy ||
          process.env.HTTP_PROXY ||
          process.env.http_proxy,
      ),
    },
    rounds: ROUNDS,
    skipped: [...SKIP],
    notes,
    upload: {
      file_bytes: GiB,
      endpoint: 'emulator (test/emulator, own process)',
      mib_per_s: {
        ours: round(emuMibps.ours, 1),
        gcloud: round(emuMibps.gcloud, 1),
        curl: round(emuMibps.curl, 1),
      },
      ratio_vs_gcloud: round(emuMibps.ours / emuMibps.gcloud),
      ratio_vs_curl: round(emuMibps.ours / emuMibps.curl),
      peak_rss_mb: round(Math.max(rss1g, rss4g), 1),
      peak_rss_mb_1gib: round(rss1g, 1),
      peak_rss_mb_4gib: round(rss4g, 1),
      ours_process_wall_mib_per_s: round(oursProcessMibps, 1),
      runs_seconds: Object.fromEntries(
        Object.entries(emuRuns).map(([k, v]) => [k, v.map((x) => round(x.uploadSeconds ?? x.seconds))]),
      ),
    },
    emulator_ceiling: {
      note: 'The emulator computes a native CRC32C and an MD5 of every byte, and writes it to disk; curl -T into it is the ceiling of any client.',
      hash_mib_per_s: Object.fromEntries(Object.entries(hashes).map(([k, v]) => [k, round(v, 0)])),
      curl_mib_per_s: round(emuMibps.curl, 1),
    },
    candidates: {
      file_bytes: CAND_MIB * MiB,
      endpoint: 'lean sink (bench/lib/sink-server.ts: native CRC32C, bytes discarded, own process)',
      mib_per_s: Object.fromEntries(Object.entries(candMibps).map(([k, v]) => [k, round(v, 1)])),
      ratio_vs_ours: Object.fromEntries(
        Object.entries(candMibps).map(([k, v]) => [k, round(v / (candMibps.ours ?? Number.NaN))]),
      ),
      mib_per_cpu_second: Object.fromEntries(Object.entries(candCpu).map(([k, v]) => [k, round(v, 0)])),
      cpu_ratio_vs_ours: Object.fromEntries(
        Object.entries(candCpu).map(([k, v]) => [k, round(v / (candCpu.ours ?? Number.NaN))]),
      ),
      peak_rss_mb: Object.fromEntries(Object.entries(candRss).map(([k, v]) => [k, round(v, 1)])),
      ours_ratio_vs_curl: round((candMibps.ours ?? Number.NaN) / (candMibps.curl ?? Number.NaN)),
    },
    noop: noop
      ? {
          seconds: round(noop.seconds),
          api_calls: noop.api_calls,
          publish_seconds: round(noop.publish_seconds),
          nix_build_seconds: round(noop.nix_build_seconds),
          calls: noop.calls,
          cli: noop.cli,
        }
      : null,
    coldstart: bundle
      ? {
          ms: round(bundle.coldstart.wall_ms, 0),
          cpu_ms: round(bundle.coldstart.cpu_ms, 0),
          node_baseline_ms: round(bundle.node_baseline.wall_ms, 0),
          node_baseline_cpu_ms: round(bundle.node_baseline.cpu_ms, 0),
          action_load_ms: round(bundle.action_load.wall_ms, 0),
          action_load_cpu_ms: round(bundle.action_load.cpu_ms, 0),
          cli_bytes: bundle.cli_bytes,
          cli_eager_bytes: bundle.cli_eager_bytes,
          action_bytes: bundle.action_bytes,
          hash_wasm: {
            index_bytes: bundle.hash_wasm.index_bytes,
            crc32_only_bytes: bundle.hash_wasm.crc32_only_bytes,
            index_load_cpu_ms: round(bundle.hash_wasm.index_load.cpu_ms, 0),
            crc32_only_load_cpu_ms: round(bundle.hash_wasm.crc32_only_load.cpu_ms, 0),
          },
        }
      : null,
  };
  results.machine.bench_seconds = round((performance.now() - benchStarted) / 1000, 0);
  writeFileSync(join(REPO, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(REPO, 'bench', 'README.md'), renderReadme(results));
  log(`done in ${results.machine.bench_seconds}s: bench/results.json, bench/README.md`);
} finally {
  for (const s of services.reverse()) await stopService(s.child);
  rmSync(tmp, { recursive: true, force: true });
}

/** The list started at a different place each round, so no client always runs first (or last). */
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
