/** Outputs as aligned `name  value` lines for a terminal. */
export function outputsTable(outputs: Record<string, string>): string {
  const width = Math.max(...Object.keys(outputs).map((k) => k.length));
  return Object.entries(outputs)
    .map(([k, v]) => `${k.padEnd(width)}  ${v}`)
    .join('\n');
}
