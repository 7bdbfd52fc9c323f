import { UserError } from '../errors.ts';

/**
 * What to build. The generated wrapper flake (see `wrapperFlake`) turns each into one output `image`.
 * - `builder`: mode (a), `builders.<system>.gceImage { extraModules }` of a builder flake.
 * - `nixos`: mode (b), `flake-attr: nixosConfigurations.<name>`, extended with the extra modules via
 *   `extendModules`, taking `config.system.build.images.google-compute` (NixOS ≥ 25.05) or else
 *   `config.system.build.googleComputeImage` (older releases).
 * - `derivation`: mode (b), any other `flake-attr`: an attribute path of the flake's outputs that
 *   already is an image derivation, e.g. `packages.x86_64-linux.image`; a single name `image` means
 *   `packages.<system>.image`, as with `nix build .#image`. Extra modules cannot apply to it.
 */
export type BuildTarget =
  | { kind: 'builder'; flakeRef: string; system: string; modules: string[] }
  | { kind: 'nixos'; flakeRef: string; name: string; modules: string[] }
  | { kind: 'derivation'; flakeRef: string; attrPath: string[] };

/** Prefix of the wrapper's own evaluation errors; `build.ts` maps the code after it to a sentence. */
export const WRAPPER_ERROR = 'nix-glab-runner-error:';
export type WrapperErrorCode = 'missing-builder' | 'missing-attr' | 'not-derivation' | 'no-gce-image';

/** Splits a flake attribute path on dots, honouring double-quoted segments (`nixosConfigurations."a.b"`). */
export function splitAttrPath(attr: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^."]+))\s*(\.|$)/y;
  let pos = 0;
  while (pos < attr.length) {
    re.lastIndex = pos;
    const m = re.exec(attr);
    if (!m)
      throw new UserError(
        `The flake-attr input "${attr}" is not an attribute path such as packages.x86_64-linux.image or nixosConfigurations.runner.`,
        'flake-attr',
      );
    parts.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
    pos = re.lastIndex;
    if (m[3] === '.' && pos >= attr.length) parts.push(''); // trailing dot: caught below
  }
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new UserError(
      `The flake-attr input "${attr}" is not an attribute path such as packages.x86_64-linux.image or nixosConfigurations.runner.`,
      'flake-attr',
    );
  }
  return parts;
}

/** Decides the mode (b) target form of a `flake-attr` value (see BuildTarget). */
export function targetForAttr(
  flakeRef: string,
  attr: string,
  system: string,
  modules: string[],
): BuildTarget {
  const path = splitAttrPath(attr);
  if (path[0] === 'nixosConfigurations') {
    const name = path[1];
    if (path.length !== 2 || name === undefined) {
      throw new UserError(
        `The flake-attr input "${attr}" must be nixosConfigurations.<name> to build a NixOS configuration's image.`,
        'flake-attr',
      );
    }
    return { kind: 'nixos', flakeRef, name, modules };
  }
  if (modules.length > 0) {
    throw new UserError(
      `The extra-modules input cannot change flake-attr "${attr}", which names a finished image derivation; point flake-attr at nixosConfigurations.<name> or drop extra-modules.`,
      'extra-modules',
    );
  }
  return { kind: 'derivation', flakeRef, attrPath: path.length === 1 ? ['packages', system, ...path] : path };
}

/** A Nix string literal. */
export function nixString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('${', '\\${').replaceAll('\n', '\\n')}"`;
}

/** A Nix path literal for a module copied into the wrapper (`m/0-extra.nix` → `./m/0-extra.nix`). */
function nixPath(relPath: string): string {
  if (!/^[A-Za-z0-9._+/-]+$/.test(relPath) || relPath.includes('..'))
    throw new Error(`bad wrapper path ${relPath}`);
  return `./${relPath}`;
}

function nixList(items: string[]): string {
  return `[ ${items.map((i) => `${i} `).join('')}]`;
}

/**
 * The wrapper flake's flake.nix. Its one input is the target flake, its extra modules are files
 * copied next to it, so the build stays pure (no --impure) and sees nothing else of the workspace.
 */
export function wrapperFlake(target: BuildTarget): string {
  const common = `      fail = code: throw "${WRAPPER_ERROR}\${code}";
      lookup = path: builtins.foldl' (acc: name: if builtins.isAttrs acc && builtins.hasAttr name acc then acc.\${name} else null) target path;`;
  let body: string;
  switch (target.kind) {
    case 'builder':
      body = `      gceImage = lookup [ "builders" ${nixString(target.system)} "gceImage" ];
      image = if builtins.isFunction gceImage || builtins.isAttrs gceImage
        then gceImage { extraModules = ${nixList(target.modules.map(nixPath))}; }
        else fail "missing-builder";`;
      break;
    case 'nixos':
      body = `      configuration = lookup [ "nixosConfigurations" ${nixString(target.name)} ];
      modules = ${nixList(target.modules.map(nixPath))};
      extended = if modules == [ ] then configuration else configuration.extendModules { inherit modules; };
      build = extended.config.system.build;
      image =
        if !(builtins.isAttrs configuration) then fail "missing-attr"
        else if build ? images && build.images ? google-compute then build.images.google-compute
        else if build ? googleComputeImage then build.googleComputeImage
        else fail "no-gce-image";`;
      break;
    case 'derivation':
      body = `      value = lookup ${nixList(target.attrPath.map(nixString))};
      image =
        if value == null then fail "missing-attr"
        else if builtins.isAttrs value && (value.type or null) == "derivation" then value
        else fail "not-derivation";`;
      break;
  }
  return `# Generated by nix-glab-runner for one build; safe to delete.
{
  description = "nix-glab-runner build wrapper";
  inputs.target.url = ${nixString(target.flakeRef)};
  outputs = { self, target }:
    let
${common}
${body}
    in
    { inherit image; };
}
`;
}
