import type { EmulatorContext, EmulatorService } from '../context.ts';
import { readJson, sendJson } from '../http.ts';
import { addAutoscalerRoutes } from './autoscalers.ts';
import { addBatchRoute } from './batch.ts';
import { render } from './common.ts';
import type { Core } from './core.ts';
import { type CreateGroupOptions, Groups } from './groups.ts';
import type { GuestMatcher, GuestScript } from './guests.ts';
import { Images } from './images.ts';
import { Instances } from './instances.ts';
import { addOperationRoutes } from './operation-routes.ts';
import { Operations } from './operations.ts';
import { addProjectRoutes } from './projects.ts';
import { ComputeState, type InstanceEvent, type Json } from './state.ts';
import { Templates } from './templates.ts';

export type { CreateGroupOptions } from './groups.ts';
export type { GuestApi, GuestEvent, GuestMatcher, GuestScript } from './guests.ts';
export type { InstanceEvent } from './state.ts';

/** The Compute Engine half of the emulator, plus in-process hooks for tests. */
export interface ComputeService extends EmulatorService {
  /**
   * Instance lifecycle log: created, deleted, recreated, draining-seen, drain-cleared, metadata-set,
   * guest-attribute(-refused), each with time, instance, zone, group and template. Also served at
   * `GET /_emulator/compute/instance-events`, since a group's own replacements never reach the request log.
   */
  readonly instanceEvents: readonly InstanceEvent[];
  /** Scripts how matching guests react to boots and metadata changes; returns an unsubscribe function. */
  scriptGuest(matcher: GuestMatcher, script: GuestScript): () => void;
  readonly admin: {
    /** Creates a managed group directly (no operation); `ready` brings its instances up at once. */
    createGroup(options: CreateGroupOptions): Json;
    /** Creates an instance template directly; `scope` is `global` (default) or `regions/R`. */
    createTemplate(body: Json, options?: { project?: string; scope?: string }): Json;
  };
}

export function createComputeService(ctx: EmulatorContext): ComputeService {
  const state = new ComputeState(ctx.options.dataDir);
  const ops = new Operations(state, ctx);
  const core: Core = { ctx, state, ops };
  addOperationRoutes(core);
  addBatchRoute(core);
  addAutoscalerRoutes(core);
  addProjectRoutes(core);
  const images = new Images(core);
  const templates = new Templates(core);
  const instances = new Instances(core);
  const groups = new Groups(core, templates, instances);
  // Admin paths (not in the request log) for the standalone emulator and the demo.
  ctx.router.add('POST', '/_emulator/compute/groups', async (rc) => {
    const o = await readJson<CreateGroupOptions>(rc);
    sendJson(rc.res, 200, groups.view(groups.createGroup(o), ctx.url));
  });
  ctx.router.add('POST', '/_emulator/compute/templates', async (rc) => {
    const { project, scope, ...body } = await readJson<Json & { project?: string; scope?: string }>(rc);
    sendJson(rc.res, 200, render(templates.create(project ?? 'p', scope ?? 'global', body).body, ctx.url));
  });
  images.resume();
  ops.resume();
  groups.start();
  return {
    get instanceEvents() {
      return instances.events;
    },
    scriptGuest: (matcher, script) => instances.scriptGuest(matcher, script),
    admin: {
      createGroup: (o) => groups.view(groups.createGroup(o), ctx.url),
      createTemplate: (body, o = {}) =>
        render(templates.create(o.project ?? 'p', o.scope ?? 'global', body).body, ctx.url),
    },
    close() {
      groups.close();
      instances.close();
      ops.close();
      state.close();
    },
  };
}
