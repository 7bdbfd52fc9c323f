import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, requireNixInstantiate } from './helpers.ts';

/**
 * Settings of single modules under nix/modules, read with real Nix against a stand-in for the few
 * nixpkgs `lib` functions they call (nixpkgs cannot be fetched here). Priorities are kept as data
 * (`mkDefault` is priority 1000, as in nixpkgs), so a test can tell a default from a hard setting.
 * Anything the stand-in lacks throws, so a module that needs more fails here instead of passing.
 */
const LIB = `{
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  mkBefore = content: { _type = "order"; priority = 500; inherit content; };
  optional = c: x: if c then [ x ] else [ ];
  optionals = c: xs: if c then xs else [ ];
  optionalAttrs = c: a: if c then a else { };
  hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  concatStringsSep = builtins.concatStringsSep;
  concatMapStringsSep = sep: f: xs: builtins.concatStringsSep sep (map f xs);
  escapeShellArgs = xs: builtins.concatStringsSep " " xs;
  getExe = drv: "\${drv}/bin/exe";
}`;

/**
 * `select` (a Nix function) applied to the module's `config` for these settings, with mkIf/mkMerge
 * resolved. Only what `select` returns is evaluated, so scripts (which need real pkgs) stay unbuilt.
 */
function configOf(module: string, settings: string, select = 'c: c', system = 'x86_64-linux'): unknown {
  return nixEval(`
    let
      glab = import ./nix/lib.nix;
      lib = ${LIB};
      isPlain = v: builtins.isAttrs v && !(v ? _type);
      merge2 = a: b: a // builtins.mapAttrs (n: v:
        if isPlain v && isPlain (a.\${n} or null) then merge2 a.\${n} v
        else if builtins.isList v && builtins.isList (a.\${n} or null) then a.\${n} ++ v
        else v) b;
      resolve = v:
        if builtins.isAttrs v && (v._type or null) == "if" then (if v.condition then resolve v.content else { })
        else if builtins.isAttrs v && (v._type or null) == "merge" then
          builtins.foldl' merge2 { } (map resolve v.contents)
        else if isPlain v then builtins.mapAttrs (_: resolve) v
        else v;
      cfg = (import ./nix/modules/options.nix {
        lib = {
          mkOption = o: o.default;
          types = builtins.mapAttrs (_: _: null) { bool = 0; str = 0; int = 0; path = 0; lines = 0; package = 0; port = 0; }
            // { strMatching = _: null; nullOr = _: null; enum = _: null; listOf = _: null; attrsOf = _: null;
                 either = _: _: null; submodule = _: null;
                 ints = { positive = null; unsigned = null; between = _: _: null; }; };
        };
      }).options.services.nix-glab-runner;
      module = import ./nix/modules/${module} {
        inherit lib;
        options = { };
        pkgs = {
          stdenv.hostPlatform = { isx86_64 = ${system === 'x86_64-linux'}; isAarch64 = ${system === 'aarch64-linux'}; };
          writeShellScript = name: text: "/nix/store/script-\${name}";
          writeShellApplication = a: a.name;
        };
        config = {
          services.nix-glab-runner = cfg // { enable = true; } // (${settings});
          services.gitlab-runner.package = "gitlab-runner";
          services.gitlab-runner.services.\${glab.defaultRunnerName} = {
            tagList = [ "nix" ];
            authenticationTokenConfigFile = glab.paths.runnerEnv;
            registrationConfigFile = null;
            environmentVariables = { };
          };
          virtualisation.docker.package = "docker";
          nix.package = "nix";
          environment.etc = { };
        };
      };
    in (${select}) (resolve module.config)
  `);
}

interface Override {
  _type: string;
  priority: number;
  content: unknown;
}

describe('module settings', () => {
  beforeAll(requireNixInstantiate);

  it('sets openssh password and keyboard-interactive logins off at default priority, so a user value wins', () => {
    const config = configOf('security.nix', '{ }', 'c: { services.openssh = c.services.openssh; }') as {
      services: { openssh: { settings: Record<string, Override> } };
    };
    const { PasswordAuthentication, KbdInteractiveAuthentication } = config.services.openssh.settings;
    expect(PasswordAuthentication).toEqual({ _type: 'override', priority: 1000, content: false });
    expect(KbdInteractiveAuthentication).toEqual({ _type: 'override', priority: 1000, content: false });
  });

  it('leaves the tagList warning to nixpkgs, which already gives it', () => {
    const config = configOf('runner.nix', '{ }', 'c: { warnings = c.warnings or [ ]; }') as {
      warnings?: string[];
    };
    expect((config.warnings ?? []).filter((w) => /tagList/.test(w))).toEqual([]);
  });

  it('unregisters at shutdown alongside the runner stop, not after it', () => {
    const unitOnly = `c: { systemd.services.nix-glab-runner-unregister = {
      inherit (c.systemd.services.nix-glab-runner-unregister) after wants;
      before = c.systemd.services.nix-glab-runner-unregister.before or [ ];
      serviceConfig.TimeoutStopSec = c.systemd.services.nix-glab-runner-unregister.serviceConfig.TimeoutStopSec;
    }; }`;
    const config = configOf('runner.nix', '{ }', unitOnly) as {
      systemd: {
        services: Record<
          string,
          { before?: string[]; after?: string[]; serviceConfig: Record<string, unknown> }
        >;
      };
    };
    const unit = config.systemd.services['nix-glab-runner-unregister'];
    expect(unit).toBeDefined();
    // Stop order is the reverse of start order: `before = gitlab-runner` made it wait for the runner's stop.
    expect(unit?.before ?? []).not.toContain('gitlab-runner.service');
    expect(unit?.after ?? []).not.toContain('gitlab-runner.service');
    expect(unit?.after).toContain('network-online.target');
    expect(unit?.serviceConfig.TimeoutStopSec).toBe('30s');
  });

  it('passKvm loads the KVM module that matches the CPU, Intel or AMD', () => {
    const kvmOn = '{ docker = cfg.docker // { passKvm = true; }; }';
    const select = `c: {
      boot.kernelModules = c.boot.kernelModules or [ ];
      unit = { inherit (c.systemd.services.nix-glab-runner-kvm) before wantedBy; };
      execStart = c.systemd.services.nix-glab-runner-kvm.serviceConfig.ExecStart;
    }`;
    const config = configOf('kvm.nix', kvmOn, select) as {
      boot: { kernelModules: string[] };
      unit: { before: string[]; wantedBy: string[] };
      execStart: string;
    };
    expect(config.execStart).toMatch(/^nix-glab-runner-load-kvm\//);
    expect(config.unit.before).toContain('docker.service');
    expect(config.unit.wantedBy).toContain('multi-user.target');
    // Not boot.kernelModules: the other vendor's module fails with EOPNOTSUPP and fails systemd-modules-load.
    expect(config.boot.kernelModules).toEqual([]);
    expect(configOf('kvm.nix', '{ }')).toEqual({});
    expect(configOf('kvm.nix', kvmOn, 'c: c', 'aarch64-linux')).toEqual({});
  });

  it('docker.nix no longer loads kvm-intel alone', () => {
    const kvmOn = '{ docker = cfg.docker // { passKvm = true; }; }';
    const config = configOf(
      'docker.nix',
      kvmOn,
      'c: { boot.kernelModules = c.boot.kernelModules or [ ]; }',
    ) as {
      boot: { kernelModules?: string[] };
    };
    expect(config.boot.kernelModules ?? []).toEqual([]);
  });
});
