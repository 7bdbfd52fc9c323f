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
