import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, nixEval, REPO, requireNixInstantiate } from './helpers.ts';

/**
 * Every `services.nix-glab-runner.*` option that an example or a document sets is one our module
 * declares, and every `services.gitlab-runner.*` option is one nixpkgs 25.11 declares.
 *
 * Our declarations come from nix/modules/options.nix, evaluated with real Nix against a stand-in for
 * nixpkgs' `lib` that records each mkOption call (nixpkgs cannot be fetched here). nixpkgs' own
 * declarations are data read from its source (data/nixpkgs-gitlab-runner-options.json names the file
 * and commit). Example modules are evaluated with real Nix too, so nested attribute sets count, not
 * only dotted names.
 */

const STAND_IN_LIB = `
  let
    type = name: { _type = name; };
    wrap = kind: content: { _type = kind; inherit content; };
  in {
    mkOption = attrs: attrs // { _isOption = true; };
    mkEnableOption = description: { _isOption = true; inherit description; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkDefault = wrap "override";
    mkForce = wrap "override";
    mkOverride = _: wrap "override";
    mkBefore = wrap "order";
    mkAfter = wrap "order";
    types = {
      bool = type "bool";
      str = type "str";
      int = type "int";
      path = type "path";
      lines = type "lines";
      package = type "package";
      port = type "port";
      nonEmptyStr = type "nonEmptyStr";
      strMatching = _: type "strMatching";
      nullOr = _: type "nullOr";
      enum = _: type "enum";
      listOf = _: type "listOf";
      attrsOf = _: type "attrsOf";
      either = _: _: type "either";
      ints = { positive = type "positive"; unsigned = type "unsigned"; between = _: _: type "between"; };
    };
  }`;

/** Dotted paths of every option declared under services.nix-glab-runner. */
const OUR_DECLARATIONS = `
  let
    lib = ${STAND_IN_LIB};
    root = (import ./nix/modules/options.nix { inherit lib; }).options.services.nix-glab-runner;
    walk = prefix: attrs: builtins.concatLists (builtins.attrValues (builtins.mapAttrs (name: value:
      let path = if prefix == "" then name else "\${prefix}.\${name}"; in
      if value ? _isOption then [ path ] else walk path value) attrs));
  in walk "" root`;

/**
 * The option paths a module file sets under `services`, as lists of attribute names. Values wrapped in
 * mkForce and friends are leaves; mkIf and mkMerge are looked through.
 */
function pathsSetBy(file: string): string[][] {
  return nixEval<string[][]>(`
    let
      lib = ${STAND_IN_LIB};
      imported = import ./${file};
      module = if builtins.isFunction imported
        then imported { inherit lib; config = { }; options = { }; pkgs = { }; modulesPath = "/"; }
        else imported;
      definitions = module.config or (builtins.removeAttrs module [ "imports" "options" ]);
      unwrap = value:
        if !(builtins.isAttrs value) then [ value ]
        else if (value._type or null) == "if" then unwrap value.content
        else if (value._type or null) == "merge" then builtins.concatMap unwrap value.contents
        else [ value ];
      walk = path: value: builtins.concatMap (v:
        if builtins.isAttrs v && !(v ? _type) && v != { }
        then builtins.concatLists (builtins.attrValues (builtins.mapAttrs (n: walk (path ++ [ n ])) v))
        else [ path ]) (unwrap value);
    in walk [ ] (definitions.services or { })
  `).map((path) => ['services', ...path]);
}

/** `services.gitlab-runner.services.nix.tagList` in prose or code, with trailing dots and `*` dropped. */
function pathsNamedIn(text: string): string[][] {
  const names = text.matchAll(/services\.(?:nix-glab-runner|gitlab-runner)(?:\.[A-Za-z0-9_<>${}-]+)*/g);
  return [...names].map((m) => m[0].split('.'));
}

interface NixpkgsData {
  source: { repository: string; path: string; commit: string };
  prefix: string;
  options: string[];
  renamed: Record<string, string>;
  removed: string[];
}

const nixpkgs = JSON.parse(
  readFileSync(join(REPO, 'test/nix/data/nixpkgs-gitlab-runner-options.json'), 'utf8'),
) as NixpkgsData;

const matches = (declared: string[], used: string[]): boolean =>
  declared.every((segment, i) => segment === '<name>' || segment === used[i]);

/**
 * Why a path is not an option, or undefined when it is. A path is fine when it names a declared option
 * or goes inside one (`settings.concurrent`); a prose mention may also name a namespace
 * (`services.gitlab-runner.services.nix`).
 */
function problem(used: string[], ours: string[][], prose: boolean): string | undefined {
  const [, module, ...rest] = used;
  const declared = module === 'nix-glab-runner' ? ours : nixpkgs.options.map((option) => option.split('.'));
  if (module === 'gitlab-runner') {
    const old = Object.keys(nixpkgs.renamed).find((from) => matches(from.split('.'), rest));
    if (old) return `renamed in nixpkgs to services.gitlab-runner.${nixpkgs.renamed[old]}`;
  }
  // Inside an option only when it has no declared sub-options (`services.<name>.*` has them).
  const hasChildren = (d: string[]) => declared.some((e) => e.length > d.length && matches(d, e));
  const inside = (d: string[]) => d.length === rest.length || !hasChildren(d);
  if (declared.some((d) => d.length <= rest.length && matches(d, rest) && inside(d))) return undefined;
  if (prose && declared.some((d) => d.length > rest.length && matches(d.slice(0, rest.length), rest)))
    return undefined;
  return module === 'nix-glab-runner'
    ? 'not declared in nix/modules/options.nix'
    : `not declared by nixpkgs (${nixpkgs.source.path} at ${nixpkgs.source.commit})`;
}

function problems(paths: string[][], ours: string[][], prose: boolean): string[] {
  return paths.flatMap((path) => {
    const why = problem(path, ours, prose);
    return why ? [`${path.join('.')}: ${why}`] : [];
  });
}

describe('options set in examples and docs exist', () => {
  let ours: string[][];

  beforeAll(() => {
    requireNixInstantiate();
    ours = nixEval<string[]>(OUR_DECLARATIONS).map((path) => path.split('.'));
  });

  const nixFiles = ['examples', 'templates'].flatMap((dir) => filesUnder(dir, '.nix'));
  const modules = nixFiles.filter((file) => !file.endsWith('flake.nix'));
  const prose = [
    'README.md',
    ...filesUnder('docs', '.md'),
    ...filesUnder('examples', '.md'),
    ...filesUnder('examples', '.yml'),
    ...nixFiles,
  ];

  it('finds the example modules and the documents to check', () => {
    expect(modules).toEqual(
      expect.arrayContaining(['examples/demo/runner.nix', 'examples/github/runner.nix']),
    );
    expect(prose).toEqual(expect.arrayContaining(['docs/nixos.md', 'README.md']));
  });

  it.each(modules)('%s sets only declared options (evaluated with real Nix)', (file) => {
    const paths = pathsSetBy(file);
    expect(paths.length, `${file} sets no services.* option`).toBeGreaterThan(0);
    expect(problems(paths, ours, false)).toEqual([]);
  });

  it.each(prose)('%s names only declared options', (file) => {
    const paths = pathsNamedIn(readFileSync(join(REPO, file), 'utf8'));
    expect(problems(paths, ours, true)).toEqual([]);
  });

  it('catches an undeclared option, a renamed one and a misspelt nixpkgs one', () => {
    const check = (path: string) => problems([path.split('.')], ours, false);
    expect(check('services.nix-glab-runner.concurrent')).toEqual([
      'services.nix-glab-runner.concurrent: not declared in nix/modules/options.nix',
    ]);
    expect(check('services.gitlab-runner.concurrent')[0]).toMatch(
      /renamed in nixpkgs to .*settings\.concurrent/,
    );
    expect(check('services.gitlab-runner.services.nix.tagLists')[0]).toMatch(/not declared by nixpkgs/);
    expect(check('services.gitlab-runner.settings.concurrent')).toEqual([]);
    expect(check('services.gitlab-runner.services.nix.tagList')).toEqual([]);
    expect(check('services.nix-glab-runner.store.mode')).toEqual([]);
    // A namespace is an option only in prose ("services.nix-glab-runner.docker options").
    expect(check('services.nix-glab-runner.docker')).toHaveLength(1);
    expect(problems([['services', 'nix-glab-runner', 'docker']], ours, true)).toEqual([]);
  });

  it('evaluates nested attribute sets and lib.mkForce in an example module', () => {
    const paths = pathsSetBy('examples/demo/runner.nix').map((p) => p.join('.'));
    expect(paths).toContain('services.gitlab-runner.services.nix.tagList');
    expect(paths.filter((p) => p.includes('_type') || p.includes('content'))).toEqual([]);
  });
});
