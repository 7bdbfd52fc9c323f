import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Fails (never skips) when a tool is missing, with the command that installs it. */
export function requireTool(tool: string, versionFlag: string, hint: string): void {
  try {
    execFileSync(tool, [versionFlag], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is required for this test: ${hint}`);
  }
}

export function requireNixInstantiate(): void {
  requireTool('nix-instantiate', '--version', 'install nix: apt-get install -y nix-bin');
}

/** Files under `dir` (relative to the repository) whose names end with `suffix`. */
export function filesUnder(dir: string, suffix: string): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith(suffix)) found.push(relative(REPO, full));
    }
  };
  walk(join(REPO, dir));
  return found.sort();
}

/** Evaluates a Nix expression (strictly, in the repository) and returns it as JSON. */
export function nixEval<T>(expression: string): T {
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expression], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as T;
}

/** The error message of a Nix expression that must fail to evaluate. */
export function nixEvalError(expression: string): string {
  try {
    nixEval(expression);
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error);
  }
  throw new Error(`expected evaluation to fail: ${expression}`);
}

/** A Nix string literal. */
export function nixString(value: string): string {
  return JSON.stringify(value).replaceAll('${', '\\${');
}

export const LIB = '(import ./nix/lib.nix)';

/**
 * Our module's option declarations (nix/modules/options.nix), read with a stand-in for nixpkgs' `lib` that
 * records what each mkOption call was given: nixpkgs is not on this machine.
 */
const OPTION_DECLARATIONS = `
  let
    type = name: { _type = name; };
    lib = {
      mkOption = attrs: attrs // { _isOption = true; };
      types = {
        bool = type "bool";
        str = type "str";
        package = type "package";
        port = type "port";
        strMatching = _: type "strMatching";
        nullOr = _: type "nullOr";
        enum = _: type "enum";
        listOf = _: type "listOf";
        ints = { positive = type "positive"; between = _: _: type "between"; };
      };
    };
    root = (import ./nix/modules/options.nix { inherit lib; }).options.services.nix-glab-runner;
    walk = prefix: attrs: builtins.concatLists (builtins.attrValues (builtins.mapAttrs (name: value:
      let path = if prefix == "" then name else "\${prefix}.\${name}"; in
      if value ? _isOption then [ {
        inherit path;
        hasType = value ? type;
        hasDefault = value ? default;
        description = value.description or "";
      } ] else walk path value) attrs));
  in walk "" root`;

export interface Declaration {
  path: string;
  hasType: boolean;
  hasDefault: boolean;
  description: string;
}

export function optionDeclarations(): Declaration[] {
  return nixEval<Declaration[]>(OPTION_DECLARATIONS);
}
