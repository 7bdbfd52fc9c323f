/**
 * What a command did or, with dry-run, would do: one step per resource. The same list renders as a table
 * for people and as JSON (`--json`, the `plan` output) for scripts.
 */
export type PlanAction =
  | 'upload'
  | 'create'
  | 'reuse'
  | 'reactivate'
  | 'deprecate'
  | 'delete'
  | 'keep'
  | 'patch'
  | 'drain'
  | 'replace'
  | 'roll'
  | 'nothing';

export interface PlanStep {
  action: PlanAction;
  /** What it acts on: an image, template, group or instance name or path. */
  resource: string;
  /** Why, or how, in a few words. */
  detail: string;
}

/** The steps as an aligned text table with a header. */
export function planTable(steps: readonly PlanStep[]): string {
  if (steps.length === 0) return 'Nothing to do.';
  const rows = [['ACTION', 'RESOURCE', 'DETAIL'], ...steps.map((s) => [s.action, s.resource, s.detail])];
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      `${(r[0] ?? '').padEnd(widths[0] ?? 0)}  ${(r[1] ?? '').padEnd(widths[1] ?? 0)}  ${r[2] ?? ''}`.trimEnd(),
    )
    .join('\n');
}
