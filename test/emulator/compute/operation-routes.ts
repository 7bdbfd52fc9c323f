import { type RouteContext, sendJson } from '../http.ts';
import { base, type Core, P } from './core.ts';
import { listPage } from './list.ts';

/** get, wait, list and delete for global, regional and zonal operations. */
export function addOperationRoutes(core: Core): void {
  const r = core.ctx.router;
  const scopes: [string, (rc: RouteContext) => string][] = [
    ['global', () => 'global'],
    ['regions/{region}', (rc) => `regions/${rc.params.region}`],
    ['zones/{zone}', (rc) => `zones/${rc.params.zone}`],
  ];
  for (const [pattern, scopeOf] of scopes) {
    const path = `${P}/${pattern}/operations`;
    r.add('GET', path, (rc) => {
      const b = base(core, rc);
      const items = core.ops.list(rc.params.project as string, scopeOf(rc)).map((op) => core.ops.view(op, b));
      sendJson(rc.res, 200, {
        kind: 'compute#operationList',
        id: `projects/${rc.params.project}/${scopeOf(rc)}/operations`,
        ...listPage(items, rc.url),
        selfLink: `${b}/compute/v1/projects/${rc.params.project}/${scopeOf(rc)}/operations`,
      });
    });
    r.add('GET', `${path}/{operation}`, (rc) => {
      const op = core.ops.get(rc.params.project as string, scopeOf(rc), rc.params.operation as string);
      sendJson(rc.res, 200, core.ops.view(op, base(core, rc)));
    });
    r.add('POST', `${path}/{operation}/wait`, async (rc) => {
      rc.req.resume();
      const op = core.ops.get(rc.params.project as string, scopeOf(rc), rc.params.operation as string);
      await core.ops.wait(op, core.ctx.options.waitMaxMs);
      sendJson(rc.res, 200, core.ops.view(op, base(core, rc)));
    });
    r.add('DELETE', `${path}/{operation}`, (rc) => {
      core.ops.delete(rc.params.project as string, scopeOf(rc), rc.params.operation as string);
      rc.res.writeHead(204).end();
    });
  }
}
