import { describe, expect, it } from 'vitest';
import { EXIT_CODE_MEANINGS, helpText, parseArgs, withSecretInputsFromEnv } from '../../src/cli/args.ts';
import { COMMANDS, inputsFor, parseConfig } from '../../src/config.ts';
import { ExitCode, UserError } from '../../src/errors.ts';

function refusal(argv: string[]): UserError {
  try {
    parseArgs(argv);
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('parseArgs', () => {
  it('maps --flag value and --flag=value to the raw input map', () => {
    const args = parseArgs(['publish', '--bucket', 'my-bucket', '--family=runners', '--json', '--verbose']);
    expect(args).toEqual({
      command: 'publish',
      raw: { bucket: 'my-bucket', family: 'runners' },
      json: true,
      verbose: true,
    });
  });

  it('appends repeated list and map flags', () => {
    const { raw } = parseArgs([
      'publish',
      '--extra-modules',
      'a.nix',
      '--extra-modules=b.nix,c.nix',
      '--labels',
      'a=1',
      '--labels',
      'b=2',
    ]);
    expect(raw['extra-modules']).toBe('a.nix\nb.nix,c.nix');
    expect(raw.labels).toBe('a=1\nb=2');
  });

  it('takes bare boolean flags as true and an explicit true/false word as the value', () => {
    const { raw } = parseArgs(['publish', '--dry-run', '--keep-object', 'false', '--allow-rolled-back=TRUE']);
    expect(raw).toEqual({ 'dry-run': 'true', 'keep-object': 'false', 'allow-rolled-back': 'TRUE' });
    // A bare boolean does not swallow the next flag.
    expect(parseArgs(['publish', '--dry-run', '--bucket', 'b']).raw).toEqual({
      'dry-run': 'true',
      bucket: 'b',
    });
  });

  it('produces input that parseConfig accepts', () => {
    const { raw } = parseArgs([
      'publish',
      '--bucket',
      'my-bucket',
      '--dry-run',
      '--operation-timeout',
      '90s',
    ]);
    expect(parseConfig(raw, { workspace: process.cwd(), ci: false })).toMatchObject({
      bucket: 'my-bucket',
      dryRun: true,
      operationTimeout: 90,
    });
  });

  it('recognises help and version in every spelling', () => {
    expect(parseArgs([]).command).toBe('help');
    expect(parseArgs(['--help'])).toMatchObject({ command: 'help' });
    expect(parseArgs(['publish', '--help'])).toMatchObject({ command: 'help', topic: 'publish' });
    expect(parseArgs(['help', 'publish'])).toMatchObject({ command: 'help', topic: 'publish' });
    expect(parseArgs(['-h'])).toMatchObject({ command: 'help' });
    expect(parseArgs(['--version']).command).toBe('version');
    expect(parseArgs(['-V']).command).toBe('version');
  });

  it('refuses unknown flags naming the closest input', () => {
    expect(refusal(['publish', '--extra-module', 'a.nix']).message).toBe(
      'Unknown flag "--extra-module"; did you mean "--extra-modules"?',
    );
    expect(refusal(['publish', '--buckt=b']).message).toBe(
      'Unknown flag "--buckt"; did you mean "--bucket"?',
    );
    expect(refusal(['publish', '--zzzzzzzzzzzz']).message).toBe('Unknown flag "--zzzzzzzzzzzz".');
    expect(refusal(['publish', '-x']).message).toMatch(/^Unknown flag "-x"/);
  });

  it('refuses unknown commands, stray arguments, missing values and repeated single flags', () => {
    expect(refusal(['pubish']).message).toBe('Unknown command "pubish"; did you mean "publish"?');
    expect(refusal(['publish', 'x.nix']).message).toMatch(/Unexpected argument "x.nix"/);
    const missing = refusal(['publish', '--bucket']);
    expect(missing.message).toBe('Flag "--bucket" needs a value, as in --bucket=VALUE.');
    expect(missing.input).toBe('bucket');
    expect(refusal(['publish', '--bucket', '--dry-run']).message).toMatch(/needs a value/);
    expect(refusal(['publish', '--bucket', 'a', '--bucket', 'b']).message).toBe(
      'Flag "--bucket" was given more than once.',
    );
    expect(refusal(['--bucket', 'b']).message).toMatch(/A command is needed/);
  });

  it('gives every refusal the bad-input exit code and one line', () => {
    for (const argv of [['nope'], ['publish', '--nope'], ['publish', '--family']]) {
      const error = refusal(argv);
      expect(error.exitCode).toBe(ExitCode.BadInput);
      expect(error.message).not.toContain('\n');
    }
  });
});

describe('secret inputs from the environment', () => {
  const env = {
    NGR_INPUT_GITHUB_TOKEN: 'ghp_env',
    NGR_INPUT_EXTRA_NIX_CONFIG: 'access-tokens = github.com=ghp_env',
    NGR_INPUT_BUCKET: 'not-a-secret-input',
  };
  it('reads github-token and extra-nix-config from NGR_INPUT_*, and no other input', () => {
    expect(withSecretInputsFromEnv(parseArgs(['publish', '--bucket', 'b']), env).raw).toEqual({
      bucket: 'b',
      'github-token': 'ghp_env',
      'extra-nix-config': 'access-tokens = github.com=ghp_env',
    });
    expect(withSecretInputsFromEnv(parseArgs(['publish']), env).raw).not.toHaveProperty('bucket');
  });
  it('lets a flag win, and ignores commands without those inputs', () => {
    const args = withSecretInputsFromEnv(parseArgs(['publish', '--github-token', 'flag']), env);
    expect(args.raw['github-token']).toBe('flag');
    expect(withSecretInputsFromEnv(parseArgs(['prune', '--family', 'f']), env).raw).toEqual({ family: 'f' });
  });
  it('says so in help', () => {
    expect(helpText('publish')).toContain('NGR_INPUT_GITHUB_TOKEN');
  });
});

describe('helpText', () => {
  it('lists every input of a command as a flag, grouped, and no action-only input', () => {
    for (const command of COMMANDS) {
      const text = helpText(command);
      for (const spec of inputsFor(command)) {
        const flag = new RegExp(`^  --${spec.name}\\b`, 'm');
        if (spec.actionOnly) expect(text, spec.name).not.toMatch(flag);
        else expect(text, `${command} --${spec.name}`).toMatch(flag);
      }
    }
    const help = helpText('publish');
    const order = ['Nix:', 'GCP target:', 'Image:', 'Retention:', 'Rollout:', 'Run:'].map((group) =>
      help.indexOf(`\n${group}\n`),
    );
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(help).toContain('Usage: nix-glab-runner publish --bucket <name> [flags]');
  });

  it('documents --json, --verbose and every exit code', () => {
    for (const help of [helpText(), helpText('publish')]) {
      expect(help).toContain('--json');
      expect(help).toContain('--verbose');
      for (const [key, code] of Object.entries(ExitCode)) {
        expect(help).toContain(
          `  ${String(code).padEnd(4)}${EXIT_CODE_MEANINGS[key as keyof typeof ExitCode]}`,
        );
      }
    }
  });

  it('keeps lines readable in a terminal', () => {
    for (const line of helpText('publish').split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});
