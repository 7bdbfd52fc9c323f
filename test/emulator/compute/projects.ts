import { createHash } from 'node:crypto';
import { ApiError, readJson, sendJson } from '../http.ts';
import { fingerprint, link, render } from './common.ts';
import { base, type Core, P, requestIdOf, sendOperation } from './core.ts';
import type { Json } from './state.ts';

/**
 * `projects.get` and `projects.setCommonInstanceMetadata`: project metadata matters here because
 * `enable-guest-attributes=TRUE` may be set project-wide (docs/architecture.md, "The drain protocol", prerequisite).
 */
export function addProjectRoutes(core: Core): void {
  const r = core.ctx.router;
  const metadataOf = (project: string) => {
    const all = core.state.value.projectMetadata ?? {};
    core.state.value.projectMetadata = all;
    const existing = all[project];
    if (existing) return existing;
    const fresh = { items: [], fingerprint: fingerprint() };
    all[project] = fresh;
    return fresh;
  };
  r.add('GET', P, (rc) => {
    const project = rc.params.project as string;
    const md = metadataOf(project);
    sendJson(
      rc.res,
      200,
      render(
        {
          kind: 'compute#project',
          name: project,
          id: projectNumber(project),
          commonInstanceMetadata: { kind: 'compute#metadata', fingerprint: md.fingerprint, items: md.items },
          defaultServiceAccount: `${projectNumber(project)}-compute@developer.gserviceaccount.com`,
          xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS',
          selfLink: link(`projects/${project}`),
        } as Json,
        base(core, rc),
      ),
    );
  });
  r.add('POST', `${P}/setCommonInstanceMetadata`, async (rc) => {
    const project = rc.params.project as string;
    const { requestId, previous } = requestIdOf(core, rc);
    const input = await readJson<Json>(rc);
    if (previous) return sendOperation(core, rc, previous);
    const md = metadataOf(project);
    if (input.fingerprint !== md.fingerprint) {
      throw new ApiError(
        412,
        'Supplied fingerprint does not match current metadata fingerprint.',
        'conditionNotMet',
      );
    }
    const items = ((input.items as Json[] | undefined) ?? []).map((it) => ({
      key: String(it.key),
      value: String(it.value ?? ''),
    }));
    const op = core.ops.start({
      project,
      scope: 'global',
      operationType: 'compute.projects.setCommonInstanceMetadata',
      targetPath: `projects/${project}`,
      effect: { kind: 'project.setMetadata', project, items, fingerprint: md.fingerprint },
      fault: rc.fault,
      ...(requestId ? { requestId } : {}),
    });
    sendOperation(core, rc, op);
  });
  core.ops.onDone('project.setMetadata', (op, failed) => {
    if (failed) return;
    const md = metadataOf(op.effect?.project as string);
    if (md.fingerprint !== op.effect?.fingerprint) {
      throw new ApiError(
        412,
        'Supplied fingerprint does not match current metadata fingerprint.',
        'conditionNotMet',
      );
    }
    md.items = op.effect?.items as { key: string; value: string }[];
    md.fingerprint = fingerprint();
    return undefined;
  });
}

/** A stable 12-digit project number derived from the project id. */
function projectNumber(project: string): string {
  const n = createHash('sha256').update(project).digest().readBigUInt64BE() % 900_000_000_000n;
  return (n + 100_000_000_000n).toString();
}
