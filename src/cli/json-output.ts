/**
 * What `--json` prints on stdout: one JSON object, on success the outputs and on failure the error. Values
 * are typed by the output schema, so `"skipped": false` is false to `jq`, not a non-empty string.
 */
import { OUTPUTS, type OutputType } from '../config.ts';
import { UserError } from '../errors.ts';

const TYPES: ReadonlyMap<string, OutputType> = new Map(OUTPUTS.map((o) => [o.name, o.type ?? 'string']));

/** An output's string value as its JSON type; an empty number is null, an unknown key stays a string. */
function typedOutput(name: string, value: string): unknown {
  switch (TYPES.get(name)) {
    case 'boolean':
      return value === 'true';
    case 'number':
      return value === '' ? null : Number(value);
    default:
      return value;
  }
}

export function outputsJson(outputs: Record<string, string>, plan?: unknown): string {
  const typed: Record<string, unknown> = Object.fromEntries(
    Object.entries(outputs).map(([name, value]) => [name, typedOutput(name, value)]),
  );
  // Last: the GitLab component's dotenv loop reads the scalar pairs in order and stops at this array.
  if (plan !== undefined) typed.plan = plan;
  return JSON.stringify(typed);
}

/** The failure as one object: the sentence, the input it names (or null) and the exit code. */
export function failureJson(err: unknown, message: string, exitCode: number): string {
  const input = err instanceof UserError && err.input ? err.input : null;
  return JSON.stringify({ error: message, input, 'exit-code': exitCode });
}
