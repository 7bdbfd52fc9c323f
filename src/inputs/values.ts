/**
 * Turning raw input strings into typed values. The same string grammar serves action.yml, CLI flags and
 * GitLab component inputs, so each form is documented here once.
 */
import { UserError } from '../errors.ts';

/** Shows the offending value in a message: quoted, escaped onto one line and cut to a readable length. */
export function shown(value: string): string {
  const cut = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(cut);
}

/** One sentence naming the input and the rule: `Input "x" <rule> (got "v").` */
export function invalid(input: string, rule: string, got?: string): UserError {
  const tail = got === undefined ? '' : ` (got ${shown(got)})`;
  return new UserError(`Input "${input}" ${rule}${tail}.`, input);
}

/** Booleans: true/false in any case, like YAML 1.2 core and @actions/core's getBooleanInput. */
export function parseBoolean(input: string, value: string): boolean {
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw invalid(input, 'must be true or false', value);
}

/** Lists: items separated by newlines or commas; blanks dropped, whitespace trimmed. */
export function parseList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Maps: `key=value` items, separated like lists. Values may be empty; keys may not repeat. */
export function parseMap(input: string, value: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of parseList(value)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw invalid(input, 'must be a list of key=value pairs', item);
    const key = item.slice(0, eq).trim();
    if (Object.hasOwn(map, key)) throw invalid(input, `must not repeat the key "${key}"`, value);
    map[key] = item.slice(eq + 1).trim();
  }
  return map;
}

/** Enums: matched case-insensitively, returned in the spelling of `options`. */
export function parseEnum(input: string, value: string, options: readonly string[]): string {
  const found = options.find((option) => option.toLowerCase() === value.trim().toLowerCase());
  if (found === undefined) throw invalid(input, `must be one of ${options.join(', ')}`, value);
  return found;
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Durations in seconds: `90s`, `20m`, `1h30m`, `1h2m3s`, or a bare number of seconds. */
export function parseDuration(input: string, value: string): number {
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  const match = DURATION.exec(text);
  if (text === '' || !match) {
    throw invalid(input, 'must be a duration such as "90s", "20m" or "1h30m"', value);
  }
  const [, h = '0', m = '0', s = '0'] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/** Integers, optionally bounded. */
export function parseInteger(input: string, value: string, min?: number, max?: number): number {
  const text = value.trim();
  if (!/^-?\d+$/.test(text)) throw invalid(input, 'must be a whole number', value);
  const n = Number(text);
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      max === undefined ? `at least ${min}` : min === undefined ? `at most ${max}` : `${min}-${max}`;
    throw invalid(input, `must be ${range}`, value);
  }
  return n;
}

/** Seconds back to the input form: 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const text = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return text || '0s';
}
