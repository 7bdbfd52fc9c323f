import type { PublishResult } from '../pipeline.ts';

/** The outputs and steps as a Markdown table: the GitHub job summary, and `--summary` files elsewhere. */
export function summaryMarkdown(result: PublishResult): string {
  const rows = Object.entries(result.outputs)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `| ${k} | \`${v}\` |`);
  const steps = result.steps.map((s) => `| ${s.stage} | ${s.result} |`);
  const headline =
    result.outputs.skipped === 'true'
      ? 'Nothing to publish: this build is already an image.'
      : `Published **${result.outputs['image-name']}**.`;
  return [
    '## nix-glab-runner publish',
    '',
    headline,
    '',
    '| output | value |',
    '| --- | --- |',
    ...rows,
    '',
    '| stage | result |',
    '| --- | --- |',
    ...steps,
    '',
  ].join('\n');
}

/** Outputs as aligned `name  value` lines for a terminal. */
export function outputsTable(outputs: Record<string, string>): string {
  const width = Math.max(...Object.keys(outputs).map((k) => k.length));
  return Object.entries(outputs)
    .map(([k, v]) => `${k.padEnd(width)}  ${v}`)
    .join('\n');
}
