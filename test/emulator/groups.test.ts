import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComputeClients, closeComputeClients, computeClients } from '../helpers/compute-client.ts';
import { makeImageTarball } from './compute/test-tarball.ts';
import { type Emulator, startEmulator } from './index.ts';

const project = 'p';
const zone = 'us-central1-a';
const region = 'us-central1';

type Op = {
  name?: string | null;
  status?: unknown;
  error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
};
type Group = {
  status?: { isStable?: boolean | null; versionTarget?: { isReached?: boolean | null } | null } | null;
  fingerprint?: string | null;
};

describe('compute emulator: templates, managed groups, instances', () => {
  let emu: Emulator;
  let c: ComputeClients;
  let dataDir: string;
  const tplUrl = (n: string) => `projects/${project}/global/instanceTemplates/${n}`;

  async function waitOp(op: Op, scope: { zone?: string; region?: string } = {}): Promise<Op> {
    for (;;) {
      const operation = op.name as string;
      const [o] = scope.zone
        ? await c.zoneOperations.wait({ project, zone: scope.zone, operation })
        : scope.region
          ? await c.regionOperations.wait({ project, region: scope.region, operation })
          : await c.globalOperations.wait({ project, operation });
      if (o.status === 'DONE') return o as Op;
    }
  }

  function template(name: string, image: string, extraMetadata: { key: string; value: string }[] = []) {
    return {
      name,
      properties: {
        machineType: 'e2-small',
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: { sourceImage: `projects/${project}/global/images/${image}` },
          },
        ],
        metadata: { items: [{ key: 'enable-guest-attributes', value: 'TRUE' }, ...extraMetadata] },
        labels: { image },
      },
    };
  }

  async function converge(get: () => Promise<Group>, timeoutMs = 20_000): Promise<Group> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const g = await get();
      if (g.status?.isStable && g.status.versionTarget?.isReached) return g;
      if (Date.now() > until) throw new Error(`group did not converge: ${JSON.stringify(g.status)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'emu-groups-'));
    emu = await startEmulator({ dataDir, operationMs: 30, waitMaxMs: 300, instanceStepMs: 15 });
    c = computeClients(emu.url);
    const storage = new Storage({ apiEndpoint: emu.url, projectId: project });
    await storage.createBucket('grp-images');
    await storage
      .bucket('grp-images')
      .file('d.tar.gz')
      .save(makeImageTarball(), { resumable: false, contentType: 'application/x-tar' });
    for (const image of ['img-a', 'img-b']) {
      const [lro] = await c.images.insert({
        project,
        imageResource: {
          name: image,
          family: 'grp',
          rawDisk: { source: 'https://storage.googleapis.com/grp-images/d.tar.gz' },
        },
      });
      await waitOp(lro.latestResponse as Op);
    }
    for (const [name, image] of [
      ['tpl-a', 'img-a'],
      ['tpl-b', 'img-b'],
    ] as const) {
      const [lro] = await c.instanceTemplates.insert({
        project,
        instanceTemplateResource: template(name, image),
      });
      expect((await waitOp(lro.latestResponse as Op)).error).toBeFalsy();
    }
    const [rlro] = await c.regionInstanceTemplates.insert({
      project,
      region,
      instanceTemplateResource: template('rtpl-b', 'img-b'),
    });
    await waitOp(rlro.latestResponse as Op, { region });
  });
  afterAll(async () => {
    await closeComputeClients(c);
    await emu.stop();
  });

  it('lists templates globally, regionally and aggregated, and refuses a template with a missing image', async () => {
    const [global] = await c.instanceTemplates.list({ project });
    expect(global.map((t) => t.name).sort()).toEqual(['tpl-a', 'tpl-b']);
    const [regional] = await c.regionInstanceTemplates.list({ project, region });
    expect(regional.map((t) => t.name)).toEqual(['rtpl-b']);
    const scopes: string[] = [];
    // Async iteration pages by itself; the client's default autoPaginate: true only draws a warning here.
    const pages = c.instanceTemplates.aggregatedListAsync({ project }, { autoPaginate: false });
    for await (const [scope, list] of pages) {
      if (list.instanceTemplates?.length) scopes.push(scope);
    }
    expect(scopes.sort()).toEqual(['global', `regions/${region}`]);
    await expect(
      c.instanceTemplates.insert({ project, instanceTemplateResource: template('tpl-x', 'no-such-image') }),
    ).rejects.toMatchObject({ code: 5 });
  });

  it("keeps each project's templates apart, and checks an image of another project it holds", async () => {
    const other = 'other-project';
    // The template is stored when the insert is accepted; its operation lives in the other project.
    await c.instanceTemplates.insert({
      project: other,
      instanceTemplateResource: template('uses-p', 'img-a'),
    });
    const [theirs] = await c.instanceTemplates.list({ project: other });
    expect(theirs.map((t) => t.name)).toEqual(['uses-p']);
    const [ours] = await c.instanceTemplates.list({ project });
    expect(ours.map((t) => t.name)).not.toContain('uses-p');
    await expect(
      c.instanceTemplates.insert({
        project: other,
        instanceTemplateResource: template('missing', 'no-such-image'),
      }),
    ).rejects.toMatchObject({ code: 5 });
    // A public image project the emulator holds nothing of is taken on trust.
    const publicImage = template('public', 'x');
    const disk = publicImage.properties.disks[0] as { initializeParams: { sourceImage: string } };
    disk.initializeParams.sourceImage = 'projects/debian-cloud/global/images/family/debian-12';
    await c.instanceTemplates.insert({ project: other, instanceTemplateResource: publicImage });
    const [after] = await c.instanceTemplates.list({ project: other });
    expect(after.map((t) => t.name).sort()).toEqual(['public', 'uses-p']);
  });

  it('lists managed groups aggregated, zonal and regional by scope, as the zonal and regional lists do', async () => {
    emu.compute.admin.createGroup({ zone, name: 'agg-z', template: 'tpl-a', targetSize: 0 });
    emu.compute.admin.createGroup({ region, name: 'agg-r', template: 'tpl-a', targetSize: 0 });
    const [zonal] = await c.instanceGroupManagers.list({ project, zone });
    const [regional] = await c.regionInstanceGroupManagers.list({ project, region });
    const seen: Record<string, string[]> = {};
    const pages = c.instanceGroupManagers.aggregatedListAsync({ project }, { autoPaginate: false });
    for await (const [scope, list] of pages) {
      if (list.instanceGroupManagers?.length)
        seen[scope] = list.instanceGroupManagers.map((g) => g.name ?? '');
    }
    expect(seen[`zones/${zone}`]?.sort()).toEqual(zonal.map((g) => g.name).sort());
    expect(seen[`regions/${region}`]?.sort()).toEqual(regional.map((g) => g.name).sort());
    expect(seen[`zones/${zone}`]).toContain('agg-z');
    expect(seen[`regions/${region}`]).toContain('agg-r');
    expect(Object.keys(seen).sort()).toEqual([`regions/${region}`, `zones/${zone}`]);
  });

  it('pages aggregated lists across all scopes: maxResults and nextPageToken count the whole aggregate', async () => {
    // A project of its own, so the other tests' groups and templates do not change the counts.
    const paged = 'paged';
    emu.compute.admin.createTemplate(template('pt-1', 'img-a'), { project: paged });
    emu.compute.admin.createTemplate(template('pt-2', 'img-a'), { project: paged });
    emu.compute.admin.createTemplate(template('pt-3', 'img-a'), {
      project: paged,
      scope: `regions/${region}`,
    });
    const tpl = `projects/${paged}/global/instanceTemplates/pt-1`;
    // Two groups share a zone, so paging each scope on its own would lose one of them.
    for (const [name, z] of [
      ['pg-1', 'us-central1-a'],
      ['pg-2', 'us-central1-a'],
      ['pg-3', 'us-east1-b'],
    ] as const)
      emu.compute.admin.createGroup({ project: paged, zone: z, name, template: tpl, targetSize: 0 });
    emu.compute.admin.createGroup({ project: paged, region, name: 'pg-4', template: tpl, targetSize: 0 });

    // One raw page: one item in all, the token at the top level.
    const res = await fetch(
      `${emu.url}/compute/v1/projects/${paged}/aggregated/instanceGroupManagers?maxResults=1`,
    );
    const first = (await res.json()) as {
      items?: Record<string, { instanceGroupManagers?: unknown[] }>;
      nextPageToken?: string;
    };
    const count = Object.values(first.items ?? {}).reduce(
      (n, s) => n + (s.instanceGroupManagers?.length ?? 0),
      0,
    );
    expect(count).toBe(1);
    expect(first.nextPageToken).toBeTruthy();

    // The unmodified client follows the tokens to every item.
    const groups: string[] = [];
    for await (const [, list] of c.instanceGroupManagers.aggregatedListAsync(
      { project: paged, maxResults: 1 },
      { autoPaginate: false },
    ))
      groups.push(...(list.instanceGroupManagers ?? []).map((g) => g.name ?? ''));
    expect(groups.sort()).toEqual(['pg-1', 'pg-2', 'pg-3', 'pg-4']);
    const templates: string[] = [];
    for await (const [, list] of c.instanceTemplates.aggregatedListAsync(
      { project: paged, maxResults: 1 },
      { autoPaginate: false },
    ))
      templates.push(...(list.instanceTemplates ?? []).map((t) => t.name ?? ''));
    expect(templates.sort()).toEqual(['pt-1', 'pt-2', 'pt-3']);
  });

  it('rolls a zonal group PROACTIVE with maxSurge 1 / maxUnavailable 0 and converges on the new template', async () => {
    emu.compute.admin.createGroup({ zone, name: 'zg', template: 'tpl-a', targetSize: 3, ready: true });
    const get = async () =>
      (await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'zg' }))[0] as Group;
    const before = await get();
    expect(before.status?.isStable).toBe(true);

    await expect(
      c.instanceGroupManagers.patch({
        project,
        zone,
        instanceGroupManager: 'zg',
        instanceGroupManagerResource: {
          fingerprint: 'c3RhbGU=',
          versions: [{ instanceTemplate: tplUrl('tpl-b') }],
        },
      }),
    ).rejects.toMatchObject({ httpStatusCode: 412 });

    const [lro] = await c.instanceGroupManagers.patch({
      project,
      zone,
      instanceGroupManager: 'zg',
      instanceGroupManagerResource: {
        fingerprint: before.fingerprint,
        versions: [{ instanceTemplate: tplUrl('tpl-b') }],
        updatePolicy: {
          type: 'PROACTIVE',
          minimalAction: 'REPLACE',
          maxSurge: { fixed: 1 },
          maxUnavailable: { fixed: 0 },
        },
      },
    });
    expect((await waitOp(lro.latestResponse as Op, { zone })).error).toBeFalsy();
    await converge(get);

    const [managed] = await c.instanceGroupManagers.listManagedInstances({
      project,
      zone,
      instanceGroupManager: 'zg',
    });
    expect(managed.length).toBe(3);
    // A read-modify-write patch sends output-only fields back; GCE ignores them.
    const [whole] = await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'zg' });
    const [rmw] = await c.instanceGroupManagers.patch({
      project,
      zone,
      instanceGroupManager: 'zg',
      instanceGroupManagerResource: { ...whole, description: 'rolled' },
    });
    expect((await waitOp(rmw.latestResponse as Op, { zone })).error).toBeFalsy();
    expect(
      (await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'zg' }))[0].description,
    ).toBe('rolled');
    for (const m of managed) {
      expect(m.version?.instanceTemplate).toBe(`${emu.url}/compute/v1/${tplUrl('tpl-b')}`);
      expect(m.currentAction).toBe('NONE');
      expect(m.instanceStatus).toBe('RUNNING');
    }
    // maxSurge 1, maxUnavailable 0: at most 4 VMs at once, and each old VM goes only after a new one exists.
    const events = emu.compute.instanceEvents.filter((e) => e.group?.endsWith('/zg'));
    let liveCount = 0;
    let peak = 0;
    for (const e of events) {
      if (e.event === 'created') liveCount++;
      if (e.event === 'deleted') liveCount--;
      peak = Math.max(peak, liveCount);
    }
    expect(peak).toBe(4);
    expect(events.filter((e) => e.event === 'deleted').map((e) => e.template)).toEqual(
      Array(3).fill(tplUrl('tpl-a')),
    );
    // Each boot disk says which image it came from.
    const [disks] = await c.disks.list({ project, zone });
    const names = new Set(managed.map((m) => m.name));
    const groupDisks = disks.filter((d) => names.has(d.name as string));
    expect(groupDisks.map((d) => d.sourceImage)).toEqual(
      Array(3).fill(`${emu.url}/compute/v1/projects/p/global/images/img-b`),
    );
  });

  it('honours percent maxUnavailable with maxSurge 0 (SUBSTITUTE), and refuses percentages below 10 instances', async () => {
    emu.compute.admin.createGroup({ zone, name: 'pg', template: 'tpl-a', targetSize: 10, ready: true });
    emu.compute.admin.createGroup({ zone, name: 'small', template: 'tpl-a', targetSize: 5, ready: true });
    await expect(
      c.instanceGroupManagers.patch({
        project,
        zone,
        instanceGroupManager: 'small',
        instanceGroupManagerResource: {
          updatePolicy: { maxSurge: { fixed: 0 }, maxUnavailable: { percent: 30 } },
        },
      }),
    ).rejects.toMatchObject({ httpStatusCode: 400 });
    const [lro] = await c.instanceGroupManagers.patch({
      project,
      zone,
      instanceGroupManager: 'pg',
      instanceGroupManagerResource: {
        versions: [{ instanceTemplate: tplUrl('tpl-b') }],
        updatePolicy: { type: 'PROACTIVE', maxSurge: { fixed: 0 }, maxUnavailable: { percent: 30 } },
      },
    });
    await waitOp(lro.latestResponse as Op, { zone });
    const [g] = await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'pg' });
    expect(g.updatePolicy?.maxUnavailable).toMatchObject({ percent: 30, calculated: 3 });
    let worst = 0;
    for (;;) {
      const [m] = await c.instanceGroupManagers.listManagedInstances({
        project,
        zone,
        instanceGroupManager: 'pg',
      });
      const serving = m.filter((x) => x.instanceStatus === 'RUNNING' && x.currentAction === 'NONE').length;
      worst = Math.max(worst, 10 - serving);
      expect(m.filter((x) => x.currentAction !== 'DELETING').length).toBeLessThanOrEqual(10);
      const [now] = await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'pg' });
      if (now.status?.isStable && now.status.versionTarget?.isReached) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(3);
  });

  it('rolls a regional group with RECREATE, keeping instance names, and refuses RECREATE with surge', async () => {
    const [ins] = await c.regionInstanceGroupManagers.insert({
      project,
      region,
      instanceGroupManagerResource: {
        name: 'rg',
        baseInstanceName: 'rg',
        targetSize: 4,
        instanceTemplate: tplUrl('tpl-a'),
        distributionPolicy: { zones: [{ zone: `zones/${region}-a` }, { zone: `zones/${region}-b` }] },
      },
    });
    await waitOp(ins.latestResponse as Op, { region });
    const get = async () =>
      (await c.regionInstanceGroupManagers.get({ project, region, instanceGroupManager: 'rg' }))[0] as Group;
    await converge(get);
    const namesBefore = (
      await c.regionInstanceGroupManagers.listManagedInstances({
        project,
        region,
        instanceGroupManager: 'rg',
      })
    )[0]
      .map((m) => m.name)
      .sort();
    expect(
      new Set(
        (
          await c.regionInstanceGroupManagers.listManagedInstances({
            project,
            region,
            instanceGroupManager: 'rg',
          })
        )[0].map((m) => m.instance?.split('/zones/')[1]?.split('/')[0]),
      ).size,
    ).toBe(2);

    await expect(
      c.regionInstanceGroupManagers.patch({
        project,
        region,
        instanceGroupManager: 'rg',
        instanceGroupManagerResource: {
          updatePolicy: {
            type: 'PROACTIVE',
            replacementMethod: 'RECREATE',
            maxSurge: { fixed: 2 },
            maxUnavailable: { fixed: 2 },
          },
        },
      }),
    ).rejects.toMatchObject({ httpStatusCode: 400 });
    await expect(
      c.regionInstanceGroupManagers.patch({
        project,
        region,
        instanceGroupManager: 'rg',
        instanceGroupManagerResource: { updatePolicy: { maxUnavailable: { fixed: 1 } } },
      }),
    ).rejects.toMatchObject({ httpStatusCode: 400, message: expect.stringContaining('number of zones') });

    const [lro] = await c.regionInstanceGroupManagers.patch({
      project,
      region,
      instanceGroupManager: 'rg',
      instanceGroupManagerResource: {
        versions: [{ instanceTemplate: `projects/${project}/regions/${region}/instanceTemplates/rtpl-b` }],
        updatePolicy: {
          type: 'PROACTIVE',
          minimalAction: 'REPLACE',
          replacementMethod: 'RECREATE',
          maxSurge: { fixed: 0 },
          maxUnavailable: { fixed: 2 },
        },
      },
    });
    await waitOp(lro.latestResponse as Op, { region });
    await converge(get);
    const [after] = await c.regionInstanceGroupManagers.listManagedInstances({
      project,
      region,
      instanceGroupManager: 'rg',
    });
    expect(after.map((m) => m.name).sort()).toEqual(namesBefore);
    for (const m of after)
      expect(m.version?.instanceTemplate).toContain(`/regions/${region}/instanceTemplates/rtpl-b`);
    expect(
      emu.compute.instanceEvents.filter((e) => e.group?.endsWith('/rg') && e.event === 'recreated').length,
    ).toBe(4);
  });

  it('OPPORTUNISTIC replaces nothing until applyUpdatesToInstances; a scripted guest drains via metadata and guest attributes', async () => {
    emu.compute.admin.createGroup({ zone, name: 'og', template: 'tpl-a', targetSize: 2, ready: true });
    const get = async () =>
      (await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'og' }))[0] as Group;
    const stop = emu.compute.scriptGuest(/^og-/, (event, api) => {
      if (event.type === 'metadata' && event.changed.includes('nix-glab-runner-drain')) {
        api.setGuestAttribute('nix-glab-runner/drain-state', 'draining');
        api.after(60, () => api.setGuestAttribute('nix-glab-runner/drain-state', 'drained'));
      }
    });
    const [lro] = await c.instanceGroupManagers.patch({
      project,
      zone,
      instanceGroupManager: 'og',
      instanceGroupManagerResource: {
        versions: [{ instanceTemplate: tplUrl('tpl-b') }],
        updatePolicy: { type: 'OPPORTUNISTIC' },
      },
    });
    await waitOp(lro.latestResponse as Op, { zone });
    await new Promise((r) => setTimeout(r, 150));
    const idle = await get();
    expect(idle.status?.isStable).toBe(true);
    expect(idle.status?.versionTarget?.isReached).toBe(false);

    const [managed] = await c.instanceGroupManagers.listManagedInstances({
      project,
      zone,
      instanceGroupManager: 'og',
    });
    const first = managed[0]?.name as string;
    const [inst] = await c.instances.get({ project, zone, instance: first });
    const items = inst.metadata?.items ?? [];
    await expect(
      c.instances.setMetadata({
        project,
        zone,
        instance: first,
        metadataResource: { fingerprint: 'c3RhbGU=', items },
      }),
    ).rejects.toMatchObject({ httpStatusCode: 412 });
    const deadline = new Date(Date.now() + 60_000).toISOString();
    const [set] = await c.instances.setMetadata({
      project,
      zone,
      instance: first,
      metadataResource: {
        fingerprint: inst.metadata?.fingerprint,
        items: [...items, { key: 'nix-glab-runner-drain', value: deadline }],
      },
    });
    await waitOp(set.latestResponse as Op, { zone });
    let state: string | undefined;
    for (let n = 0; n < 100 && state !== 'drained'; n++) {
      const [ga] = await c.instances
        .getGuestAttributes({ project, zone, instance: first, queryPath: 'nix-glab-runner/' })
        .catch(() => [undefined]);
      state = ga?.queryValue?.items?.find((i) => i.key === 'drain-state')?.value ?? undefined;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(state).toBe('drained');
    const [one] = await c.instances.getGuestAttributes({
      project,
      zone,
      instance: first,
      variableKey: 'nix-glab-runner/drain-state',
    });
    expect(one.variableValue).toBe('drained');

    const [apply] = await c.instanceGroupManagers.applyUpdatesToInstances({
      project,
      zone,
      instanceGroupManager: 'og',
      instanceGroupManagersApplyUpdatesRequestResource: {
        instances: [`zones/${zone}/instances/${first}`],
        minimalAction: 'REPLACE',
      },
    });
    await waitOp(apply.latestResponse as Op, { zone });
    for (;;) {
      const [m] = await c.instanceGroupManagers.listManagedInstances({
        project,
        zone,
        instanceGroupManager: 'og',
      });
      const f = m.find((x) => x.name === first);
      if (f?.currentAction === 'NONE' && f.version?.instanceTemplate?.endsWith('/tpl-b')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const log = emu.compute.instanceEvents.filter((e) => e.instance === first).map((e) => e.event);
    expect(log.indexOf('draining-seen')).toBeGreaterThan(-1);
    expect(log.indexOf('recreated')).toBeGreaterThan(log.lastIndexOf('guest-attribute'));
    // The recreated VM starts with fresh guest attributes.
    await expect(
      c.instances.getGuestAttributes({
        project,
        zone,
        instance: first,
        variableKey: 'nix-glab-runner/drain-state',
      }),
    ).rejects.toMatchObject({ code: 5 });
    stop();
    const events = (await (await fetch(`${emu.url}/_emulator/compute/instance-events`)).json()) as {
      events: { instance: string }[];
    };
    expect(events.events.some((e) => e.instance === first)).toBe(true);
  });

  it('refuses PROACTIVE on a stateful group, and deleting a template a group uses', async () => {
    emu.compute.admin.createGroup({
      zone,
      name: 'sg',
      template: 'tpl-a',
      targetSize: 1,
      ready: true,
      statefulPolicy: { preservedState: { disks: { 'persistent-disk-0': { autoDelete: 'NEVER' } } } },
    });
    await expect(
      c.instanceGroupManagers.patch({
        project,
        zone,
        instanceGroupManager: 'sg',
        instanceGroupManagerResource: {
          versions: [{ instanceTemplate: tplUrl('tpl-b') }],
          updatePolicy: { type: 'PROACTIVE' },
        },
      }),
    ).rejects.toMatchObject({
      httpStatusCode: 400,
      message: expect.stringContaining('PROACTIVE is not allowed when Stateful is used'),
    });
    const err = await c.instanceTemplates
      .delete({ project, instanceTemplate: 'tpl-a' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ httpStatusCode: 400 });
    expect(String((err as Error).message)).toContain(
      "The instance_template resource 'projects/p/global/instanceTemplates/tpl-a' is already being used by",
    );

    // Once no group uses it, the template can go.
    const [lro] = await c.instanceTemplates.insert({
      project,
      instanceTemplateResource: template('tpl-tmp', 'img-a'),
    });
    await waitOp(lro.latestResponse as Op);
    emu.compute.admin.createGroup({ zone, name: 'tmpg', template: 'tpl-tmp', targetSize: 1, ready: true });
    await expect(c.instanceTemplates.delete({ project, instanceTemplate: 'tpl-tmp' })).rejects.toMatchObject({
      httpStatusCode: 400,
    });
    const [delGroup] = await c.instanceGroupManagers.delete({ project, zone, instanceGroupManager: 'tmpg' });
    await waitOp(delGroup.latestResponse as Op, { zone });
    const [delTpl] = await c.instanceTemplates.delete({ project, instanceTemplate: 'tpl-tmp' });
    expect((await waitOp(delTpl.latestResponse as Op)).error).toBeFalsy();
    await expect(c.instanceTemplates.get({ project, instanceTemplate: 'tpl-tmp' })).rejects.toMatchObject({
      code: 5,
    });
  });

  it('an insert whose operation fails leaves no group', async () => {
    emu.faults.add({
      method: 'POST',
      path: '/instanceGroupManagers$',
      count: 1,
      operationError: {
        code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
        message: 'The zone does not have enough resources.',
      },
    });
    const [ins] = await c.instanceGroupManagers.insert({
      project,
      zone,
      instanceGroupManagerResource: {
        name: 'failed-g',
        baseInstanceName: 'fg',
        targetSize: 1,
        instanceTemplate: tplUrl('tpl-a'),
      },
    });
    const done = await waitOp(ins.latestResponse as Op, { zone });
    expect(done.error?.errors?.[0]?.code).toBe('ZONE_RESOURCE_POOL_EXHAUSTED');
    await expect(
      c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'failed-g' }),
    ).rejects.toMatchObject({ code: 5 });
  });

  it('guest attributes: refused and 404 while disabled, enabled by project metadata too', async () => {
    const [lro] = await c.instanceTemplates.insert({
      project,
      instanceTemplateResource: {
        ...template('tpl-noga', 'img-a'),
        properties: { ...template('tpl-noga', 'img-a').properties, metadata: { items: [] } },
      },
    });
    await waitOp(lro.latestResponse as Op);
    emu.compute.admin.createGroup({ zone, name: 'ng', template: 'tpl-noga', targetSize: 1, ready: true });
    const [m] = await c.instanceGroupManagers.listManagedInstances({
      project,
      zone,
      instanceGroupManager: 'ng',
    });
    const instance = m[0]?.name as string;
    const stop = emu.compute.scriptGuest(instance, (event, api) => {
      if (event.changed.includes('ping')) api.setGuestAttribute('nix-glab-runner/drain-state', 'drained');
    });
    const ping = async (value: string) => {
      const [inst] = await c.instances.get({ project, zone, instance });
      const items = (inst.metadata?.items ?? []).filter((i) => i.key !== 'ping');
      const [op] = await c.instances.setMetadata({
        project,
        zone,
        instance,
        metadataResource: {
          fingerprint: inst.metadata?.fingerprint,
          items: [...items, { key: 'ping', value }],
        },
      });
      await waitOp(op.latestResponse as Op, { zone });
      await new Promise((r) => setTimeout(r, 30));
    };
    const read = () =>
      c.instances.getGuestAttributes({ project, zone, instance, queryPath: 'nix-glab-runner/' });

    await ping('1');
    await expect(read()).rejects.toMatchObject({ code: 5 });
    expect(
      emu.compute.instanceEvents.some(
        (e) => e.instance === instance && e.event === 'guest-attribute-refused',
      ),
    ).toBe(true);

    const [proj] = await c.projects.get({ project });
    const [setProject] = await c.projects.setCommonInstanceMetadata({
      project,
      metadataResource: {
        fingerprint: proj.commonInstanceMetadata?.fingerprint,
        items: [{ key: 'enable-guest-attributes', value: 'TRUE' }],
      },
    });
    await waitOp(setProject.latestResponse as Op);
    await ping('2');
    const [attrs] = await read();
    expect(
      attrs.queryValue?.items?.map((i) => ({ namespace: i.namespace, key: i.key, value: i.value })),
    ).toEqual([{ namespace: 'nix-glab-runner', key: 'drain-state', value: 'drained' }]);
    stop();
  });

  it('keeps images, templates and groups across a restart with the same dataDir', async () => {
    // An image still being checked when the emulator stops finishes after the restart.
    const storage = new Storage({ apiEndpoint: emu.url, projectId: project });
    await storage
      .bucket('grp-images')
      .file('big.tar.gz')
      .save(makeImageTarball({ data: Buffer.alloc(16 * 1024 * 1024) }), {
        resumable: false,
        contentType: 'application/x-tar',
      });
    const [pending] = await c.images.insert({
      project,
      imageResource: {
        name: 'img-restart',
        rawDisk: { source: 'https://storage.googleapis.com/grp-images/big.tar.gz' },
      },
    });
    await emu.stop();
    await closeComputeClients(c);
    emu = await startEmulator({ dataDir, operationMs: 30, waitMaxMs: 300, instanceStepMs: 15 });
    c = computeClients(emu.url);
    const finished = await waitOp(pending.latestResponse as Op);
    expect(finished.error).toBeFalsy();
    expect((await c.images.get({ project, image: 'img-restart' }))[0].status).toBe('READY');
    const [img] = await c.images.getFromFamily({ project, family: 'grp' });
    expect(img.name).toBe('img-b');
    const [g] = await c.instanceGroupManagers.get({ project, zone, instanceGroupManager: 'zg' });
    expect(g.versions?.[0]?.instanceTemplate).toBe(`${emu.url}/compute/v1/${tplUrl('tpl-b')}`);
    expect(g.status?.isStable).toBe(true);
    const [rg] = await c.regionInstanceGroupManagers.get({ project, region, instanceGroupManager: 'rg' });
    expect(rg.status?.versionTarget?.isReached).toBe(true);
  });
});
