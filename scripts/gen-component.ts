/**
 * Keeps the GitLab component (templates/gitlab-ci/template.yml) and its inputs table (docs/gitlab.md) in
 * agreement with the one input schema (src/config.ts). Only the blocks between "BEGIN generated" and
 * "END generated" markers are written; the rest of both files is by hand.
 *
 *   npx tsx scripts/gen-component.ts          rewrite the generated blocks
 *   npx tsx scripts/gen-component.ts --check  write nothing; exit 1 when a block is stale
 *
 * How schema types map to GitLab input types (GitLab inputs know string, number, boolean and array):
 * - boolean and number keep their type when they have a default (GitLab treats an input without a default
 *   as required, so an optional number without one becomes a string with a digits-only regex);
 * - enum becomes a string with `options`, or with a regex that also accepts '' when it has no default;
 * - a list with options becomes a string whose regex accepts those options separated by commas or
 *   newlines; other lists, maps and durations are strings in the schema's own grammar (docs/inputs.md),
 *   which the tool validates.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type InputSpec, inputsFor } from '../src/config.ts';
import { ROOT, writeOrCheck } from './generated-files.ts';

export const TEMPLATE_YML = path.join(ROOT, 'templates', 'gitlab-ci', 'template.yml');
export const GITLAB_MD = path.join(ROOT, 'docs', 'gitlab.md');

/** The schema inputs the component takes: those of publish, less the action's own `command`. */
export function componentSchemaInputs(): InputSpec[] {
  return inputsFor('publish').filter((spec) => !spec.actionOnly);
}

/** The job variable that carries a schema input to the tool: extra-modules → NGR_INPUT_EXTRA_MODULES. */
export function inputVariable(name: string): string {
  return `NGR_INPUT_${name.replaceAll('-', '_').toUpperCase()}`;
}

/** A GitLab `spec:inputs` entry. */
export interface ComponentInput {
  type?: 'string' | 'number' | 'boolean' | 'array';
  description: string;
  default?: string | number | boolean | unknown[];
  options?: string[];
  regex?: string;
}

function alternatives(options: readonly string[]): string {
  return options.map((o) => o.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

/** The GitLab input for one schema input. */
export function componentInput(spec: InputSpec): ComponentInput {
  const out: ComponentInput = { type: 'string', description: spec.description };
  const hasDefault = spec.default !== undefined && spec.default !== '';
  if (!spec.required) out.default = spec.default ?? '';
  switch (spec.type) {
    case 'boolean':
      if (hasDefault) {
        out.type = 'boolean';
        out.default = spec.default?.toLowerCase() === 'true';
      } else if (spec.required) out.type = 'boolean';
      else out.regex = '^(|true|false)$';
      break;
    case 'number':
      if (hasDefault) {
        out.type = 'number';
        out.default = Number(spec.default);
      } else if (!spec.required) out.regex = (spec.min ?? -1) >= 0 ? '^(|[0-9]+)$' : '^(|-?[0-9]+)$';
      else out.type = 'number';
      break;
    case 'enum': {
      const options = [...(spec.options ?? [])];
      if (hasDefault || spec.required) out.options = options;
      else out.regex = `^(|${alternatives(options)})$`;
      break;
    }
    case 'list':
      if (spec.options) {
        const item = `(${alternatives(spec.options)})`;
        out.regex = `^\\s*(${item}(\\s*[,\\n]\\s*${item})*)?\\s*$`;
      }
      break;
    case 'string':
    case 'map':
    case 'duration':
      break;
  }
  return out;
}

/** A YAML scalar: JSON strings, numbers and booleans are valid YAML. */
function scalar(value: unknown): string {
  return JSON.stringify(value);
}

function inputsBlock(): string[] {
  const lines: string[] = [];
  for (const spec of componentSchemaInputs()) {
    const input = componentInput(spec);
    lines.push(`    ${spec.name}:`);
    if (input.type && input.type !== 'string') lines.push(`      type: ${input.type}`);
    lines.push(`      description: ${scalar(input.description)}`);
    if (input.default !== undefined) lines.push(`      default: ${scalar(input.default)}`);
    if (input.options) lines.push(`      options: [${input.options.map(scalar).join(', ')}]`);
    if (input.regex) lines.push(`      regex: ${scalar(input.regex)}`);
  }
  return lines;
}

function variablesBlock(): string[] {
  return componentSchemaInputs().map((s) => `    ${inputVariable(s.name)}: "$[[ inputs.${s.name} ]]"`);
}

/**
 * The names of the inputs the job passes on, written into the script itself: a list in a variable could
 * be replaced by a pipeline variable and make the job read any variable it names.
 */
function inputNamesBlock(): string[] {
  const names = componentSchemaInputs().map((s) => s.name);
  const lines = ['      input_names=('];
  for (const name of names) lines.push(`        ${name}`);
  lines.push('      )');
  return lines;
}

/** Markdown table cell: one line, no pipes, no raw angle brackets. */
function cell(text: string): string {
  return text
    .replaceAll('|', '\\|')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replace(/\s*\n\s*/g, ' ');
}

function docsBlock(): string[] {
  const lines = ['| Input | GitLab type | Default | Description |', '|---|---|---|---|'];
  for (const spec of componentSchemaInputs()) {
    const input = componentInput(spec);
    let type: string = input.type ?? 'string';
    if (input.options) type += `: ${input.options.map((o) => `\`${o}\``).join(', ')}`;
    else if (spec.options) type += ` of ${spec.options.map((o) => `\`${o}\``).join(', ')}`;
    const def =
      input.default === undefined
        ? '**required**'
        : input.default === ''
          ? ''
          : `\`${String(input.default)}\``;
    lines.push(`| \`${spec.name}\` | ${cell(type)} | ${def} | ${cell(spec.description)} |`);
  }
  return lines;
}

/** Replaces the lines between `BEGIN generated: <what>` and `END generated: <what>` markers. */
export function fillBlock(text: string, what: string, body: string[], file: string): string {
  const lines = text.split('\n');
  const begin = lines.findIndex((l) => l.includes(`BEGIN generated: ${what}`));
  const end = lines.findIndex((l) => l.includes(`END generated: ${what}`));
  if (begin === -1 || end < begin) throw new Error(`${file} lacks the "generated: ${what}" markers`);
  return [...lines.slice(0, begin + 1), ...body, ...lines.slice(end)].join('\n');
}

export function renderTemplate(current: string): string {
  const withInputs = fillBlock(current, 'schema inputs', inputsBlock(), 'template.yml');
  const withVariables = fillBlock(withInputs, 'schema variables', variablesBlock(), 'template.yml');
  return fillBlock(withVariables, 'input names', inputNamesBlock(), 'template.yml');
}

export function renderGitlabMd(current: string): string {
  return fillBlock(current, 'component inputs', docsBlock(), 'docs/gitlab.md');
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const files = [
    { file: TEMPLATE_YML, text: renderTemplate(readFileSync(TEMPLATE_YML, 'utf8')) },
    { file: GITLAB_MD, text: renderGitlabMd(readFileSync(GITLAB_MD, 'utf8')) },
  ];
  return writeOrCheck(files, check, 'npx tsx scripts/gen-component.ts');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
