/**
 * CLI arguments → the raw input map parseConfig takes. Flags are the input names exactly (`--extra-modules`),
 * so the CLI, action.yml and the GitLab component share one vocabulary. Help text is generated from the
 * schema, so it cannot drift from it.
 */
import { COMMANDS, type Command, INPUT_GROUPS, type InputSpec, inputsFor, VERSION } from '../config.ts';
import { ExitCode, UserError } from '../errors.ts';
import { closest } from '../inputs/suggest.ts';

export type CliCommand = Command | 'help' | 'version';

export interface ParsedArgs {
  command: CliCommand;
  /** For `help`: the command whose help was asked for (`publish --help`, `help publish`). */
  topic?: Command;
  /** Input name → value as given; repeated list and map flags are joined with newlines. */
  raw: Record<string, string | undefined>;
  /** Print the outputs as one JSON object on stdout. */
  json: boolean;
  verbose: boolean;
}

const PROGRAM = 'nix-glab-runner';

const COMMAND_SUMMARIES: Record<Command, string> = {
  publish:
    'Build a NixOS image from a flake plus extra modules, upload it to Cloud Storage and create a versioned image in an image family. An unchanged build publishes nothing. A publish that created an image then prunes the family, and with --roll mig rolls the group onto the image.',
  roll: 'Roll a managed instance group onto an image (the newest of the family by default), draining each old runner before it is replaced.',
  prune:
    'Keep the newest managed images of the family ACTIVE and deprecate or delete older ones, never one in use and never the last ACTIVE one.',
  rollback: 'Deprecate the newest managed image of the family and roll the group back to the previous one.',
};

/** Flags every command takes, besides its inputs. */
const GLOBAL_FLAGS: readonly { flag: string; description: string }[] = [
  {
    flag: '--json',
    description: 'One JSON object on stdout: the outputs, or {error, input, exit-code}.',
  },
  { flag: '--verbose', description: 'Show debug detail.' },
  { flag: '-h, --help', description: 'Show help.' },
  { flag: '-V, --version', description: 'Print the version.' },
];

/** What each exit code means, for `--help` and the README. */
export const EXIT_CODE_MEANINGS: Record<keyof typeof ExitCode, string> = {
  Ok: 'Success, including a skipped publish of an unchanged build.',
  Failed: 'Unexpected failure: a bug or an unclassified API error.',
  BadInput: 'Bad input, or a name another build holds: nothing was uploaded or created.',
  NixFailed: 'The Nix stage failed (install or build).',
  CloudFailed: 'A Google Cloud call failed after retries.',
  RolledBack: 'The build was rolled back earlier; pass --allow-rolled-back to republish it.',
  Interrupted: 'Interrupted by SIGINT or SIGTERM.',
};

const BOOLEAN_WORD = /^(?:true|false)$/i;

function unknownFlag(flag: string, names: readonly string[]): UserError {
  const guess = closest(flag.replace(/^-+/, ''), [...names, 'json', 'verbose', 'help', 'version']);
  return new UserError(`Unknown flag "${flag}"${guess ? `; did you mean "--${guess}"?` : '.'}`);
}

function unknownCommand(word: string): UserError {
  const guess = closest(word, [...COMMANDS, 'help']);
  const hint = guess ? `did you mean "${guess}"?` : `the commands are ${COMMANDS.join(', ')}.`;
  return new UserError(`Unknown command "${word}"; ${hint}`);
}

/** Parses `argv` without the node and script entries (`process.argv.slice(2)`). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let command: Command | undefined;
  let helpWord = false;
  let help = false;
  let version = false;
  let json = false;
  let verbose = false;
  const given: { spec: InputSpec; value: string }[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '-V' || arg === '--version') version = true;
    else if (arg === '--json') json = true;
    else if (arg === '--verbose') verbose = true;
    else if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      // Inputs are validated against the command once it is known; all commands' inputs are accepted here.
      const spec = allInputs().find((s) => s.name === name);
      if (!spec)
        throw unknownFlag(
          `--${name}`,
          allInputs().map((s) => s.name),
        );
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (spec.type === 'boolean') {
          // A bare boolean flag means true; `--dry-run false` is read as the value false.
          if (next !== undefined && BOOLEAN_WORD.test(next)) {
            value = next;
            i++;
          } else value = 'true';
        } else {
          if (next === undefined || (next.startsWith('--') && next.length > 2)) {
            throw new UserError(`Flag "--${name}" needs a value, as in --${name}=VALUE.`, name);
          }
          value = next;
          i++;
        }
      }
      given.push({ spec, value });
    } else if (arg.startsWith('-') && arg !== '-') {
      throw unknownFlag(
        arg,
        allInputs().map((s) => s.name),
      );
    } else if (command === undefined && !helpWord) {
      if (arg === 'help') helpWord = true;
      else if ((COMMANDS as readonly string[]).includes(arg)) command = arg as Command;
      else throw unknownCommand(arg);
    } else if (helpWord && command === undefined) {
      if ((COMMANDS as readonly string[]).includes(arg)) command = arg as Command;
      else throw unknownCommand(arg);
    } else {
      throw new UserError(
        `Unexpected argument "${arg}"; inputs are given as flags, such as --extra-modules ${arg}.`,
      );
    }
  }

  const base = { json, verbose };
  if (version) return { command: 'version', raw: {}, ...base };
  if (help || helpWord) return { command: 'help', ...(command ? { topic: command } : {}), raw: {}, ...base };
  if (command === undefined) {
    if (given.length === 0) return { command: 'help', raw: {}, ...base };
    throw new UserError(`A command is needed before the flags, such as "${PROGRAM} publish --bucket …".`);
  }

  const raw: Record<string, string | undefined> = {};
  const names = flagsFor(command).map((s) => s.name);
  for (const { spec, value } of given) {
    if (!names.includes(spec.name)) {
      throw new UserError(`Flag "--${spec.name}" does not apply to the ${command} command.`, spec.name);
    }
    const previous = raw[spec.name];
    if (previous === undefined) raw[spec.name] = value;
    else if (spec.type === 'list' || spec.type === 'map') raw[spec.name] = `${previous}\n${value}`;
    else throw new UserError(`Flag "--${spec.name}" was given more than once.`, spec.name);
  }
  return { command, raw, ...base };
}

/** Inputs a command takes as flags: all but the action-only ones (the subcommand is the command). */
function flagsFor(command: Command): InputSpec[] {
  return inputsFor(command).filter((spec) => !spec.actionOnly);
}

function allInputs(): InputSpec[] {
  const seen = new Map<string, InputSpec>();
  for (const command of COMMANDS) for (const spec of flagsFor(command)) seen.set(spec.name, spec);
  return [...seen.values()];
}

/** How a flag's value is written, for help. */
function valueHint(spec: InputSpec): string {
  switch (spec.type) {
    case 'boolean':
      return '[=true|false]';
    case 'enum':
      return ` <${(spec.options ?? []).join('|')}>`;
    case 'list':
      return spec.options ? ' <feature,...>' : ' <file,...>';
    case 'map':
      return ' <key=value,...>';
    case 'duration':
      return ' <duration>';
    case 'number':
      return ' <n>';
    case 'string':
      return ` <${spec.valueName ?? 'value'}>`;
  }
}

const WIDTH = 100;
const INDENT = '      ';

function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/)) {
    if (line.trim() !== '' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
    }
    line += line.trim() === '' ? word : ` ${word}`;
  }
  if (line.trim() !== '') lines.push(line);
  return lines;
}

function flagHelp(spec: InputSpec): string[] {
  const notes: string[] = [];
  if (spec.required) notes.push('Required.');
  if (spec.type === 'list' && spec.options) notes.push(`One or more of ${spec.options.join(', ')}.`);
  if (spec.default !== undefined && spec.default !== '') notes.push(`Default: ${spec.default}.`);
  return [`  --${spec.name}${valueHint(spec)}`, ...wrap([spec.description, ...notes].join(' '), INDENT)];
}

function exitCodeHelp(): string[] {
  return (Object.keys(ExitCode) as (keyof typeof ExitCode)[]).map(
    (key) => `  ${String(ExitCode[key]).padEnd(4)}${EXIT_CODE_MEANINGS[key]}`,
  );
}

function globalHelp(): string[] {
  return ['Flags for every command:', ...GLOBAL_FLAGS.map((g) => `  ${g.flag.padEnd(16)}${g.description}`)];
}

/** Help for one command, or the overview when `command` is undefined. Generated from the schema. */
export function helpText(command?: Command): string {
  const lines: string[] = [];
  if (command === undefined) {
    lines.push(
      `${PROGRAM} ${VERSION}: build and publish reproducible NixOS GitLab runner images on Google Cloud.`,
      '',
      'Usage:',
      ...COMMANDS.map((c) => `  ${PROGRAM} ${c} [flags]`),
      `  ${PROGRAM} help <command>`,
      `  ${PROGRAM} --version`,
      '',
      'Commands:',
      ...COMMANDS.flatMap((c) => [`  ${c}`, ...wrap(COMMAND_SUMMARIES[c], INDENT)]),
      '',
      ...globalHelp(),
      '',
      `Run "${PROGRAM} help <command>" for a command's flags.`,
    );
  } else {
    const required = flagsFor(command)
      .filter((s) => s.required)
      .map((s) => ` --${s.name}${valueHint(s)}`)
      .join('');
    lines.push(
      `Usage: ${PROGRAM} ${command}${required} [flags]`,
      '',
      ...wrap(COMMAND_SUMMARIES[command], ''),
    );
    for (const group of INPUT_GROUPS) {
      const specs = flagsFor(command).filter((s) => s.group === group);
      if (specs.length === 0) continue;
      lines.push('', `${group}:`, ...specs.flatMap(flagHelp));
    }
    lines.push(
      '',
      ...globalHelp(),
      '',
      ...wrap(
        'Lists take commas or newlines, or repeat the flag. A bare boolean flag means true. Durations look like 90s, 20m or 1h30m.',
        '',
      ),
    );
  }
  lines.push('', 'Exit codes:', ...exitCodeHelp());
  return `${lines.join('\n')}\n`;
}
