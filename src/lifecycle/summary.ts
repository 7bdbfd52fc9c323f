import type { CommandResult } from './commands.ts';

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The job summary of any command or dry run: headline, outputs, steps and the plan. */
export function jobSummaryMarkdown(result: CommandResult): string {
  const o = result.outputs;
  const headline = result.dryRun
    ? `Dry run of **${result.command}**: nothing was changed.`
    : [
        result.command === 'publish'
          ? o.skipped === 'true'
            ? `Image **${o['image-name']}** of this build was already published.`
            : `Published **${o['image-name']}**.`
          : '',
        o['instance-group']
          ? `Group \`${o['instance-group']}\` on \`${o['instance-template']}\`: ${o['instances-replaced']} replaced, ${o['instances-drained']} drained.`
          : '',
        o['drain-timeouts'] ? `Drain timeouts (replaced anyway): ${o['drain-timeouts']}.` : '',
        o['images-deprecated'] ? `Deprecated: ${o['images-deprecated']}.` : '',
        o['images-deleted'] ? `Deleted: ${o['images-deleted']}.` : '',
        `Took ${o.duration}s.`,
      ]
        .filter(Boolean)
        .join(' ');
  const rows = Object.entries(o)
    .filter(([k, v]) => v !== '' && k !== 'plan')
    .map(([k, v]) => `| ${k} | \`${cell(v)}\` |`);
  const lines = [
    `## nix-glab-runner ${result.command}`,
    '',
    headline,
    '',
    '| output | value |',
    '| --- | --- |',
    ...rows,
    '',
  ];
  if (result.steps.length)
    lines.push(
      '| stage | result |',
      '| --- | --- |',
      ...result.steps.map((s) => `| ${s.stage} | ${cell(s.result)} |`),
      '',
    );
  if (result.plan.length) {
    lines.push(
      '| action | resource | detail |',
      '| --- | --- | --- |',
      ...result.plan.map((p) => `| ${p.action} | \`${cell(p.resource)}\` | ${cell(p.detail)} |`),
      '',
    );
  }
  return lines.join('\n');
}

/** The job summary of an interrupted run: what it left behind, in the same words as the failure line. */
export function interruptedSummaryMarkdown(command: string, message: string): string {
  return [`## nix-glab-runner ${command}: interrupted`, '', message, ''].join('\n');
}
