/**
 * `npm run bench` (issues 8 and 15): upload throughput against the emulator, each candidate's own ceiling
 * against a lean sink, the whole publish of a 1 GiB tarball against gcloud's pair with its stages and peak
 * RSS (1 and 4 GiB), the tarball check's cost, the no-op rebuild warm and cold, cold start and bundle size.
 * Rewrites bench/results.json and bench/README.md. Loopback only; every loop is bounded; temp files and
 * directories are removed at the end. Needs GNU time (`apt-get install -y time`), gcloud and Nix.
 *
 * BENCH_ROUNDS (default and minimum 3) sets the runs per figure, BENCH_4G_ROUNDS (default 1) those of the
 * 4 GiB publish; BENCH_SKIP=emulator,candidates,publish,memory,check,noop,noop_cold,bundle,baseline skips
 * sections (for working on one; a run that skips any is not a full run and says so; check also skips the
 * identity pass variants). The publish, its peak RSS and the identity pass are also measured at BENCH_BASELINE_REV
 * (default: bench/lib/baseline.ts), interleaved with ours, so a change shows what it bought in one run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_BASELINE_REV, extractBaseline } from './lib/baseline.ts';
import { buildWorker } from './lib/build-worker.ts';
import { bundleFigures } from './lib/bundle.ts';
import { checkCost } from './lib/check-cost.ts';
import {
  createBucket,
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
import { requireGnuTime, runMeasured } from './lib/measured.ts';
import { noopRebuild } from './lib/noop.ts';
import { noopCold } from './lib/noop-cold.ts';
import { mustSucceed, startService, stopService } from './lib/proc.ts';
import { cliPublish, gcloudPublish, type PublishRun, type Stage } from './lib/publish-e2e.ts';
import { renderReadme } from './lib/report.ts';
import { MiB, median, mibps, rotate, round } from './lib/stats.ts';
import { writeImageTarball } from './lib/tarball.ts';
import type { VariantName } from './lib/variants.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 3));
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const GiB = 1024 * MiB;
const BUCKET = 'bench';
/** Candidates upload a smaller file: seven of them, three rounds each, must fit the 10-minute budget. */
const CAND_MIB = 256;
const MEM_4G_ROUNDS = Number(process.env.BENCH_4G_ROUNDS ?? 1);
const BASELINE_REV = process.env.BENCH_BASELINE_REV ?? DEFAULT_BASELINE_REV;

const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const benchStarted = performance.now();
const loadBefore = loadavg();
const tmp = mkdtempSync(join(tmpdir(), 'ngr-bench-'));
const tsx = pathToFileURL(join(REPO, 'node_modules/tsx/dist/esm/index.mjs')).href;
const services: Awaited<ReturnType<typeof startService>>[] = [];

try {
  log(`temp ${tmp}; ${ROUNDS} rounds; load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
  requireGnuTime();
  const file1g = join(tmp, 'image-1g.tar');
  const fileCand = join(tmp, 'image-candidates.tar');
  await writeRandomFile(file1g, GiB);
  await writeRandomFile(fileCand, CAND_MIB * MiB);
  const worker = await buildWorker(REPO);

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
  await createBucket(emuUrl, 'bench', BUCKET);

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

  rmSync(fileCand);
  // Upload alone, peak RSS from outside (GNU time), from the emulator rounds above.
  const uploadRss = median(emuRuns.ours.map((x) => x.peakRssMb ?? Number.NaN));

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
  const dist = ['noop', 'bundle', 'publish', 'memory', 'noop_cold'].every((k) => SKIP.has(k))
    ? undefined
    : await section('bundle build', () => buildFreshBundles(REPO, join(tmp, 'bundle')));
  const cli = dist ? join(dist, 'cli', 'index.js') : '';
  // The same CLI and pass worker at the baseline commit, measured beside ours round by round.
  const baseline =
    dist && !SKIP.has('baseline')
      ? await section('baseline build', async () => {
          const dir = join(tmp, 'baseline-src');
          const commit = extractBaseline(REPO, BASELINE_REV, dir);
          const baseDist = await buildFreshBundles(dir, join(tmp, 'baseline-bundle'));
          const passWorker = await buildWorker(dir, 'pass-worker');
          return { rev: BASELINE_REV, commit, cli: join(baseDist, 'cli', 'index.js'), passWorker };
        })
      : undefined;

  // Issue 15 §3: the whole publish of a 1 GiB incompressible tarball, ours vs upstream's gcloud pair,
  // interleaved round by round; each of ours under GNU time (peak RSS, §2) with its stage times.
  const tar1g = join(tmp, 'image-1g.raw.tar.gz');
  const tarBytes = SKIP.has('publish') && SKIP.has('check') ? 0 : await writeImageTarball(tar1g, GiB);
  const e2e: {
    ours: PublishRun[];
    baseline: PublishRun[];
    gcloud: Awaited<ReturnType<typeof gcloudPublish>>[];
  } = { ours: [], baseline: [], gcloud: [] };
  if (dist)
    await section('publish', async () => {
      const who3 = baseline ? (['ours', 'baseline', 'gcloud'] as const) : (['ours', 'gcloud'] as const);
      for (let r = 0; r < ROUNDS; r++) {
        for (const who of rotate([...who3], r)) {
          if (who === 'baseline' && baseline) {
            const run = await cliPublish(baseline.cli, emuUrl, BUCKET, `e2e-base-${r}`, tar1g);
            e2e.baseline.push(run);
            log(
              `  baseline ${baseline.rev} round ${r + 1}: ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB`,
            );
          } else if (who === 'ours') {
            const run = await cliPublish(cli, emuUrl, BUCKET, `e2e-ours-${r}`, tar1g);
            e2e.ours.push(run);
            log(
              `  ours round ${r + 1}: ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB`,
            );
          } else {
            const run = await gcloudPublish(gcloudEnv, BUCKET, `e2e-gcloud-${r}`, tar1g);
            e2e.gcloud.push(run);
            log(
              `  gcloud round ${r + 1}: ${run.seconds.toFixed(1)} s (cp ${run.cpSeconds.toFixed(1)}, create ${run.createSeconds.toFixed(1)})`,
            );
            await deleteObject(emuUrl, BUCKET, `e2e-gcloud-${r}.raw.tar.gz`);
          }
        }
      }
    });
  const stageNames = Object.keys(e2e.ours[0]?.stages ?? {}) as Stage[];
  const oursE2e = median(e2e.ours.map((x) => x.seconds));
  const gcloudE2e = median(e2e.gcloud.map((x) => x.seconds));
  const stageSeconds = Object.fromEntries(
    stageNames.map((k) => [k, median(e2e.ours.map((x) => x.stages[k]))]),
  );

  // Issue 15 §2: the whole publish's peak RSS at 4 GiB (1 GiB comes from the rounds above).
  const mem4g: PublishRun[] = [];
  const mem4gBaseline: PublishRun[] = [];
  if (dist)
    await section('memory', async () => {
      const tar4g = join(tmp, 'image-4g.raw.tar.gz');
      await writeImageTarball(tar4g, 4 * GiB);
      // One round: each writes and reads 4 GiB twice over (identity pass, upload, the emulator's own check).
      for (let r = 0; r < MEM_4G_ROUNDS; r++) {
        for (const who of rotate(baseline ? ['ours', 'baseline'] : ['ours'], r)) {
          const base = who === 'baseline' && baseline;
          const run = await cliPublish(
            base ? baseline.cli : cli,
            emuUrl,
            BUCKET,
            `mem-4g-${who}-${r}`,
            tar4g,
          );
          (base ? mem4gBaseline : mem4g).push(run);
          log(
            `  4 GiB ${who} round ${r + 1}: ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB`,
          );
        }
      }
      rmSync(tar4g, { force: true });
    });

  // Issue 17 §1: the whole-tarball check's cost in the identity pass.
  const check = tarBytes ? await section('check', () => checkCost(tar1g, ROUNDS)) : undefined;
  // Issue 15 §2: what the identity pass alone peaks at, in a process of its own, per way of reading.
  // `baseline:` variants run the baseline commit's own pass worker.
  const passVariants = [
    'ours',
    'stream-1mib',
    'sha256-only',
    ...(baseline ? ['baseline:ours', 'baseline:sha256-only'] : []),
  ];
  const passRuns: Record<string, { seconds: number; rss: number }[]> = Object.fromEntries(
    passVariants.map((v) => [v, []]),
  );
  // Its figures are stored under tarball_check, so it runs only when the check did (BENCH_SKIP=check skips both).
  if (check)
    await section('identity pass variants', async () => {
      const passWorker = await buildWorker(REPO, 'pass-worker');
      for (let r = 0; r < ROUNDS; r++) {
        for (const v of rotate(passVariants, r)) {
          const base = v.startsWith('baseline:') && baseline;
          const worker = base ? baseline.passWorker : passWorker;
          const variant = v.replace(/^baseline:/, '');
          const ran = mustSucceed(
            await runMeasured(process.execPath, [worker, variant, tar1g], { timeoutMs: 300_000 }),
            `pass worker ${v}`,
          );
          passRuns[v]?.push({ seconds: ran.seconds, rss: ran.peakRssMb });
          log(`  ${v} round ${r + 1}: ${ran.seconds.toFixed(1)} s, peak RSS ${ran.peakRssMb.toFixed(0)} MB`);
        }
      }
    });
  rmSync(tar1g, { force: true });
  const cold = dist ? await section('noop_cold', () => noopCold(dist, emuUrl, ROUNDS)) : undefined;
  const noop = dist ? await section('noop', () => noopRebuild(dist, emuUrl, ROUNDS)) : undefined;
  const rss1g = median(e2e.ours.map((x) => x.peakRssMb));
  const rss4g = median(mem4g.map((x) => x.peakRssMb));
  const baselineFigures =
    baseline && e2e.baseline.length
      ? {
          rev: baseline.rev,
          commit: baseline.commit,
          seconds: round(median(e2e.baseline.map((x) => x.seconds))),
          identity_pass_seconds: round(median(e2e.baseline.map((x) => x.stages.identity_pass))),
          peak_rss_mb_1gib: round(median(e2e.baseline.map((x) => x.peakRssMb)), 1),
          peak_rss_mb_4gib: round(median(mem4gBaseline.map((x) => x.peakRssMb)), 1),
          seconds_4gib: round(median(mem4gBaseline.map((x) => x.seconds))),
          runs_seconds: e2e.baseline.map((x) => round(x.seconds)),
          runs_peak_rss_mb: e2e.baseline.map((x) => round(x.peakRssMb, 1)),
        }
      : null;
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
      // The upload process alone, from outside (GNU time); the whole publish is under publish.
      peak_rss_mb: round(uploadRss, 1),
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
    publish: {
      note: 'Whole publish of one 1 GiB incompressible --image-file tarball through dist/cli/index.js vs gcloud storage cp + gcloud compute images create, same emulator, interleaved.',
      disk_bytes: GiB,
      tarball_bytes: tarBytes,
      seconds: { ours: round(oursE2e), gcloud_pair: round(gcloudE2e) },
      gcloud_split_seconds: {
        storage_cp: round(median(e2e.gcloud.map((x) => x.cpSeconds))),
        images_create: round(median(e2e.gcloud.map((x) => x.createSeconds))),
      },
      ratio_vs_gcloud_e2e: round(gcloudE2e / oursE2e),
      stages_seconds: Object.fromEntries(Object.entries(stageSeconds).map(([k, v]) => [k, round(v)])),
      stages_share: Object.fromEntries(
        Object.entries(stageSeconds).map(([k, v]) => [
          k,
          round(v / Object.values(stageSeconds).reduce((a, b) => a + b, 0)),
        ]),
      ),
      cpu_seconds: round(median(e2e.ours.map((x) => x.cpuSeconds))),
      peak_rss_mb_1gib: round(rss1g, 1),
      peak_rss_mb_4gib: round(rss4g, 1),
      seconds_4gib: round(median(mem4g.map((x) => x.seconds))),
      rounds_4gib: mem4g.length,
      peak_rss_method: 'GNU time %M of the CLI process (its own high-water mark, measured from outside)',
      runs_seconds: {
        ours: e2e.ours.map((x) => round(x.seconds)),
        gcloud_pair: e2e.gcloud.map((x) => round(x.seconds)),
      },
      runs_peak_rss_mb: e2e.ours.map((x) => round(x.peakRssMb, 1)),
      // The same publish at the baseline commit, interleaved with ours in the same rounds.
      baseline: baselineFigures,
    },
    tarball_check: check
      ? {
          file_bytes: tarBytes,
          hash_only: {
            seconds: round(check.hash_only.seconds),
            cpu_seconds: round(check.hash_only.cpu_seconds),
          },
          check_only: {
            seconds: round(check.check_only.seconds),
            cpu_seconds: round(check.check_only.cpu_seconds),
          },
          hash_and_check: {
            seconds: round(check.hash_and_check.seconds),
            cpu_seconds: round(check.hash_and_check.cpu_seconds),
          },
          ratio_vs_hash_only: round(check.ratio_vs_hash_only),
          pass_process: Object.fromEntries(
            passVariants.map((v) => [
              v,
              {
                seconds: round(median((passRuns[v] ?? []).map((x) => x.seconds))),
                peak_rss_mb: round(median((passRuns[v] ?? []).map((x) => x.rss)), 1),
              },
            ]),
          ),
        }
      : null,
    noop_cold: cold
      ? {
          seconds: round(cold.seconds),
          built: cold.built,
          build_seconds: round(cold.build_seconds),
          ratio_vs_build: round(cold.ratio_vs_build, 3),
          first_publish_seconds: round(cold.first_publish_seconds),
          runs_seconds: cold.runs_seconds.map((x) => round(x)),
          fixture: 'test/fixtures/builder-flake packages.x86_64-linux.slowImage (25 s build)',
        }
      : null,
    noop: noop
      ? {
          seconds: round(noop.seconds),
          api_calls: noop.api_calls,
          publish_seconds: round(noop.publish_seconds),
          nix_eval_seconds: round(noop.nix_eval_seconds),
          calls: noop.calls,
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
