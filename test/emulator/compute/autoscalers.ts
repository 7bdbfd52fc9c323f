import { sendJson } from '../http.ts';
import { base, type Core, P } from './core.ts';

/**
 * The emulator models no autoscalers, so both lists are empty (GCE omits `items` then). gcloud's
 * `instance-groups managed describe` asks for them to say whether the group is autoscaled.
 */
export function addAutoscalerRoutes(core: Core): void {
  for (const [pattern, kind] of [
    ['zones/{zone}', 'compute#autoscalerList'],
    ['regions/{region}', 'compute#regionAutoscalerList'],
  ] as const) {
    core.ctx.router.add('GET', `${P}/${pattern}/autoscalers`, (rc) => {
      const scope = rc.params.zone ? `zones/${rc.params.zone}` : `regions/${rc.params.region}`;
      const path = `projects/${rc.params.project}/${scope}/autoscalers`;
      sendJson(rc.res, 200, { kind, id: path, selfLink: `${base(core, rc)}/compute/v1/${path}` });
    });
  }
}
