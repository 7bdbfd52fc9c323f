/**
 * The image-name template. `{family}-{hash}` by default: the family says what it is, the Nix output hash
 * makes the name unique per build, so an unchanged rebuild maps to the same name. Richer templates may add
 * `{date}` (UTC YYYYMMDD) and `{nixos}` (the NixOS release, e.g. 25-11).
 */
import { RESOURCE_NAME } from './rules.ts';

export const IMAGE_NAME_PLACEHOLDERS = ['family', 'hash', 'date', 'nixos'] as const;
export type ImageNamePlaceholder = (typeof IMAGE_NAME_PLACEHOLDERS)[number];
export type ImageNameValues = Record<ImageNamePlaceholder, string>;

export const DEFAULT_IMAGE_NAME = '{family}-{hash}';
const MAX_NAME = 63;

/**
 * Values that stand in for a real build when validating a template. The hash starts with a digit and the
 * NixOS release is long, because real ones can be: a template must survive both.
 */
export function sampleValues(family: string): ImageNameValues {
  return {
    family,
    hash: '0c9jkwz1yc6g4n1l2qb8x3hxm7rfp5sd',
    date: '20261128',
    nixos: '25.11.20261128.abcdef0',
  };
}

const TOKEN = /\{([^{}]*)\}/g;

/** The placeholders a template uses, in order; unknown ones are returned as written. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(TOKEN)].map((m) => m[1] ?? '');
}

/** A value reduced to the characters a name allows. */
function clean(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

function substitute(template: string, values: ImageNameValues): string {
  return template.replace(TOKEN, (_, name: string) => values[name as ImageNamePlaceholder] ?? '');
}

/**
 * Renders a template. When the result is longer than 63 characters it shortens `{family}`, then `{nixos}`,
 * then `{date}` — never `{hash}`, which carries the identity. The caller checks the result against the name
 * rule (config does so once with `sampleValues`).
 */
export function renderImageName(template: string, values: ImageNameValues): string {
  const current: ImageNameValues = {
    family: clean(values.family),
    hash: clean(values.hash),
    date: clean(values.date),
    nixos: clean(values.nixos),
  };
  let name = substitute(template, current);
  for (const key of ['family', 'nixos', 'date'] as const) {
    if (name.length <= MAX_NAME) break;
    if (!template.includes(`{${key}}`)) continue;
    const uses = template.split(`{${key}}`).length - 1;
    const excess = name.length - MAX_NAME;
    const keep = Math.max(1, current[key].length - Math.ceil(excess / uses));
    current[key] = current[key].slice(0, keep).replace(/-+$/, '') || current[key].slice(0, 1);
    name = substitute(template, current);
  }
  return name;
}

/** The rule a template breaks, or undefined. */
export function checkImageNameTemplate(template: string, family: string): string | undefined {
  const used = placeholders(template);
  const known: readonly string[] = IMAGE_NAME_PLACEHOLDERS;
  if (used.some((p) => !known.includes(p)) || /[{}]/.test(template.replace(TOKEN, ''))) {
    return 'may only use the placeholders {family}, {hash}, {date} and {nixos}';
  }
  if (used.length === 0) {
    return RESOURCE_NAME.test(template)
      ? undefined
      : 'must be a name of 1-63 lowercase letters, digits and hyphens, starting with a letter, or a template';
  }
  if (!used.includes('hash'))
    return 'must contain {hash} when it uses placeholders, so each build gets its own name';
  const rendered = renderImageName(template, sampleValues(family));
  return RESOURCE_NAME.test(rendered)
    ? undefined
    : `must render to a name of 1-63 lowercase letters, digits and hyphens starting with a letter, but renders to "${rendered}" for a sample build`;
}
