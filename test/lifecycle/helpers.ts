/**
 * Shared setup for the lifecycle tests: an emulator with a bucket, images published through the real
 * publish command from small prebuilt tarballs (no Nix), and groups made with the emulator's admin API.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { type Command, parseConfig } from '../../src/config.ts';
import { type CommandResult, runCommand } from '../../src/lifecycle/commands.ts';
import { recordingReporter } from '../../src/report/events.ts';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { tempDir } from '../nix-stage/helpers.ts';
import { drainingGuests } from './guests.ts';

export const PROJECT = 'lc-project';
export const BUCKET = 'lc-images';
export const FAMILY = 'lc-runners';
export const ZONE = 'us-central1-a';
export const REGION = 'us-central1';

export interface Image {
  name: string;
  status: string;
  family?: string;
  selfLink: string;
  labels?: Record<string, string>;
  creationTimestamp: string;
  deprecated?: { state?: string; replacement?: string };
}

export interface Lab {
  emu: Emulator;
  ws: string;
  /** Runs a command in-process, as the CLI would, with fast polling. */
  run(command: Command, raw?: Record<string, string>): Promise<CommandResult & { lines: string[] }>;
  /** Publishes a distinct tarball (seeded by `n`) and returns the image name. */
  publishImage(n: number, raw?: Record<string, string>): Promise<string>;
  /** The same, returning the whole result. */
  publish(n: number, raw?: Record<string, string>): Promise<CommandResult & { lines: string[] }>;
  images(): Promise<Image[]>;
  fromFamily(): Promise<Image | undefined>;
  get<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export async function lab(opts: { instanceStepMs?: number } = {}): Promise<Lab> {
  const emu = await startEmulator({
    dataDir: tempDir('lifecycle-emu'),
    operationMs: 20,
    waitMaxMs: 200,
    instanceStepMs: opts.instanceStepMs ?? 40,
  });
  await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
  const ws = tempDir('lifecycle-ws');
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/${path}`);
    return (res.status === 404 ? undefined : await res.json()) as T;
  };
  const run: Lab['run'] = async (command, raw = {}) => {
    const config = parseConfig(
      { project: PROJECT, family: FAMILY, 'compute-endpoint': emu.url, 'storage-endpoint': emu.url, ...raw },
      { workspace: ws, ci: false, command },
    );
    const reporter = recordingReporter();
    try {
      const result = await runCommand(config, reporter, { env: {}, pollMs: 25 });
      return { ...result, lines: reporter.lines };
    } catch (err) {
      if (err instanceof Error) Object.assign(err, { lines: reporter.lines });
      throw err;
    }
  };
  const publish: Lab['publish'] = (n, raw = {}) => {
    const file = join(ws, `image-${n}.raw.tar.gz`);
    writeFileSync(file, makeImageTarball({ data: Buffer.alloc(4096, n) }));
    return run('publish', { bucket: BUCKET, 'image-file': file, ...raw });
  };
  return {
    emu,
    ws,
    run,
    publish,
    async publishImage(n, raw = {}) {
      return (await publish(n, raw)).outputs['image-name'] as string;
    },
    async images() {
      const list = await get<{ items?: Image[] }>('global/images');
      return (list.items ?? []).filter((i) => i.family === FAMILY);
    },
    fromFamily: () => get<Image | undefined>(`global/images/family/${FAMILY}`),
    get,
    stop: () => emu.stop(),
  };
}

/** A minimal template booting `image`, created directly in the emulator. */
export function template(
  name: string,
  image: string,
  opts: { guestAttributes?: boolean; scope?: string } = {},
) {
  return {
    name,
    properties: {
      machineType: 'e2-small',
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: { sourceImage: `projects/${PROJECT}/global/images/${image}` },
        },
      ],
      metadata: {
        items: opts.guestAttributes === false ? [] : [{ key: 'enable-guest-attributes', value: 'TRUE' }],
      },
      labels: { role: 'runner' },
      serviceAccounts: [
        {
          email: 'runner@lc-project.iam.gserviceaccount.com',
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        },
      ],
    },
  };
}

type Member = { name: string; version: { instanceTemplate: string } };

/** The group's members as listManagedInstances reports them. */
export async function members(l: Lab, scope: string, group: string): Promise<Member[]> {
  const res = await fetch(
    `${l.emu.url}/compute/v1/projects/${PROJECT}/${scope}/instanceGroupManagers/${group}/listManagedInstances`,
    { method: 'POST' },
  );
  return ((await res.json()) as { managedInstances?: Member[] }).managedInstances ?? [];
}

/** The last part of a resource URL: its name. */
export const last = (url: string) => url.slice(url.lastIndexOf('/') + 1);
/** A group as the instance-group input names it. */
export const groupInput = (name: string) => `zones/${ZONE}/instanceGroupManagers/${name}`;
/** A group's full resource path, as messages name it. */
export const groupPath = (name: string) => `projects/${PROJECT}/${groupInput(name)}`;
/** The flags every lifecycle command of the CLI needs to reach the lab's emulator. */
export const cliTarget = (l: Lab) => [
  '--project',
  PROJECT,
  '--family',
  FAMILY,
  '--compute-endpoint',
  l.emu.url,
];

/**
 * An emulator of the test's own, so cases run side by side: `images` published oldest first, and runner
 * guests that report drained `drainMs` after a drain is signalled. Stopped when the test ends.
 */
export async function bench(
  onTestFinished: (fn: () => Promise<void>) => void,
  opts: { images: number; drainMs?: number; instanceStepMs?: number },
): Promise<{ l: Lab; images: string[] }> {
  const l = await lab(opts.instanceStepMs ? { instanceStepMs: opts.instanceStepMs } : {});
  const stopGuests = drainingGuests(l.emu, { drainMs: opts.drainMs ?? 300 });
  onTestFinished(async () => {
    stopGuests();
    await l.stop();
  });
  const images: string[] = [];
  for (let n = 1; n <= opts.images; n++) images.push(await l.publishImage(n, { keep: '10' }));
  return { l, images };
}

/**
 * A group of `size` booting `image`, instances running, on a template of its own named `templateName`
 * (by default like the group).
 */
export function makeGroup(l: Lab, name: string, image: string, size = 2, templateName = name): void {
  l.emu.compute.admin.createTemplate(template(templateName, image), { project: PROJECT });
  l.emu.compute.admin.createGroup({
    project: PROJECT,
    zone: ZONE,
    name,
    template: templateName,
    targetSize: size,
    ready: true,
  });
}

/** The name of the template a group targets. */
export async function groupTemplate(l: Lab, name: string): Promise<string> {
  const g = await l.get<{ versions: { instanceTemplate: string }[] }>(groupInput(name));
  return last(g.versions[0]?.instanceTemplate ?? '');
}

/** A Compute REST call as any other client makes it; waits for the operation it starts. */
export async function compute<T = Record<string, unknown>>(
  l: Lab,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${l.emu.url}/compute/v1/projects/${PROJECT}/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T & { kind?: string; name?: string; zone?: string; error?: unknown };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  if (json.kind === 'compute#operation') {
    const scope = json.zone ? `zones/${last(json.zone)}` : 'global';
    for (;;) {
      const op = (await (
        await fetch(`${l.emu.url}/compute/v1/projects/${PROJECT}/${scope}/operations/${json.name}/wait`, {
          method: 'POST',
        })
      ).json()) as { status: string; error?: unknown };
      if (op.status === 'DONE') {
        if (op.error) throw new Error(`${method} ${path}: ${JSON.stringify(op.error)}`);
        break;
      }
    }
  }
  return json;
}
