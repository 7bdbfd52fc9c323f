/**
 * Issue 7, section 1: 429/500/503 storms on every call type. The call types are derived from the emulator's
 * request log of a clean run of each command (publish from a prebuilt tarball, roll onto a new image, prune
 * with retention delete, rollback of a rolled group), resource names normalised out of the paths; an
 * operation wait is typed by the call whose operation it waits for. Each call type is stormed under the
 * first command that makes it, at its first occurrence there, in two cases, each on its own emulator:
 *
 * - transient: a 429, a 500 and a 503 on that call only. The command succeeds (publish through the bundled
 *   CLI, the others in-process, which polls faster), the end state equals the clean run's, and the log shows
 *   the faulted attempts followed by a real answer.
 * - past the deadline: every answer 503 (429 for every other case) with `retry-deadline` 5s, through the
 *   bundled CLI. Exit 4, one `error:` line naming the call with Google's message and the give-up, no stack
 *   trace, ended within the deadline plus a generous margin. Nothing is half-done: a storm before the first
 *   change leaves everything as it was, a publish leaves what PUBLISH_LEAVES says, what the message claims
 *   about the group holds, and the rerun it asks for (the same command, or "roll" after a rollback
 *   deprecated its image) reaches the clean run's end state with nothing duplicated.
 *
 * The scenarios run concurrently in beforeAll; each `it` asserts on its own result.
 */
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { runCommand } from '../../src/lifecycle/commands.ts';
import { recordingReporter } from '../../src/report/events.ts';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import type { LoggedRequest } from '../emulator/request-log.ts';
import { type CliRun, errorLine, runCli } from '../helpers/cli.ts';
import { drainingGuests } from '../lifecycle/guests.ts';
import { BUCKET, FAMILY, last, PROJECT, template, ZONE } from '../lifecycle/helpers.ts';
import { tempDir } from '../nix-stage/helpers.ts';

type Command = 'publish' | 'roll' | 'prune' | 'rollback';
const COMMANDS: Command[] = ['publish', 'roll', 'prune', 'rollback'];
const DEADLINE_S = 5;
const GROUP = `zones/${ZONE}/instanceGroupManagers/runners`;
const GOOGLE_MESSAGE: Record<number, string> = {
  429: 'Rate Limit Exceeded (injected fault).',
  503: 'Service Unavailable: Backend Error (injected fault).',
};

// ---------------------------------------------------------------------------------------------------------
// Call types

/** Collections whose next path segment is a resource name. */
const NAMED: Record<string, string> = {
  projects: 'p',
  b: 'b',
  o: 'o',
  images: 'i',
  family: 'f',
  operations: 'op',
  zones: 'z',
  regions: 'r',
  instanceGroupManagers: 'g',
  instanceTemplates: 't',
  instances: 'vm',
  disks: 'd',
};

/** `POST /compute/v1/projects/lc-project/global/images` → `POST /compute/v1/projects/{p}/global/images`. */
function callType(e: Pick<LoggedRequest, 'method' | 'path'>): string {
  const parts = e.path.split('/');
  for (let i = 0; i < parts.length - 1; i++) {
    const key = NAMED[parts[i] as string];
    if (!key || (parts[i] === 'images' && parts[i + 1] === 'family')) continue;
    parts[i + 1] = `{${key}}`;
    i++;
  }
  return `${e.method} ${parts.join('/')}`;
}

/** The fault rule's path expression for a call type. */
function pathPattern(type: string): { method: string; path: string } {
  const [method, path] = type.split(' ') as [string, string];
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[a-z]+\}/g, '[^/]+');
  return { method, path: `^${escaped}$` };
}

function waitFor(scope: string, mutation: string): string {
  return `POST /compute/v1/projects/{p}/${scope}/operations/{op}/wait (for ${mutation})`;
}

/** What each call type's error names. */
const WHAT: Record<string, RegExp> = {
  'GET /storage/v1/b/{b}': /^checking bucket "lc-images"/,
  'GET /storage/v1/b/{b}/o/{o}': /^reading gs:\/\/lc-images\/\S+\.raw\.tar\.gz/,
  'POST /upload/storage/v1/b/{b}/o': /^starting the upload to gs:\/\/lc-images\//,
  'PUT /upload/storage/v1/b/{b}/o': /^uploading to gs:\/\/lc-images\//,
  'DELETE /storage/v1/b/{b}/o/{o}': /^deleting gs:\/\/lc-images\//,
  'GET /compute/v1/projects/{p}': /^reading the metadata of project "lc-project"/,
  'GET /compute/v1/projects/{p}/global/images': /^(looking up|listing the) images of family "lc-runners"/,
  'GET /compute/v1/projects/{p}/global/images/{i}': /^reading image "lc-runners-\w+"/,
  'POST /compute/v1/projects/{p}/global/images': /^creating image "lc-runners-\w+"/,
  'DELETE /compute/v1/projects/{p}/global/images/{i}': /^deleting image "lc-runners-\w+"/,
  'POST /compute/v1/projects/{p}/global/images/{i}/deprecate': /^deprecating image "lc-runners-\w+"/,
  'GET /compute/v1/projects/{p}/global/images/family/{f}': /^reading the newest image of family "lc-runners"/,
  [waitFor('global', 'POST /compute/v1/projects/{p}/global/images')]:
    /^creating image "lc-runners-\w+": waiting for operation operation-/,
  [waitFor('global', 'POST /compute/v1/projects/{p}/global/instanceTemplates')]:
    /^creating instance template "runner-tpl-ngr-\w+": waiting for operation operation-/,
  [waitFor('global', 'DELETE /compute/v1/projects/{p}/global/images/{i}')]:
    /^deleting image "lc-runners-\w+": waiting for operation operation-/,
  [waitFor('global', 'POST /compute/v1/projects/{p}/global/images/{i}/deprecate')]:
    /^deprecating image "lc-runners-\w+": waiting for operation operation-/,
  'POST /compute/v1/projects/{p}/global/images/{i}/setLabels':
    /^setting the labels of image "lc-runners-\w+"/,
  [waitFor('global', 'POST /compute/v1/projects/{p}/global/images/{i}/setLabels')]:
    /^setting the labels of image "lc-runners-\w+": waiting for operation operation-/,
  'DELETE /compute/v1/projects/{p}/global/instanceTemplates/{t}':
    /^deleting instance template "projects\/lc-project\/global\/instanceTemplates\/runner-tpl-ngr-\w+"/,
  [waitFor('global', 'DELETE /compute/v1/projects/{p}/global/instanceTemplates/{t}')]:
    /^deleting instance template "projects\/lc-project\/global\/instanceTemplates\/runner-tpl-ngr-\w+": waiting for operation operation-/,
  'GET /compute/v1/projects/{p}/aggregated/instanceGroupManagers':
    /^listing the instance groups of project "lc-project"/,
  [waitFor('zones/{z}', 'PATCH /compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/{g}')]:
    /^updating instance group "projects\/lc-project\/zones\/[^"]+": waiting for operation operation-/,
  [waitFor('zones/{z}', 'POST /compute/v1/projects/{p}/zones/{z}/instances/{vm}/setMetadata')]:
    /^setting metadata of instance "runners-\w+" in us-central1-a: waiting for operation operation-/,
  [waitFor(
    'zones/{z}',
    'POST /compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/{g}/applyUpdatesToInstances',
  )]: /^replacing runners-\w+(, runners-\w+)* in group "[^"]+": waiting for operation operation-/,
  'GET /compute/v1/projects/{p}/global/instanceTemplates/{t}': /^reading instance template "projects\//,
  'POST /compute/v1/projects/{p}/global/instanceTemplates': /^creating instance template "runner-tpl-ngr-/,
  'GET /compute/v1/projects/{p}/aggregated/instanceTemplates': /^listing the instance templates of project/,
  'GET /compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/{g}':
    /^reading instance group "projects\/lc-project\/zones\//,
  'PATCH /compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/{g}':
    /^updating instance group "projects\/lc-project\/zones\//,
  'POST /compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/{g}/listManagedInstances':
    /^listing the instances of group "projects\/lc-project\/zones\//,
  'POST /compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/{g}/applyUpdatesToInstances':
    /^replacing runners-\w+(, runners-\w+)* in group "projects\/lc-project\/zones\//,
  'GET /compute/v1/projects/{p}/zones/{z}/instances/{vm}': /^reading instance "runners-\w+" in us-central1-a/,
  'POST /compute/v1/projects/{p}/zones/{z}/instances/{vm}/setMetadata':
    /^setting metadata of instance "runners-/,
  'GET /compute/v1/projects/{p}/zones/{z}/instances/{vm}/getGuestAttributes':
    /^reading guest attributes of instance "runners-/,
  'GET /compute/v1/projects/{p}/zones/{z}/disks/{d}': /^reading disk "runners-\w+" in us-central1-a/,
};

/**
 * What a publish that gave up leaves, by the call that failed: nothing before the object is stored; the
 * object alone until the image insert was accepted; then the image too, its operation going on without us.
 */
const PUBLISH_LEAVES: Record<string, { object: boolean; image: boolean }> = {
  'GET /storage/v1/b/{b}': { object: false, image: false },
  'GET /compute/v1/projects/{p}/global/images': { object: false, image: false },
  'GET /storage/v1/b/{b}/o/{o}': { object: false, image: false },
  'POST /upload/storage/v1/b/{b}/o': { object: false, image: false },
  'PUT /upload/storage/v1/b/{b}/o': { object: false, image: false },
  // The image name is read before the upload (who holds it), so a storm there stops the run first.
  'GET /compute/v1/projects/{p}/global/images/{i}': { object: false, image: false },
  'POST /compute/v1/projects/{p}/global/images': { object: true, image: false },
  [waitFor('global', 'POST /compute/v1/projects/{p}/global/images')]: { object: true, image: true },
  'DELETE /storage/v1/b/{b}/o/{o}': { object: true, image: true },
};

// ---------------------------------------------------------------------------------------------------------
// Scenarios: each command's starting point is built once, without faults; every case starts its own
// emulator on a copy of that data directory (the emulator keeps its state there across restarts).

interface Base {
  command: Command;
  dataDir: string;
  ws: string;
  /** Inputs of the command under test, beyond project, family and endpoints. */
  inputs: Record<string, string>;
  /** Image names are file hashes: the end state calls the starting images img1, img2… */
  aliases: Map<string, string>;
}

interface Scenario extends Base {
  emu: Emulator;
  stopGuests: () => void;
}

const ROLLING = { 'instance-group': GROUP, 'max-unavailable': '2' };
const EMULATOR_TIMINGS = { operationMs: 20, waitMaxMs: 200, instanceStepMs: 40 };
/** How often an in-process roll polls; the CLI's rolls poll every 5 s. */
const POLL_MS = 100;

async function start(dataDir: string): Promise<{ emu: Emulator; stopGuests: () => void }> {
  const emu = await startEmulator({ dataDir, ...EMULATOR_TIMINGS });
  return { emu, stopGuests: drainingGuests(emu, { drainMs: 100 }) };
}

/** Runs a command in-process as the CLI would, polling every POLL_MS; resolves with its error, if any. */
async function inProcess(
  emu: Emulator,
  ws: string,
  command: Command,
  inputs: Record<string, string>,
): Promise<Error | undefined> {
  try {
    const config = parseConfig(
      {
        project: PROJECT,
        family: FAMILY,
        'compute-endpoint': emu.url,
        'storage-endpoint': emu.url,
        ...inputs,
      },
      { workspace: ws, ci: false, command },
    );
    await runCommand(config, recordingReporter(), { env: {}, pollMs: POLL_MS });
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

async function buildBase(command: Command): Promise<Base> {
  const dataDir = tempDir('storms-base');
  const ws = tempDir('storms-ws');
  const { emu, stopGuests } = await start(dataDir);
  try {
    emu.storage.createBucket(BUCKET, PROJECT);
    const aliases = new Map<string, string>();
    const publish = async (n: number, extra: Record<string, string> = {}) => {
      const file = join(ws, `image-${n}.raw.tar.gz`);
      writeFileSync(file, makeImageTarball({ data: Buffer.alloc(4096, n) }));
      const before = new Set((await imagesOf(emu)).map((i) => i.name));
      const err = await inProcess(emu, ws, 'publish', {
        bucket: BUCKET,
        'image-file': file,
        keep: '10',
        ...extra,
      });
      if (err) throw err;
      for (const i of await imagesOf(emu)) if (!before.has(i.name)) aliases.set(i.name, `img${n}`);
    };
    if (command === 'publish') {
      const file = join(ws, 'storm.raw.tar.gz');
      writeFileSync(file, makeImageTarball({ data: Buffer.alloc(4096, 7) }));
      return { command, dataDir, ws, aliases, inputs: { bucket: BUCKET, 'image-file': file } };
    }
    await publish(1);
    const first = [...aliases.keys()][0] as string;
    emu.compute.admin.createTemplate(template('runner-tpl', first), { project: PROJECT });
    emu.compute.admin.createGroup({
      project: PROJECT,
      zone: ZONE,
      name: 'runners',
      template: 'runner-tpl',
      targetSize: command === 'prune' ? 1 : 2,
      ready: true,
    });
    if (command === 'roll') {
      await publish(2);
      return { command, dataDir, ws, aliases, inputs: ROLLING };
    }
    if (command === 'prune') {
      for (const n of [2, 3, 4]) await publish(n);
      const inputs = { keep: '1', retention: 'delete', 'instance-group': GROUP };
      return { command, dataDir, ws, aliases, inputs };
    }
    await publish(2, { roll: 'mig', ...ROLLING });
    return { command, dataDir, ws, aliases, inputs: ROLLING };
  } finally {
    stopGuests();
    await emu.stop();
  }
}

async function scenario(base: Base): Promise<Scenario> {
  const dataDir = tempDir('storms-case');
  cpSync(base.dataDir, dataDir, { recursive: true });
  return { ...base, dataDir, ...(await start(dataDir)) };
}

async function stop(s: Scenario): Promise<void> {
  s.stopGuests();
  await s.emu.stop();
  rmSync(s.dataDir, { recursive: true, force: true });
}

/** The command through the bundled CLI, as a user runs it. */
async function throughCli(s: Scenario, command: Command, inputs: Record<string, string>, deadline?: number) {
  const target = {
    project: PROJECT,
    family: FAMILY,
    'compute-endpoint': s.emu.url,
    ...(command === 'publish' ? { 'storage-endpoint': s.emu.url } : {}),
    ...(deadline ? { 'retry-deadline': String(deadline) } : {}),
    ...inputs,
  };
  const args = [command, '--json', ...Object.entries(target).flatMap(([k, v]) => [`--${k}`, v])];
  const run = await runCli(args, { cwd: s.ws, timeoutMs: 90_000 });
  return { ...run, exitedAt: Date.now() };
}

// ---------------------------------------------------------------------------------------------------------
// End state

interface EndState {
  images: string[];
  objects: string[];
  templates: string[];
  /** The template the group targets and each member's, as `name→image`. */
  group?: { targets: string; members: string[] };
}

interface ImageView {
  name: string;
  status: string;
  family?: string;
  labels?: Record<string, string>;
  deprecated?: { state?: string };
}
type TemplateView = { name: string; properties: { disks: { initializeParams: { sourceImage: string } }[] } };

async function compute<T>(emu: Emulator, path: string, method = 'GET'): Promise<T | undefined> {
  const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/${path}`, { method });
  return res.status === 404 ? undefined : ((await res.json()) as T);
}

async function imagesOf(emu: Emulator): Promise<ImageView[]> {
  const list = await compute<{ items?: ImageView[] }>(emu, 'global/images');
  return (list?.items ?? []).filter((i) => i.family === FAMILY);
}

/** The real name of the template the group targets, to check what a message says about it. */
async function groupTemplate(emu: Emulator): Promise<string | undefined> {
  const group = await compute<{ versions: { instanceTemplate: string }[] }>(emu, GROUP);
  return group && last(group.versions[0]?.instanceTemplate ?? '');
}

/** Images by alias (`new` for one the command made); templates as `name→image`, `-ngr` for ours. */
async function endState(s: Scenario): Promise<EndState> {
  const alias = (image: string) => s.aliases.get(image) ?? 'new';
  const images = (await imagesOf(s.emu))
    .map((i) => {
      const hash = i.labels?.['nix-hash'] === i.name.slice(FAMILY.length + 1) ? 'ok' : 'wrong';
      return `${alias(i.name)} ${i.status} ${i.deprecated?.state ?? 'ACTIVE'} managed-by=${i.labels?.['managed-by']} nix-hash=${hash}`;
    })
    .sort();
  const listed = await fetch(`${s.emu.url}/storage/v1/b/${BUCKET}/o`);
  const objects = (((await listed.json()) as { items?: { name: string }[] }).items ?? []).map((o) => o.name);
  const templates =
    (await compute<{ items?: TemplateView[] }>(s.emu, 'global/instanceTemplates'))?.items ?? [];
  const bootOf = (ref: string) => {
    const t = templates.find((x) => x.name === last(ref));
    const name = last(ref).replace(/-ngr-[0-9a-f]{10}$/, '-ngr');
    return `${name}→${alias(last(t?.properties.disks[0]?.initializeParams.sourceImage ?? '?'))}`;
  };
  const state: EndState = {
    images,
    objects: objects.sort(),
    templates: templates.map((t) => bootOf(t.name)).sort(),
  };
  const targets = await groupTemplate(s.emu);
  if (targets) {
    type Members = { managedInstances?: { version: { instanceTemplate: string } }[] };
    const listedMembers = await compute<Members>(s.emu, `${GROUP}/listManagedInstances`, 'POST');
    state.group = {
      targets: bootOf(targets),
      members: (listedMembers?.managedInstances ?? []).map((m) => bootOf(m.version.instanceTemplate)).sort(),
    };
  }
  return state;
}

// ---------------------------------------------------------------------------------------------------------
// Call types, from the clean runs

/** An operation wait is typed by the call whose operation it waits for: `… /wait (for POST …/images)`. */
function typesOf(log: readonly LoggedRequest[]): string[] {
  const purpose = new Map<string, string>();
  let lastMutation = '';
  return log.map((e) => {
    const type = callType(e);
    const op = /\/operations\/([^/]+)\/wait$/.exec(e.path)?.[1];
    if (!op) {
      if (e.mutating) lastMutation = type;
      return type;
    }
    if (!purpose.has(op)) purpose.set(op, lastMutation);
    return `${type} (for ${purpose.get(op)})`;
  });
}

const baseType = (type: string) => type.replace(/ \(for .*\)$/, '');

interface Case {
  command: Command;
  type: string;
  /** How many requests of the same path come first in a clean run: the fault lets them through. */
  skip: number;
}

interface Clean {
  log: LoggedRequest[];
  types: string[];
  state: EndState;
}

async function cleanRun(base: Base): Promise<Clean> {
  const s = await scenario(base);
  try {
    s.emu.requests.clear();
    const err = await inProcess(s.emu, s.ws, s.command, s.inputs);
    if (err) throw err;
    const log = [...s.emu.requests.entries];
    return { log, types: typesOf(log), state: await endState(s) };
  } finally {
    await stop(s);
  }
}

const bases = Object.fromEntries(
  await Promise.all(COMMANDS.map(async (c) => [c, await buildBase(c)] as const)),
) as Record<Command, Base>;
const clean = Object.fromEntries(
  await Promise.all(COMMANDS.map(async (c) => [c, await cleanRun(bases[c])] as const)),
) as Record<Command, Clean>;

/** Every call type once, under the first command that makes it. */
const cases: Case[] = [];
for (const command of COMMANDS) {
  const { types } = clean[command];
  types.forEach((type, i) => {
    if (cases.some((c) => c.type === type)) return;
    const skip = types.slice(0, i).filter((t) => baseType(t) === baseType(type)).length;
    cases.push({ command, type, skip });
  });
}
const label = (c: Case) => `${c.command}: ${c.type}`;

// ---------------------------------------------------------------------------------------------------------
// The storms

interface TransientResult {
  error?: Error;
  cli?: CliRun;
  state: EndState;
  /** The log entries on the faulted path, from the first one the faults were aimed at. */
  entries: LoggedRequest[];
}

async function transientStorm(c: Case): Promise<TransientResult> {
  const s = await scenario(bases[c.command]);
  try {
    s.emu.requests.clear();
    const target = pathPattern(baseType(c.type));
    for (const status of [429, 500, 503]) s.emu.faults.add({ ...target, skip: c.skip, status, count: 1 });
    // Publish through the CLI, whole pipeline and exit code; the lifecycle commands in-process, which
    // polls faster than the CLI's rolls.
    let error: Error | undefined;
    let cli: CliRun | undefined;
    if (c.command === 'publish') cli = await throughCli(s, c.command, s.inputs);
    else error = await inProcess(s.emu, s.ws, c.command, s.inputs);
    const entries = s.emu.requests.entries.filter((e) => callType(e) === baseType(c.type)).slice(c.skip);
    return { error, cli, entries, state: await endState(s) };
  } finally {
    await stop(s);
  }
}

interface PersistentResult {
  status: number;
  run: CliRun & { exitedAt: number };
  /** The end state before the run, once it failed, and the real name of the template the group targets then. */
  before: EndState;
  after: EndState;
  groupTemplate?: string;
  entries: LoggedRequest[];
  rerunLog: LoggedRequest[];
  rerun: { command: Command; inputs: Record<string, string>; error?: Error };
  rerunState: EndState;
}

async function persistentStorm(c: Case, status: number): Promise<PersistentResult> {
  const s = await scenario(bases[c.command]);
  try {
    const before = await endState(s);
    s.emu.requests.clear();
    s.emu.faults.add({ ...pathPattern(baseType(c.type)), skip: c.skip, status });
    const run = await throughCli(s, c.command, s.inputs, DEADLINE_S);
    const entries = s.emu.requests.entries.filter((e) => callType(e) === baseType(c.type)).slice(c.skip);
    s.emu.faults.clear();
    // Whatever Google accepted before the storm (an operation, a replacement) goes on and finishes.
    await new Promise((r) => setTimeout(r, 500));
    const after = await endState(s);
    const targets = await groupTemplate(s.emu);
    // The rerun the message asks for: "roll" onto the image it names, else the same command again.
    const asked = /run "roll" to move the group onto (\S+?)\)/.exec(run.stderr);
    const rerun: PersistentResult['rerun'] = asked
      ? { command: 'roll', inputs: { ...s.inputs, image: asked[1] as string } }
      : { command: c.command, inputs: s.inputs };
    s.emu.requests.clear();
    rerun.error = await inProcess(s.emu, s.ws, rerun.command, rerun.inputs);
    const rerunLog = [...s.emu.requests.entries];
    const rerunState = await endState(s);
    return { status, run, before, after, groupTemplate: targets, entries, rerun, rerunLog, rerunState };
  } finally {
    await stop(s);
  }
}

type Settled<T> = Promise<T | { failed: unknown }>;

/** Runs `make` for every case, at most `limit` at a time; a failure is kept for its case to report. */
function runAll<T>(limit: number, make: (c: Case, i: number) => Promise<T>): Map<string, Settled<T>> {
  const out = new Map<string, Settled<T>>();
  let free = limit;
  const waiting: (() => void)[] = [];
  const acquire = () => new Promise<void>((go) => (free-- > 0 ? go() : waiting.push(go)));
  const release = () => {
    free++;
    waiting.shift()?.();
  };
  cases.forEach((c, i) => {
    const settled = acquire().then(() =>
      make(c, i)
        .catch((failed: unknown) => ({ failed }))
        .finally(release),
    );
    out.set(label(c), settled);
  });
  return out;
}

async function resultOf<T>(map: Map<string, Settled<T>>, key: string): Promise<T> {
  const r = await map.get(key);
  if (r && typeof r === 'object' && 'failed' in r) throw r.failed;
  return r as T;
}

// ---------------------------------------------------------------------------------------------------------

describe('1. Fault matrix', () => {
  let transient: Map<string, Settled<TransientResult>>;
  let persistent: Map<string, Settled<PersistentResult>>;

  beforeAll(() => {
    // Storms past the deadline mostly wait out backoffs; they all start at once and overlap the rest.
    persistent = runAll(16, (c, i) => persistentStorm(c, i % 2 ? 429 : 503));
    transient = runAll(6, (c) => transientStorm(c));
  });
  afterAll(async () => {
    await Promise.all([...(transient?.values() ?? []), ...(persistent?.values() ?? [])]);
    for (const base of Object.values(bases)) rmSync(base.dataDir, { recursive: true, force: true });
  });

  describe('429/500/503 storms: transient', () => {
    it('the clean runs of publish, roll, prune and rollback make every kind of call we retry', () => {
      const types = cases.map((c) => c.type);
      // Every call type has a known description; a new one fails here until the table names it.
      expect(types.filter((t) => !WHAT[t])).toEqual([]);
      expect(types.sort()).toEqual(Object.keys(WHAT).sort());
      expect(clean.publish.types).toEqual(
        expect.arrayContaining([
          'GET /storage/v1/b/{b}',
          'GET /storage/v1/b/{b}/o/{o}',
          'POST /upload/storage/v1/b/{b}/o',
          'PUT /upload/storage/v1/b/{b}/o',
          'DELETE /storage/v1/b/{b}/o/{o}',
          'POST /compute/v1/projects/{p}/global/images',
          'POST /compute/v1/projects/{p}/global/operations/{op}/wait (for POST /compute/v1/projects/{p}/global/images)',
        ]),
      );
      // Each case's faults land on its call: the request they let through first is of another kind.
      for (const c of cases.filter((x) => x.skip > 0)) {
        const onPath = typesOf(clean[c.command].log).filter((t) => baseType(t) === baseType(c.type));
        expect(onPath[c.skip], label(c)).toBe(c.type);
      }
    });

    for (const c of cases) {
      it(label(c), async () => {
        const r = await resultOf(transient, label(c));
        if (r.cli) {
          expect(r.cli.stderr).not.toMatch(/^error:/m);
          expect(r.cli.code, r.cli.stderr).toBe(0);
        }
        expect(r.error).toBeUndefined();
        expect(r.state).toEqual(clean[c.command].state);
        // The three faulted answers, in order, then a real one on the same call.
        expect(r.entries.slice(0, 3).map((e) => [e.status, Boolean(e.fault)])).toEqual([
          [429, true],
          [500, true],
          [503, true],
        ]);
        const answer = r.entries[3];
        expect(answer?.fault).toBeUndefined();
        expect(answer?.status).toBeLessThan(429);
      });
    }
  });

  describe('429/500/503 storms: past the deadline', () => {
    for (const c of cases) {
      it(label(c), async () => {
        const r = await resultOf(persistent, label(c));
        const { run } = r;
        expect(run.code, run.stderr).toBe(4);
        const message = errorLine(run.stderr);
        expect(run.stderr).not.toMatch(/^\s+at /m);
        expect(message).toMatch(WHAT[c.type] as RegExp);
        const google = (GOOGLE_MESSAGE[r.status] as string).replace(/[.()]/g, '\\$&');
        const gaveUp = new RegExp(
          ` failed: ${google} \\(gave up after (\\d+) attempts over (\\d+\\.\\d)s\\)`,
        ).exec(message);
        expect(gaveUp, message).not.toBeNull();
        // It used the whole deadline, and stopped soon after it.
        expect(Number(gaveUp?.[2])).toBeGreaterThanOrEqual(DEADLINE_S);
        expect(Number(gaveUp?.[2])).toBeLessThan(DEADLINE_S + 10);
        // From the first faulted answer to the exit (the CLI's start-up, slow with dozens at once, aside).
        const firstFault = Date.parse(r.entries[0]?.time ?? '');
        expect(run.exitedAt - firstFault).toBeLessThan((DEADLINE_S + 20) * 1000);
        // Every answer on the call was the fault: nothing got through, and it was tried again and again.
        expect(r.entries.length).toBeGreaterThanOrEqual(Number(gaveUp?.[1]));
        expect(r.entries.every((e) => e.fault && e.status === r.status)).toBe(true);

        // A storm before the command's first change leaves everything as it was.
        const { log, types } = clean[c.command];
        const at = types.indexOf(c.type);
        if (!log.slice(0, at).some((e) => e.mutating)) expect(r.after).toEqual(r.before);
        const publishLeft = PUBLISH_LEAVES[c.type];
        if (c.command === 'publish') {
          expect(publishLeft, `PUBLISH_LEAVES names no end state for ${c.type}`).toBeDefined();
          expect(r.after.images).toEqual(
            publishLeft?.image ? ['new READY ACTIVE managed-by=nix-glab-runner nix-hash=ok'] : [],
          );
          expect(r.after.objects).toHaveLength(publishLeft?.object ? 1 : 0);
          // A rerun reuses what is there: no byte sent twice, no second image made.
          const rerunCalls = r.rerunLog.map(callType);
          if (publishLeft?.object) expect(rerunCalls).not.toContain('PUT /upload/storage/v1/b/{b}/o');
          if (publishLeft?.image)
            expect(rerunCalls).not.toContain('POST /compute/v1/projects/{p}/global/images');
        }
        // What the message says about the group holds.
        const unchanged = /group (\S+) is unchanged on template (\S+?)[;.)]/.exec(message);
        if (unchanged) expect(r.groupTemplate).toBe(unchanged[2]);
        const targets = /group (\S+) targets template (\S+?)[ ;.)]/.exec(message);
        if (targets) expect(r.groupTemplate).toBe(targets[2]);
        // Nothing half-done: the rerun converges on the clean run's end state, nothing duplicated.
        expect(r.rerun.error).toBeUndefined();
        expect(r.rerunState).toEqual(clean[c.command].state);
      });
    }
  });
});
