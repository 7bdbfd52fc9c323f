/** Renders bench/README.md from the results of one run: method, figures against goals, decisions. */

// biome-ignore lint/suspicious/noExplicitAny: the results object is built and typed in run.ts; this only reads it.
type Results = any;

const goal = (ok: boolean) => (ok ? 'met' : '**not met**');

export function renderReadme(r: Results): string {
  const u = r.upload;
  const c = r.candidates;
  const e = r.emulator_ceiling;
  const n = r.noop;
  const s = r.coldstart;
  const p = r.publish;
  const k = r.tarball_check;
  const cold = r.noop_cold;
  const lines: string[] = [];
  const row = (...cells: (string | number)[]) => lines.push(`| ${cells.join(' | ')} |`);

  lines.push(
    '# Benchmarks',
    '',
    `Written by \`${r.command}\` on ${r.generated}: ${r.machine.cpus} × ${r.machine.cpu_model}, Node ${r.machine.node}, ` +
      `${r.rounds} rounds, ${r.machine.bench_seconds} s in all. Load average ${r.machine.load_average_before.join(' / ')} before and ` +
      `${r.machine.load_average_after.join(' / ')} after: other work shared the machine, so absolute figures are low and noisy; ` +
      'the ratios are taken in the same run, interleaved round by round, and move much less.',
    '',
    'Machine-readable: [results.json](results.json).',
    ...(r.skipped.length ? ['', `**Partial run**: skipped ${r.skipped.join(', ')}.`] : []),
    ...(r.machine.proxy_env
      ? ['', '**Note**: a proxy variable was set, so "ours" measured the library path, not the lean PUT.']
      : []),
    ...r.notes.map((n: string) => `\n**Note**: ${n}`),
    '',
    '## Method',
    '',
    '- Every figure is the median of the rounds; clients run one at a time, in an order that rotates each round. Each server',
    "  first takes one untimed upload from curl and one from ours, so no client pays for a server process's cold JIT.",
    '- Loopback only. The emulator (`test/emulator`) and the sink each run in their own process, so a server and a client each have a core.',
    '- Files are incompressible: random bytes (a tarball past 64 MiB repeats its first 64 MiB of disk). Temp files are removed at the end.',
    "- **Our upload** is `uploadImageObject` from `src/gcp/upload.ts`, the pipeline's own code, run in a process of its own from an",
    '  esbuild bundle on plain Node (as the shipped ncc bundle runs). CRC32C validation is on',
    '  in every figure of ours and of every candidate. Ours is timed over the `uploadImageObject` call (metadata check, session,',
    '  PUT, validation): in a publish the process has long started, and its start-up is the cold-start figure. The process wall',
    '  time is in results.json too (`ours_process_wall_mib_per_s`). `curl -T` is timed from opening the session to the end of the',
    '  PUT; `gcloud storage cp` is the whole command, Python start-up (about a second) included, as a user would run it.',
    '- **Sink**: `bench/lib/sink-server.ts` speaks just the resumable protocol, CRC32C-checks with `@node-rs/crc32` and discards the',
    "  bytes. It shows each client's own ceiling where the emulator (MD5 + CRC32C + disk) is slower than the client.",
    "- **Bundles**: `scripts/bundle.mjs` (the repo's own ncc build) is run on the current source into a scratch directory, so the",
    '  CLI and action figures are of this source, whatever state `dist/` is in.',
    '- **No-op**: the fixture flake (`test/fixtures/builder-flake`) is published once through that `dist/cli/index.js`; then the same',
    '  publish is timed again, and `evaluateImage` (the Nix part the CLI runs: `nix flake metadata` + `nix eval` of the wrapper) is',
    "  timed alone in the same round. `noop.seconds` = publish − Nix. Calls are counted from the emulator's request log.",
    '- **Peak RSS** is measured from outside, by GNU time (`/usr/bin/time -f %M`, Debian package `time`) around the process: a',
    "  child's own `process.resourceUsage().maxRSS` carries its parent's peak across fork and exec on Linux, so the bench runner's",
    '  RSS showed up in every figure before. `time` is a small process, so what its child inherits is small too.',
    '- **Whole publish** (issue 15 §3): `dist/cli/index.js publish --image-file` of one 1 GiB incompressible tarball (gzip level 0:',
    '  random data is stored blocks at any level) into a family of its own each round, against `gcloud storage cp` followed by',
    '  `gcloud compute images create --source-uri` of the same file, same emulator, interleaved. Stage times come from the',
    "  timestamps of the CLI's `==> stage` lines on stderr; the emulator reads the whole object for every image, as GCE does.",
    '- **Baseline**: the publish (1 and 4 GiB) and the identity pass are also run from an earlier commit (`BENCH_BASELINE_REV`,',
    '  default in `bench/lib/baseline.ts`), its source extracted with `git archive` and bundled by its own `scripts/bundle.mjs`,',
    '  interleaved with ours round by round: what a change bought is a ratio from one run, on one machine under one load.',
    '- **No-op, cold** (issue 15 §1): the fixture `slowImage` (25 s build) is published once; then its output path is deleted from',
    '  the local store (`nix-store --delete`) before each unchanged publish, and `built` says whether that publish put it back.',
    '  The full build of the same derivation (`nix-store --realise`, output deleted first) is timed in the same run.',
    '- **Cold start**: `node dist/cli/index.js --version`, wall and CPU (user + system, from `/usr/bin/time`); `node -e ""` is the floor.',
    '  The action bundle runs on import; with no `INPUT_*` it loads everything, fails validation and exits, which is its load time.',
    '',
    '## Goals',
    '',
    '| Key | Goal | This run | |',
    '|---|---|---|---|',
  );
  row('`upload.ratio_vs_gcloud`', '≥ 1.5', u.ratio_vs_gcloud, goal(u.ratio_vs_gcloud >= 1.5));
  row('`upload.ratio_vs_curl`', '≥ 0.8', u.ratio_vs_curl, goal(u.ratio_vs_curl >= 0.8));
  if (p?.peak_rss_mb_1gib)
    row(
      '`publish.peak_rss_mb_1gib` / `_4gib`',
      '≤ 150 both',
      `${p.peak_rss_mb_1gib} / ${p.peak_rss_mb_4gib} (upload alone: ${u.peak_rss_mb})`,
      goal(Math.max(p.peak_rss_mb_1gib, p.peak_rss_mb_4gib) <= 150),
    );
  if (p?.ratio_vs_gcloud_e2e)
    row(
      '`publish.ratio_vs_gcloud_e2e`',
      '> 1 (faster)',
      p.ratio_vs_gcloud_e2e,
      goal(p.ratio_vs_gcloud_e2e > 1),
    );
  if (cold) {
    row('`noop_cold.built`', 'false', String(cold.built), goal(cold.built === false));
    row(
      '`noop_cold.seconds`',
      '≪ the build',
      `${cold.seconds} (build ${cold.build_seconds} s, ratio ${cold.ratio_vs_build})`,
      goal(cold.ratio_vs_build < 0.5),
    );
  }
  if (n) {
    row('`noop.seconds`', '≤ 1', n.seconds, goal(n.seconds <= 1));
    row('`noop.api_calls`', '≤ 3', n.api_calls, goal(n.api_calls <= 3));
  }
  if (s)
    row(
      '`coldstart.ms`',
      '≤ 200',
      `${s.ms} wall, ${s.cpu_ms} CPU (node alone: ${s.node_baseline_ms} wall, ${s.node_baseline_cpu_ms} CPU)`,
      goal(s.ms <= 200),
    );

  lines.push(
    '',
    '## 1. Upload throughput (1 GiB, emulator)',
    '',
    '| Client | MiB/s | runs (s) |',
    '|---|---|---|',
  );
  for (const k of ['ours', 'gcloud', 'curl'])
    row(
      k === 'ours' ? 'ours (a)' : k === 'gcloud' ? '`gcloud storage cp` (b)' : '`curl -T` (c)',
      u.mib_per_s[k],
      u.runs_seconds[k].join(', '),
    );
  lines.push(
    '',
    `a/b = **${u.ratio_vs_gcloud}**, a/c = **${u.ratio_vs_curl}**. gcloud's defaults split a file over 150 MiB into a parallel`,
    'composite upload (about 20 parts, then compose and delete): that is how a user runs it, so it is measured that way.',
    '',
    "### The emulator's ceiling",
    '',
    '| One core, 1 MiB pieces | MiB/s |',
    '|---|---|',
  );
  row('library JS CRC32C (`@google-cloud/storage` default)', e.hash_mib_per_s.library_js_crc32c);
  row('hash-wasm CRC32C (ours)', e.hash_mib_per_s.wasm_crc32c);
  row("@node-rs/crc32 (the emulator's)", e.hash_mib_per_s.native_crc32c);
  row('MD5 (node:crypto; the emulator hashes every object with it too)', e.hash_mib_per_s.md5);
  lines.push(
    '',
    "The emulator's CRC32C is fast, but for every byte it also computes MD5, writes to disk and runs per-chunk JavaScript, all",
    `on one thread: \`curl -T\`, which spends almost no CPU itself, reached ${e.curl_mib_per_s} MiB/s, and that is the emulator's`,
    'ceiling here. Against it the ratio vs curl says how close we get; the sink figures (§5) say what the client itself can do.',
    '',
    '## 2. Memory (GNU time, from outside)',
    '',
    ...(p?.peak_rss_mb_1gib
      ? [
          `Whole publish of a prebuilt tarball (\`--image-file\`, emulator, medians of ${r.rounds}): **${p.peak_rss_mb_1gib} MB** for 1 GiB,`,
          `**${p.peak_rss_mb_4gib} MB** for 4 GiB (${p.seconds_4gib} s, ${p.rounds_4gib} round${p.rounds_4gib === 1 ? '' : 's'}). The upload process alone (1 GiB, emulator): ${u.peak_rss_mb} MB.`,
          `The identity pass alone peaks at ${k?.pass_process?.ours?.peak_rss_mb ?? '–'} MB in a process of its own (§2c), the upload alone at ${u.peak_rss_mb} MB: the`,
          "publish adds its client libraries to the pass's peak. Runs (1 GiB): " +
            `${(p.runs_peak_rss_mb ?? []).join(', ')} MB.`,
          ...baselineMemory(p),
        ]
      : [`The upload process alone (1 GiB, emulator): ${u.peak_rss_mb} MB.`]),
  );
  if (p?.ratio_vs_gcloud_e2e) {
    const stageLabel: Record<string, string> = {
      start: 'start-up and input checks',
      setup: 'check the Google Cloud target',
      identity_pass: 'identity pass (SHA-256 + whole tarball check, one read)',
      lookup: 'look for an existing image',
      upload: 'upload',
      image_wait: 'create the image and wait (+ delete the object)',
      retention: 'retention (prune the family)',
    };
    lines.push(
      '',
      '## 2b. Whole publish vs gcloud (1 GiB tarball, emulator)',
      '',
      `Ours ${p.seconds.ours} s against ${p.seconds.gcloud_pair} s for \`gcloud storage cp\` (${p.gcloud_split_seconds.storage_cp} s) +`,
      `\`gcloud compute images create\` (${p.gcloud_split_seconds.images_create} s): \`publish.ratio_vs_gcloud_e2e\` = **${p.ratio_vs_gcloud_e2e}**`,
      `(gcloud's time / ours). Runs: ours ${p.runs_seconds.ours.join(', ')}; gcloud ${p.runs_seconds.gcloud_pair.join(', ')}.`,
      '',
      '| Stage of ours | seconds | share |',
      '|---|---|---|',
    );
    for (const [key, secs] of Object.entries(p.stages_seconds))
      row(stageLabel[key] ?? key, secs as number, `${Math.round(100 * p.stages_share[key])}%`);
  }
  if (k) {
    lines.push(
      '',
      '## 2c. What the whole-tarball check costs (1 GiB, in-process, medians)',
      '',
      '| Pass | wall s | CPU s |',
      '|---|---|---|',
      `| SHA-256 alone (the identity pass before issue 17) | ${k.hash_only.seconds} | ${k.hash_only.cpu_seconds} |`,
      `| check alone (gunzip + tar walk; a Nix-built tarball gets this) | ${k.check_only.seconds} | ${k.check_only.cpu_seconds} |`,
      `| SHA-256 + check, one read (the identity pass now) | ${k.hash_and_check.seconds} | ${k.hash_and_check.cpu_seconds} |`,
      '',
      `The identity pass with the check takes ${k.ratio_vs_hash_only}× the time of the SHA-256 alone; zlib inflates on the thread pool`,
      'while the main thread hashes the next piece.',
      '',
      'The same pass in a process of its own (wall s, peak RSS from GNU time), to see what the way of reading costs in memory:',
      '',
      '| Identity pass | wall s | peak RSS MB |',
      '|---|---|---|',
      `| ours: 4 reused 1 MiB read buffers, gunzip pieces of 1 MiB, a minor GC every 8 MiB inflated | ${k.pass_process.ours.seconds} | ${k.pass_process.ours.peak_rss_mb} |`,
      ...(k.pass_process['baseline:ours']
        ? [
            `| the same at the baseline (${p?.baseline?.rev ?? 'baseline'}): gunzip pieces of 16 KiB, no minor GC | ${k.pass_process['baseline:ours'].seconds} | ${k.pass_process['baseline:ours'].peak_rss_mb} |`,
          ]
        : []),
      `| first version: \`createReadStream\` (fresh 1 MiB buffers), gunzip pieces of 1 MiB | ${k.pass_process['stream-1mib'].seconds} | ${k.pass_process['stream-1mib'].peak_rss_mb} |`,
      `| SHA-256 alone (\`fileIdentityHash\`: one reused 4 MiB buffer, as \`fileCrc32c\` reads) | ${k.pass_process['sha256-only'].seconds} | ${k.pass_process['sha256-only'].peak_rss_mb} |`,
      ...(k.pass_process['baseline:sha256-only']
        ? [
            `| the same at the baseline: \`createReadStream\`, a fresh 4 MiB buffer per read | ${k.pass_process['baseline:sha256-only'].seconds} | ${k.pass_process['baseline:sha256-only'].peak_rss_mb} |`,
          ]
        : []),
    );
  }

  if (n) {
    lines.push(
      '',
      '## 3. No-op rebuild',
      '',
      `Publish of an unchanged build: ${n.publish_seconds} s; Nix alone (the evaluation) ${n.nix_eval_seconds ?? n.nix_build_seconds} s; beyond Nix **${n.seconds} s**,`,
      `**${n.api_calls}** API calls:`,
      '',
      ...n.calls.map((x: string) => `- \`${x}\``),
    );
  }
  if (cold) {
    lines.push(
      '',
      '## 3b. No-op rebuild on an empty store',
      '',
      `Unchanged publish of \`slowImage\` with its output path deleted from the store: **${cold.seconds} s** (runs ${cold.runs_seconds.join(', ')}),`,
      `built: **${cold.built}**. The full build of the same derivation: ${cold.build_seconds} s; ratio **${cold.ratio_vs_build}**.`,
      `The first publish (build, upload, image) took ${cold.first_publish_seconds} s.`,
    );
  }
  if (s) {
    const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
    lines.push(
      '',
      '## 4. Cold start and bundle',
      '',
      '| | wall ms | CPU ms |',
      '|---|---|---|',
      `| \`node -e ""\` (floor) | ${s.node_baseline_ms} | ${s.node_baseline_cpu_ms} |`,
      `| \`node dist/cli/index.js --version\` | ${s.ms} | ${s.cpu_ms} |`,
      `| \`node dist/main/index.js\` (action, load to exit) | ${s.action_load_ms} | ${s.action_load_cpu_ms} |`,
      '',
      `Sizes without licenses.txt: CLI ${kb(s.cli_bytes)} (${kb(s.cli_eager_bytes)} loaded for \`--version\`; the rest loads lazily),`,
      `action ${kb(s.action_bytes)}.`,
      '',
      `hash-wasm: importing the package index bundles every algorithm (${kb(s.hash_wasm.index_bytes)}); its CRC32 file alone is`,
      `${kb(s.hash_wasm.crc32_only_bytes)}. Load + init CPU: ${s.hash_wasm.index_load_cpu_ms} ms vs ${s.hash_wasm.crc32_only_load_cpu_ms} ms.`,
    );
  }
  lines.push(
    '',
    `## 5. Candidates (${c.file_bytes / 2 ** 20} MiB, sink)`,
    '',
    'Timed inside the worker (the upload alone, no process start-up), so the candidates differ only in how they upload.',
    'MiB per CPU-second (user + system of the whole client process, start-up included) is the steadier figure on a shared',
    'machine: it says how much CPU each way of uploading spends per byte, which is what caps it once the wire is fast.',
    '',
    '| Candidate | MiB/s | vs ours | MiB per CPU-s | vs ours | peak RSS MB |',
    '|---|---|---|---|---|---|',
  );
  const labels: Record<string, string> = {
    ours: 'ours: library opens the session, one PUT through 4 reused 1 MiB buffers, hash-wasm CRC32C',
    'library-upload': 'before: `bucket.upload`, single request, hash-wasm `crc32cGenerator`',
    'library-js-crc': "`bucket.upload` with the library's default CRC32C (no generator)",
    'library-native-crc': '`bucket.upload`, `crc32cGenerator` backed by @node-rs/crc32 (native)',
    'chunked-32mib': '`bucket.upload`, chunked resumable, `chunkSize` 32 MiB',
    'stream-hwm-1mib': '`createWriteStream` fed by a 1 MiB `highWaterMark` read stream',
    'lean-put-fresh-buffers':
      'lean PUT, but a fresh 1 MiB buffer per read (`createReadStream` → Transform → `http`)',
    curl: '`curl -T`',
  };
  for (const [k, v] of Object.entries(c.mib_per_s))
    row(
      labels[k] ?? k,
      v as number,
      c.ratio_vs_ours[k],
      c.mib_per_cpu_second[k],
      c.cpu_ratio_vs_ours[k],
      c.peak_rss_mb[k] ?? '–',
    );
  lines.push('', `Ours vs curl against the sink: ${c.ours_ratio_vs_curl}.`);
  lines.push('', '## Decisions (issue 8 §5)', '', ...decisions(r));
  lines.push('', '## Decisions (issues 15 and 17)', '', ...publishDecisions(r), '');
  return `${lines.join('\n')}\n`;
}

/** What each candidate changed, kept or rejected, with this run's figure (candidates: vs ours, same run). */
function decisions(r: Results): string[] {
  const c = r.candidates;
  const x = (k: string) =>
    `${c.ratio_vs_ours[k]}× the speed, ${c.cpu_ratio_vs_ours[k]}× the MiB per CPU-second, ${c.peak_rss_mb[k]} MB peak`;
  const h = r.emulator_ceiling.hash_mib_per_s;
  const crcShare = Math.round((100 * c.mib_per_cpu_second.ours) / h.wasm_crc32c);
  const vs = (a: string, b: string) =>
    `${(c.mib_per_s[a] / c.mib_per_s[b]).toFixed(2)}× the speed and ${(c.mib_per_cpu_second[a] / c.mib_per_cpu_second[b]).toFixed(2)}× the MiB per CPU-second of`;
  const s = r.coldstart;
  return [
    "- **Kept: lean PUT into the library's session** (`putSession` in `src/gcp/resumable-put.ts`). The library still opens the",
    '  session (auth, metadata, `ifGenerationMatch`), reads metadata and deletes; one hand-written PUT streams the file through',
    "  four reused 1 MiB buffers, hashing CRC32C on the way, and the stored object's CRC32C and size are compared (mismatch:",
    '  object deleted, upload fails, as the library does). Broken connections and 408/429/5xx resume from the committed offset',
    `  after a status query. Justification: the library's own pipeline (\`library-upload\`, what we shipped before) ran at ${x('library-upload')}`,
    `  (ours: ${c.peak_rss_mb.ours} MB). What it costs: about 150 lines we maintain. The PUT does not go through an HTTP proxy,`,
    '  so with `HTTPS_PROXY`/`HTTP_PROXY` set the library path is used instead (gaxios honours the proxy and `NO_PROXY`).',
    `- **Buffer reuse is the win, not the PUT itself**: the same lean PUT with a fresh 1 MiB buffer per read ran at ${x('lean-put-fresh-buffers')}.`,
    `- **Kept: hash-wasm CRC32C** through the library's \`crc32cGenerator\` hook for every library path (and in the PUT).`,
    `  The library's own JS CRC32C runs at ${h.library_js_crc32c} MiB/s against ${h.wasm_crc32c} MiB/s for WASM on one core;`,
    `  \`bucket.upload\` with it ran at ${x('library-js-crc')}.`,
    `- **Rejected: native CRC32C** (@node-rs/crc32, ${h.native_crc32c} MiB/s alone): through the library it ran at ${x('library-native-crc')},`,
    `  that is ${vs('library-native-crc', 'library-upload')} the same library path with WASM. In the lean PUT, WASM CRC32C`,
    `  takes about ${crcShare}% of ours' CPU (${h.wasm_crc32c} MiB/s hashing against ${c.mib_per_cpu_second.ours} MiB per CPU-second in all),`,
    '  so native could save at most that, at the price of a binary per platform in the bundle; WASM bundles cleanly with ncc.',
    `- **Rejected: chunked resumable upload** (\`chunkSize\` 32 MiB): ${x('chunked-32mib')}; every chunk is buffered for retry.`,
    `- **Rejected: a bigger \`highWaterMark\`** feeding the library (1 MiB reads): ${x('stream-hwm-1mib')}. A fresh buffer per`,
    '  read above 64 KiB costs page faults; reusing the buffers is what pays.',
    '- **Not built: parallel composite upload.** Composite objects carry only a CRC32C, no MD5 (Cloud Storage `ObjectChecksums`',
    '  docs); nothing I found documents whether `images.insert` takes a composite as `rawDisk.source`, so it stays unverified.',
    '  Here it cannot help: the emulator hashes every byte on one thread, and gcloud, which composes by default (about 20',
    `  parts), is the slowest client at ${r.upload.mib_per_s.gcloud} MiB/s. On real Cloud Storage from a many-core runner it might;`,
    '  that needs a measurement against Google, not loopback.',
    "- **Keep-alive**: one upload is one session POST and one PUT (plus a status query only after a failure); Node 24's global",
    '  agent keeps connections alive already, so there was nothing to measure.',
    ...(s
      ? [
          `- **Kept: hash-wasm's CRC32 file alone** (\`hash-wasm/dist/crc32.umd.min.js\`): ${(s.hash_wasm.index_bytes / 1024).toFixed(0)} KiB → ${(s.hash_wasm.crc32_only_bytes / 1024).toFixed(0)} KiB`,
          `  per bundle. Load CPU did not move (${s.hash_wasm.index_load_cpu_ms} vs ${s.hash_wasm.crc32_only_load_cpu_ms} ms): a size win only.`,
          '- **Cold start**: the CLI already loads the pipeline lazily; `--version` costs little more than Node itself (table above).',
        ]
      : []),
  ];
}

/** The same publish at the baseline commit, from the same rounds. */
function baselineMemory(p: Results): string[] {
  const b = p.baseline;
  if (!b) return [];
  return [
    '',
    `At the baseline commit ${b.rev} (before the minor collections and the reused hash buffer), in the same rounds:`,
    `**${b.peak_rss_mb_1gib} MB** for 1 GiB (runs ${b.runs_peak_rss_mb.join(', ')}), **${b.peak_rss_mb_4gib} MB** for 4 GiB.`,
    `Ours / baseline: ${ratio(p.peak_rss_mb_1gib, b.peak_rss_mb_1gib)} at 1 GiB, ${ratio(p.peak_rss_mb_4gib, b.peak_rss_mb_4gib)} at 4 GiB;`,
    `publish time ${p.seconds.ours} s against ${b.seconds} s (identity pass ${p.stages_seconds.identity_pass} s against ${b.identity_pass_seconds} s).`,
  ];
}

const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? (a / b).toFixed(2) : '–');

/** What changed for the whole publish, each with this run's figure. */
function publishDecisions(r: Results): string[] {
  const p = r.publish;
  const k = r.tarball_check;
  const cold = r.noop_cold;
  const out: string[] = [];
  if (cold)
    out.push(
      "- **Identity from evaluation** (issue 15 §1): publish runs `nix eval` for the image's drvPath and outPath, looks the",
      '  output path up in the family, and builds (`nix-store --realise` of that .drv) only when the family lacks it. An unchanged',
      `  publish on an empty store took ${cold.seconds} s against ${cold.build_seconds} s for the build it skipped (ratio ${cold.ratio_vs_build}), built: ${cold.built}.`,
    );
  if (k)
    out.push(
      '- **The whole tarball checked in the identity pass** (issue 17 §1): SHA-256 and the gunzip + tar walk share one read.',
      `  That pass took ${k.ratio_vs_hash_only}× the SHA-256 alone (${k.hash_and_check.seconds} s vs ${k.hash_only.seconds} s wall, ${k.hash_and_check.cpu_seconds} vs ${k.hash_only.cpu_seconds} CPU s for 1 GiB).`,
      `  A Nix-built tarball has no hash pass (its store path is its identity), so it gets the check alone before the upload: ${k.check_only.seconds} s.`,
      `- **Reused read buffers**: the pass alone peaked at ${k.pass_process.ours.peak_rss_mb} MB against ${k.pass_process['stream-1mib'].peak_rss_mb} MB for the first`,
      `  version (a fresh 1 MiB buffer per read, no minor GC), ${k.pass_process.ours.seconds} s against ${k.pass_process['stream-1mib'].seconds} s.`,
    );
  const base = k?.pass_process?.['baseline:ours'];
  if (base)
    out.push(
      '- **A minor GC every 8 MiB of gunzip output** (`src/young-garbage.ts`), **then 1 MiB gunzip pieces**: every gunzip piece',
      '  is a fresh Buffer, and V8 collects them only once about 64 MB have piled up; that garbage was why the pieces were',
      '  16 KiB, and each piece is a round trip to the thread pool. The pass alone peaked at',
      `  ${k.pass_process.ours.peak_rss_mb} MB against ${base.peak_rss_mb} MB at the baseline (${ratio(k.pass_process.ours.peak_rss_mb, base.peak_rss_mb)}×), in ${k.pass_process.ours.seconds} s against ${base.seconds} s (${ratio(k.pass_process.ours.seconds, base.seconds)}×);`,
      ...(p?.baseline
        ? [
            `  the whole publish peaked at ${p.peak_rss_mb_1gib} MB against ${p.baseline.peak_rss_mb_1gib} MB (1 GiB) and ${p.peak_rss_mb_4gib} against ${p.baseline.peak_rss_mb_4gib} MB (4 GiB),`,
            `  and took ${p.seconds.ours} s against ${p.baseline.seconds} s (${ratio(p.seconds.ours, p.baseline.seconds)}×; 4 GiB: ${p.seconds_4gib} s against ${p.baseline.seconds_4gib} s).`,
          ]
        : []),
      '- **One reused buffer for whole-file hashes** (`src/read-pieces.ts`: `fileCrc32c`, which a reused object and a resumed',
      '  upload run, and `fileIdentityHash`): the SHA-256 pass alone peaked at',
      `  ${k.pass_process['sha256-only'].peak_rss_mb} MB against ${k.pass_process['baseline:sha256-only']?.peak_rss_mb ?? '–'} MB with \`createReadStream\`'s fresh 4 MiB buffers.`,
    );
  if (p?.ratio_vs_gcloud_e2e) {
    const [largest] = Object.entries(p.stages_share as Record<string, number>).sort((a, b) => b[1] - a[1]);
    const why: Record<string, string[]> = {
      upload: [
        `  The upload runs at ${r.upload.ratio_vs_curl}× \`curl -T\` into the same emulator (§1), whose MD5 + CRC32C + disk write on one`,
        '  thread is the ceiling, so no client change shortens it here.',
      ],
      image_wait: [
        '  That is the server reading and checking the whole object, as GCE does; the CLI waits with `operations.wait`, which',
        `  answers when the operation is done, so it adds no polling delay (\`gcloud compute images create\` took ${p.gcloud_split_seconds.images_create} s for the same).`,
      ],
      identity_pass: ['  See §2c for what it is made of.'],
    };
    out.push(
      `- **Largest stage: ${largest?.[0]}** (${Math.round(100 * (largest?.[1] ?? 0))}% of the publish).`,
      ...(why[largest?.[0] ?? ''] ?? []),
      `- **Peak RSS from outside**: the whole 1 GiB publish peaked at ${p.peak_rss_mb_1gib} MB, 4 GiB at ${p.peak_rss_mb_4gib} MB (goal 150).`,
    );
  }
  return out;
}
