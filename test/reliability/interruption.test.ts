/**
 * Issue 7, section 2: SIGINT or SIGTERM during build, upload, image insert or roll. Each case runs the
 * bundled CLI or action as a user or GitHub does, catches it inside the stage (a build that waits for a
 * file, an upload PUT or operation wait the emulator holds for a minute, guests that keep draining), signals
 * it and checks that it exits with 130 within 10 s, says in one line what it left behind, that the emulator
 * agrees, and that a second run without a signal finishes the job with no duplicate.
 *
 * The upload restarts cleanly: an interrupted resumable session never finalises an object (uploads are
 * create-only), so the next run opens a new session and sends every byte again.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { type CliRun, type RunningCli, startBundledAction, startCli } from '../helpers/cli.ts';
import { actionEnv } from '../helpers/local-action.ts';
import { replacementsBeforeDrain } from '../lifecycle/guests.ts';
import {
  BUCKET,
  FAMILY,
  type Lab,
  lab,
  last,
  members,
  PROJECT,
  template,
  ZONE,
} from '../lifecycle/helpers.ts';
import {
  commitAll,
  FIXTURE_FLAKE,
  requireNix,
  TEST_NIX_CONFIG,
  tempDir,
  workspace,
} from '../nix-stage/helpers.ts';

type Entry = 'cli' | 'action';

/** What "promptly" means here: far below the minute each held stage would otherwise take. */
const PROMPT_MS = 10_000;

// ---- running and signalling the entry points ---------------------------------------------------------

interface Started {
  running: RunningCli;
  /** The action's job summary and GITHUB_OUTPUT files ('' for the CLI). */
  summary: string;
  outputFile: string;
}

/** Starts a command; inputs become `--name value` for the CLI and INPUT_NAME for the action. */
function start(
  entry: Entry,
  command: string,
  inputs: Record<string, string>,
  ws: string,
  env: NodeJS.ProcessEnv = {},
): Started {
  if (entry === 'cli') {
    const args = [command, '--json'];
    for (const [k, v] of Object.entries(inputs)) args.push(`--${k}`, ...(v === 'true' ? [] : [v]));
    return { running: startCli(args, { cwd: ws, env, timeoutMs: 90_000 }), summary: '', outputFile: '' };
  }
  const dir = tempDir('github');
  const summary = join(dir, 'summary.md');
  const outputFile = join(dir, 'output');
  writeFileSync(summary, '');
  writeFileSync(outputFile, '');
  const vars: NodeJS.ProcessEnv = {
    ...env,
    GITHUB_WORKSPACE: ws,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: outputFile,
    ...actionEnv({ command, ...inputs }),
  };
  return { running: startBundledAction(vars, ws, 90_000), summary, outputFile };
}

/** Sends the signals (GitHub: SIGINT, then SIGTERM) and waits for the exit. */
async function interrupt(running: RunningCli, signals: NodeJS.Signals[]): Promise<CliRun & { ms: number }> {
  const sent = Date.now();
  for (const [i, s] of signals.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, 30));
    running.child.kill(s);
  }
  const run = await running.done;
  return { ...run, ms: Date.now() - sent };
}

/** The failure lines: `error: …` for the CLI, `::error::…` for the action. */
function errorLines(entry: Entry, run: CliRun): string[] {
  const prefix = entry === 'cli' ? 'error: ' : '::error::';
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

/** Exit 130 within PROMPT_MS, one failure line matching `message`, no stack trace; returns its match. */
function expectInterrupted(
  entry: Entry,
  started: Started,
  run: CliRun & { ms: number },
  message: RegExp,
): RegExpMatchArray {
  const all = `${run.stdout}\n${run.stderr}`;
  expect(run.code, all).toBe(130);
  expect(run.ms, all).toBeLessThan(PROMPT_MS);
  const errors = errorLines(entry, run);
  expect(errors, all).toHaveLength(1);
  expect(all).not.toMatch(/^\s+at /m);
  const match = errors[0]?.match(message);
  expect(match, `${errors[0]} does not match ${message}`).toBeTruthy();
  if (entry === 'action') {
    const summary = readFileSync(started.summary, 'utf8');
    expect(summary).toMatch(/^## nix-glab-runner \w+: interrupted$/m);
    expect(summary).toContain(errors[0]);
  }
  return match as RegExpMatchArray;
}

/** Polls until `ok()` holds; fails at once if `running` ends first. */
async function until(
  ok: () => boolean | Promise<boolean>,
  what: string,
  running?: RunningCli,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void running?.done.then(() => (ended = true));
  while (!(await ok())) {
    if (ended || Date.now() > deadline)
      throw new Error(`${ended ? 'exited' : 'timed out'} waiting for ${what}:\n${running?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for a run that must succeed; returns its outputs (CLI `--json`, the action's GITHUB_OUTPUT). */
async function finish(entry: Entry, started: Started): Promise<Record<string, string>> {
  const run = await started.running.done;
  const all = `${run.stdout}\n${run.stderr}`;
  expect(run.code, all).toBe(0);
  expect(errorLines(entry, run), all).toEqual([]);
  // The CLI's --json types booleans and numbers; compare both entry points as the action's strings.
  if (entry === 'cli')
    return Object.fromEntries(
      Object.entries(JSON.parse(run.stdout) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
  // GITHUB_OUTPUT holds `name<<DELIMITER`, the value, then `DELIMITER`.
  const text = readFileSync(started.outputFile, 'utf8');
  return Object.fromEntries(
    [...text.matchAll(/^([\w-]+)<<(\S+)\n([^\n]*)\n\2$/gm)].map((m) => [m[1] as string, m[3] as string]),
  );
}

// ---- emulator state ----------------------------------------------------------------------------------

interface Image {
  name: string;
  status: string;
  family?: string;
}

async function publishEmulator(opts: { operationMs?: number } = {}): Promise<Emulator> {
  const emu = await startEmulator({
    dataDir: tempDir('interrupt-emu'),
    operationMs: opts.operationMs ?? 50,
    waitMaxMs: 500,
  });
  await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
  emu.requests.clear();
  return emu;
}

function publishInputs(emu: Emulator, extra: Record<string, string>): Record<string, string> {
  return {
    project: PROJECT,
    bucket: BUCKET,
    family: FAMILY,
    'storage-endpoint': emu.url,
    'compute-endpoint': emu.url,
    ...extra,
  };
}

async function images(emu: Emulator): Promise<Image[]> {
  const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images`);
  return ((await res.json()) as { items?: Image[] }).items ?? [];
}

async function objects(emu: Emulator): Promise<{ name: string; crc32c: string; size: string }[]> {
  const res = await fetch(`${emu.url}/storage/v1/b/${BUCKET}/o`);
  return ((await res.json()) as { items?: { name: string; crc32c: string; size: string }[] }).items ?? [];
}

/** Image inserts in the request log: the duplicate check. */
const imageInserts = (emu: Emulator) =>
  emu.requests.matching(new RegExp(`^POST /compute/v1/projects/${PROJECT}/global/images$`));

/** A prebuilt image tarball of `mib` MiB of random disk (it does not compress). */
function tarball(ws: string, mib: number): { file: string; size: number } {
  const file = join(ws, 'image.raw.tar.gz');
  const bytes = makeImageTarball({ data: randomBytes(mib * 2 ** 20) });
  writeFileSync(file, bytes);
  return { file, size: bytes.length };
}

// ---- the build: a fixture flake whose builder waits for a file ---------------------------------------

/**
 * A builder flake (the fixture's build script) whose derivation first waits for `gate` to exist: the
 * build runs until the test lets it finish. The gate path is on the builder's command line, so a builder
 * left running is easy to find.
 */
function gatedFlake(gate: string): string {
  const dir = workspace(
    {
      'flake.nix': `{
  outputs = { self }: {
    builders.x86_64-linux.gceImage = { extraModules ? [ ] }: builtins.derivation {
      system = "x86_64-linux";
      name = "gated-gce-image";
      builder = "/bin/sh";
      args = [ ./gate.sh "${gate}" ];
      build = ./build.sh;
      member = "disk.raw";
      tarFormat = "gnu";
      sleep = "";
      modules = extraModules;
      efi = "false";
      fail = "";
      PATH = "/usr/bin:/bin";
    };
  };
}
`,
      'gate.sh': `echo "fixture: waiting for $1"\nwhile [ ! -e "$1" ]; do sleep 0.1; done\nexec /bin/sh "$build"\n`,
    },
    { git: true },
  );
  copyFileSync(join(FIXTURE_FLAKE, 'build.sh'), join(dir, 'build.sh'));
  commitAll(dir, '.');
  return dir;
}

/** Processes whose command line holds `needle` (a builder still running). */
function processesWith(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// ---- the roll: guests that keep draining until released ----------------------------------------------

interface HeldGuests {
  /** Instances that were told to drain and report draining. */
  draining(): string[];
  /** Their runners finish: held guests report drained now, later ones shortly after the signal. */
  release(): void;
}

function holdingGuests(emu: Emulator): HeldGuests {
  const held = new Map<string, () => void>();
  let holding = true;
  emu.compute.scriptGuest(
    () => true,
    (event, api) => {
      if (event.type !== 'metadata' || !event.metadata['nix-glab-runner-drain']) return;
      if (!event.changed.includes('nix-glab-runner-drain')) return;
      api.setGuestAttribute('nix-glab-runner/running-jobs', '1');
      api.setGuestAttribute('nix-glab-runner/drain-state', 'draining');
      const drained = () => {
        api.setGuestAttribute('nix-glab-runner/running-jobs', '0');
        api.setGuestAttribute('nix-glab-runner/drain-state', 'drained');
      };
      if (holding) held.set(api.instance, drained);
      else api.after(100, drained);
    },
  );
  return {
    draining: () => [...held.keys()],
    release() {
      holding = false;
      for (const drained of held.values()) drained();
    },
  };
}

interface Group {
  versions: { instanceTemplate: string }[];
  status: { isStable: boolean; versionTarget: { isReached: boolean } };
}

// ---- the table ---------------------------------------------------------------------------------------

describe.concurrent('2. Interruption', () => {
  describe('during build', () => {
    const cases: [Entry, NodeJS.Signals][] = [
      ['cli', 'SIGINT'],
      ['action', 'SIGTERM'],
    ];
    for (const [entry, signal] of cases) {
      it(`${entry}, ${signal}: the Nix build stops, nothing is uploaded or created, the next run builds and publishes`, async () => {
        requireNix();
        const emu = await publishEmulator();
        // Outside any private temporary directory: the builder runs as a Nix build user.
        const gate = join('/tmp', `ngr-gate-${randomBytes(8).toString('hex')}`);
        try {
          const flake = gatedFlake(gate);
          const ws = workspace({});
          const inputs = publishInputs(emu, { flake });
          const env = { NIX_CONFIG: TEST_NIX_CONFIG };

          const first = start(entry, 'publish', inputs, ws, env);
          await first.running.waitForOutput(/fixture: waiting for/);
          const run = await interrupt(first.running, [signal]);
          expectInterrupted(
            entry,
            first,
            run,
            new RegExp(
              `^Interrupted by ${signal} during the Nix build: nothing was uploaded or created; the next run builds again, reusing what Nix finished in /nix/store\\.$`,
            ),
          );
          // Nix stopped its builder, and nothing reached Google.
          await until(() => processesWith(gate).length === 0, 'the builder to stop', undefined, 5_000).catch(
            () => {
              expect(processesWith(gate)).toEqual([]);
            },
          );
          expect(emu.requests.mutating()).toEqual([]);
          expect(await objects(emu)).toEqual([]);
          expect(await images(emu)).toEqual([]);

          writeFileSync(gate, '');
          const second = start(entry, 'publish', inputs, ws, env);
          const outputs = await finish(entry, second);
          expect(outputs.skipped).toBe('false');
          expect(outputs['store-path']).toMatch(/^\/nix\/store\/[0-9a-z]{32}-gated-gce-image$/);
          const made = await images(emu);
          expect(made.map((i) => i.status)).toEqual(['READY']);
          expect(imageInserts(emu)).toHaveLength(1);
          // keep-object is off: the image holds its copy and the object is gone.
          expect(await objects(emu)).toEqual([]);
        } finally {
          rmSync(gate, { force: true });
          await emu.stop();
        }
      });
    }
  });

  describe('during upload', () => {
    const cases: [Entry, NodeJS.Signals[]][] = [
      ['cli', ['SIGINT']],
      ['cli', ['SIGTERM']],
      ['action', ['SIGINT']],
    ];
    for (const [entry, signals] of cases) {
      it(`${entry}, ${signals.join(' then ')}: the PUT is dropped, no object is created, the next run uploads every byte again`, async () => {
        const emu = await publishEmulator();
        try {
          const ws = workspace({});
          const { file, size } = tarball(ws, 24);
          const inputs = publishInputs(emu, { 'image-file': file });
          // The emulator holds the upload's PUT for a minute before reading its body.
          const held = emu.faults.add({
            method: 'PUT',
            path: `^/upload/storage/v1/b/${BUCKET}/o$`,
            count: 1,
            delayMs: 60_000,
          });

          const first = start(entry, 'publish', inputs, ws);
          await until(() => held.hits > 0, 'the upload PUT', first.running);
          await new Promise((r) => setTimeout(r, 300));
          const run = await interrupt(first.running, signals);
          const mib = (size / 2 ** 20).toFixed(1);
          const m = expectInterrupted(
            entry,
            first,
            run,
            new RegExp(
              `^Interrupted by ${signals[0]} during upload: gs://${BUCKET}/(\\S+) was not written; ([\\d.]+) of ${mib.replace('.', '\\.')} MiB were sent to an unfinished resumable session, which is abandoned \\(Google discards it within a week\\); the next run uploads from the start\\.$`,
            ),
          );
          const sentMiB = Number(m[2]);
          expect(sentMiB).toBeGreaterThan(0);
          expect(sentMiB).toBeLessThan(Number(mib));
          // One session was opened and nothing was finalised: no object, no image.
          expect(emu.requests.matching(/^POST \/upload\/storage\/v1\/b\//)).toHaveLength(1);
          expect(await objects(emu)).toEqual([]);
          expect(await images(emu)).toEqual([]);

          emu.requests.clear();
          emu.storage.uploadEvents.length = 0;
          const second = start(entry, 'publish', inputs, ws);
          await finish(entry, second);
          // A clean restart: a new session, every byte sent from 0 in one PUT, no status query to resume.
          const sessions = emu.requests.matching(/^POST \/upload\/storage\/v1\/b\//);
          expect(sessions.map((r) => r.query)).toEqual([expect.stringContaining('uploadType=resumable')]);
          expect(emu.storage.uploadEvents).toEqual([
            expect.objectContaining({
              contentRange: `bytes 0-${size - 1}/${size}`,
              committedBefore: 0,
              bodyBytes: size,
              outcome: 'finalized',
            }),
          ]);
          expect(emu.requests.matching(/^PUT /).filter((r) => !r.mutating)).toEqual([]);
          expect((await images(emu)).map((i) => i.status)).toEqual(['READY']);
          expect(imageInserts(emu)).toHaveLength(1);
          expect(await objects(emu)).toEqual([]);
          expect(m[1]).toMatch(/\.raw\.tar\.gz$/);
        } finally {
          await emu.stop();
        }
      });
    }
  });

  describe('during image insert', () => {
    const cases: [Entry, NodeJS.Signals[]][] = [
      ['cli', ['SIGTERM']],
      ['action', ['SIGINT', 'SIGTERM']],
    ];
    for (const [entry, signals] of cases) {
      it(`${entry}, ${signals.join(' then ')}: the insert goes on in Google Cloud, the next run waits for it and inserts nothing`, async () => {
        // The image stays PENDING for 2.5 s; the emulator holds our first operation wait for a minute.
        const emu = await publishEmulator({ operationMs: 2_500 });
        try {
          const ws = workspace({});
          const { file } = tarball(ws, 1);
          const inputs = publishInputs(emu, { 'image-file': file, 'keep-object': 'true' });
          const held = emu.faults.add({
            method: 'POST',
            path: '/global/operations/[^/]+/wait$',
            count: 1,
            delayMs: 60_000,
          });

          const first = start(entry, 'publish', inputs, ws);
          await until(() => held.hits > 0, 'the operation wait', first.running);
          const run = await interrupt(first.running, signals);
          const m = expectInterrupted(
            entry,
            first,
            run,
            new RegExp(
              `^Interrupted by ${signals[0]} during image insert: the insert of image (\\S+) \\(operation (\\S+)\\) goes on in Google Cloud; gs://${BUCKET}/(\\S+) is kept until the image is READY; the next run waits for the image and creates no duplicate\\.$`,
            ),
          );
          const [, name, operation, object] = m;
          const image = (await images(emu)).find((i) => i.name === name);
          expect(['PENDING', 'READY']).toContain(image?.status);
          const op = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/operations/${operation}`);
          expect(op.status).toBe(200);
          expect(((await op.json()) as { targetLink: string }).targetLink).toMatch(
            new RegExp(`/images/${name}$`),
          );
          expect((await objects(emu)).map((o) => o.name)).toEqual([object]);

          const second = start(entry, 'publish', inputs, ws);
          const outputs = await finish(entry, second);
          expect(outputs).toMatchObject({ 'image-name': name, skipped: 'true' });
          // One insert across both runs, one image, READY, and the one object keep-object keeps.
          expect(imageInserts(emu)).toHaveLength(1);
          expect((await images(emu)).map((i) => [i.name, i.status])).toEqual([[name, 'READY']]);
          expect((await objects(emu)).map((o) => o.name)).toEqual([object]);
          expect(emu.requests.matching(/^POST \/upload\/storage\/v1\/b\//)).toHaveLength(1);
        } finally {
          await emu.stop();
        }
      });
    }
  });

  describe('during roll', () => {
    const cases: [Entry, NodeJS.Signals][] = [
      ['cli', 'SIGINT'],
      ['action', 'SIGTERM'],
    ];
    for (const [entry, signal] of cases) {
      it(`${entry}, ${signal}: the group keeps the new template and its draining instances, the next roll finishes with no second template`, async () => {
        const l: Lab = await lab();
        try {
          const old = await l.publishImage(1);
          const next = await l.publishImage(2);
          l.emu.compute.admin.createTemplate(template('int-tpl', old), { project: PROJECT });
          l.emu.compute.admin.createGroup({
            project: PROJECT,
            zone: ZONE,
            name: 'runners',
            template: 'int-tpl',
            targetSize: 2,
            ready: true,
          });
          const guests = holdingGuests(l.emu);
          const before = (await members(l, `zones/${ZONE}`, 'runners')).map((m) => m.name);
          const since = Date.now();
          l.emu.requests.clear();
          const inputs = {
            project: PROJECT,
            family: FAMILY,
            'compute-endpoint': l.emu.url,
            'instance-group': `zones/${ZONE}/instanceGroupManagers/runners`,
            image: next,
            'max-unavailable': '2',
          };

          const first = start(entry, 'roll', inputs, l.ws);
          await until(() => guests.draining().length === 2, 'both guests to drain', first.running);
          await first.running.waitForOutput(/Draining[^\n]*\n[\s\S]*Draining /);
          const run = await interrupt(first.running, [signal]);
          const group = `projects/${PROJECT}/zones/${ZONE}/instanceGroupManagers/runners`;
          const m = expectInterrupted(
            entry,
            first,
            run,
            new RegExp(
              `^Interrupted by ${signal} during roll: group ${group} targets template (int-tpl-ngr-[0-9a-f]+); 0 of 2 instances run it; being drained: (\\S+), (\\S+); the next roll of image ${next} continues, keeping their drain deadlines\\.$`,
            ),
          );
          const [, target, a, b] = m;
          expect([a, b].sort()).toEqual([...before].sort());
          // The group targets the new template; no instance was replaced; both carry the drain deadline.
          const g = await l.get<Group>(`zones/${ZONE}/instanceGroupManagers/runners`);
          expect(last(g.versions[0]?.instanceTemplate ?? '')).toBe(target);
          expect((await members(l, `zones/${ZONE}`, 'runners')).map((x) => x.name).sort()).toEqual(
            [...before].sort(),
          );
          const templateInserts = () =>
            l.emu.requests.matching(
              new RegExp(`^POST /compute/v1/projects/${PROJECT}/global/instanceTemplates$`),
            );
          expect(templateInserts()).toHaveLength(1);

          guests.release();
          const second = start(entry, 'roll', inputs, l.ws);
          await finish(entry, second);
          const done = await l.get<Group>(`zones/${ZONE}/instanceGroupManagers/runners`);
          expect(done.status).toMatchObject({ isStable: true, versionTarget: { isReached: true } });
          expect(last(done.versions[0]?.instanceTemplate ?? '')).toBe(target);
          const now = await members(l, `zones/${ZONE}`, 'runners');
          expect(now).toHaveLength(2);
          for (const x of now) expect(last(x.version.instanceTemplate)).toBe(target);
          // No second template, and no instance replaced before its runner drained.
          expect(templateInserts()).toHaveLength(1);
          expect(replacementsBeforeDrain(l.emu, before, since)).toEqual([]);
        } finally {
          await l.stop();
        }
      });
    }
  });
});
