/** Checks for the parts of docs/getting-started.md that cannot run here: gcloud help and Nix options. */
import { spawn } from 'node:child_process';
import { nixEval, nixString, optionDeclarations } from '../nix/helpers.ts';

export interface Help {
  code: number | null;
  text: string;
  /** The command path help names, e.g. `iam service-accounts create`. */
  command: string;
  /** True when help describes a command group rather than a command. */
  isGroup: boolean;
  /** Every `--flag` the help text mentions, gcloud-wide flags included. */
  flags: string[];
}

/** The words of a recorded gcloud call up to its first flag: the command path and its positionals. */
export function positionals(call: string[]): string[] {
  const firstFlag = call.findIndex((a) => a.startsWith('-'));
  return firstFlag === -1 ? call : call.slice(0, firstFlag);
}

/** `gcloud WORDS --help`, with gcloud's formatting removed. */
export function gcloudHelp(words: string[]): Promise<Help> {
  return new Promise((resolve, reject) => {
    const child = spawn('gcloud', [...words, '--help'], {
      env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1', PAGER: 'cat', CLOUDSDK_PAGER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let raw = '';
    child.stdout.on('data', (d) => {
      raw += d;
    });
    child.stderr.on('data', (d) => {
      raw += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: gcloud's help carries ANSI escapes.
      const text = raw.replace(/\x1b\[[0-9;]*m/g, '');
      const name = /^NAME\n\s+gcloud (.+?) - /m.exec(text);
      const synopsis = /^SYNOPSIS\n\s+(.+)$/m.exec(text)?.[1] ?? '';
      resolve({
        code,
        text,
        command: name?.[1] ?? '',
        isGroup: /\b(GROUP|COMMAND)\b/.test(synopsis),
        flags: [...new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? [])],
      });
    });
  });
}

/**
 * The option paths declared under services.nix-glab-runner, read from nix/modules/options.nix with a
 * stand-in for nixpkgs' `lib` (test/nix/helpers.ts, optionDeclarations).
 */
export function declaredOptions(): string[] {
  return optionDeclarations().map((d) => d.path);
}

/** The leaf settings under services.nix-glab-runner of a module file that is a plain attribute set. */
export function moduleSettings(file: string): Record<string, unknown> {
  return nixEval<Record<string, unknown>>(`
    let
      walk = prefix: attrs: builtins.foldl' (acc: name:
        let
          value = attrs.\${name};
          path = if prefix == "" then name else "\${prefix}.\${name}";
        in acc // (if builtins.isAttrs value then walk path value else { \${path} = value; }))
        { } (builtins.attrNames attrs);
    in walk "" (import ${nixString(file)}).services.nix-glab-runner`);
}
