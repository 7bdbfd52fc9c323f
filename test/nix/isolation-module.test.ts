/**
 * Issue 12: the parts of the runner module that keep jobs away from the host store, the metadata
 * server and privileged containers, read from the modules themselves.
 *
 * nixpkgs cannot be fetched here, so store.nix, docker.nix and security.nix are evaluated with real
 * Nix against a stand-in for the few nixpkgs `lib` functions they call (mkIf, mkMerge and mkDefault
 * keep their arguments so the test can follow them), option defaults read from options.nix, and a
 * config holding only what these modules read. `pkgs` functions return store-path-like strings;
 * anything else a module touched would throw. The NixOS VM tests (nix/tests/) check the same
 * behaviour in a running VM: a job's daemon connection is untrusted, its fixed-output builds cannot
 * reach the metadata server, its container is unprivileged and a dind service is privileged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, requireNixInstantiate } from './helpers.ts';

const STAND_IN = `
  let
    inherit (builtins) isAttrs concatMap head tail attrNames foldl' listToAttrs elem;
    type = name: { _type = name; };
    lib = {
      mkIf = condition: content: { _type = "if"; inherit condition content; };
      mkMerge = contents: { _type = "merge"; inherit contents; };
      mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
      mkOption = attrs: attrs // { _isOption = true; };
      optional = c: x: if c then [ x ] else [ ];
      optionals = c: xs: if c then xs else [ ];
      inherit elem;
      any = builtins.any;
      concatStringsSep = builtins.concatStringsSep;
      concatMapStringsSep = sep: f: xs: builtins.concatStringsSep sep (map f xs);
      getExe = drv: "\${drv}/bin/\${drv.name}";
      types = {
        bool = type "bool"; str = type "str"; package = type "package"; port = type "port";
        strMatching = _: type "strMatching"; nullOr = _: type "nullOr"; enum = _: type "enum";
        listOf = _: type "listOf"; ints = { positive = type "positive"; between = _: _: type "between"; };
      };
    };
    pkgs = {
      writeShellApplication = { name, ... }: { inherit name; outPath = "/nix/store/00000000000000000000000000000000-\${name}"; };
      stdenv.hostPlatform.isx86_64 = true;
    };

    # What options.nix declares, as { path = default; }.
    defaultsOf = v: if v ? _isOption then v.default else builtins.mapAttrs (_: defaultsOf) v;
    defaults = defaultsOf (import ./nix/modules/options.nix { inherit lib; }).options.services.nix-glab-runner;

    update = a: b: a // builtins.mapAttrs (n: v: if isAttrs v && isAttrs (a.\${n} or null) && !(v ? outPath) then update a.\${n} v else v) b;

    configWith = { settings ? { }, nixSettings ? { } }: {
      services.nix-glab-runner = update defaults ({ enable = true; } // settings);
      services.gitlab-runner = {
        package = "/nix/store/00000000000000000000000000000000-gitlab-runner";
        services.nix = { preBuildScript = null; environmentVariables = { }; };
      };
      virtualisation.docker.package = "/nix/store/00000000000000000000000000000000-docker";
      nix.package = "/nix/store/00000000000000000000000000000000-nix";
      # As NixOS sets them: build-users-group is left to Nix's default for a root daemon (nixbld).
      nix.settings = update {
        trusted-users = [ "root" ];
        substituters = [ ];
        trusted-public-keys = [ ];
      } nixSettings;
      environment.etc = { };
    };

    # The values a module sets at PATH, through every mkIf that holds, mkMerge and mkDefault.
    unwrap = v:
      if isAttrs v && v ? _type then
        if v._type == "if" then (if v.condition then unwrap v.content else [ ])
        else if v._type == "merge" then concatMap unwrap v.contents
        else if v._type == "override" then unwrap v.content
        else [ v ]
      else [ v ];
    lookup = path: v: concatMap (u:
      if path == [ ] then [ u ]
      else if isAttrs u && u ? \${head path} then lookup (tail path) u.\${head path}
      else [ ]) (unwrap v);

    evaluate = file: args: (import file ({ inherit lib pkgs; config = configWith args; })).config;
    failedAssertions = file: args:
      map (a: a.message) (builtins.filter (a: !a.assertion)
        (builtins.concatLists (lookup [ "assertions" ] (evaluate file args))));
  in`;

function evaluate<T>(body: string): T {
  return nixEval<T>(`${STAND_IN} ${body}`);
}

/** The one value a module sets at a path (lookup returns every value set there). */
function single<T>(values: T[]): T {
  expect(values).toHaveLength(1);
  return values[0] as T;
}

describe('section 1: jobs reach the host daemon as an untrusted user', () => {
  beforeAll(requireNixInstantiate);

  const RELAY = '[ "systemd" "services" "nix-glab-runner-job-daemon@" "serviceConfig" ]';

  it('runs the per-connection relay as an unprivileged user, not root', () => {
    const serviceConfig = single(
      evaluate<Record<string, unknown>[]>(`lookup ${RELAY} (evaluate ./nix/modules/store.nix { })`),
    );
    expect(serviceConfig.User).toBe('nix-glab-runner-jobs');
    expect(serviceConfig.ExecStart).toMatch(/nix-daemon --stdio --force-untrusted$/);
    expect(serviceConfig.PrivateNetwork).toBe(true);
    const users = evaluate<Record<string, { isSystemUser: boolean }>[]>(
      'lookup [ "users" "users" ] (evaluate ./nix/modules/store.nix { })',
    );
    expect(users.map((u) => u['nix-glab-runner-jobs']?.isSystemUser)).toEqual([true]);
  });

  it('refuses a configuration that trusts the relay user or everyone', () => {
    expect(evaluate<string[]>('failedAssertions ./nix/modules/store.nix { }')).toEqual([]);
    for (const trusted of ['"nix-glab-runner-jobs"', '"@nix-glab-runner-jobs"', '"*"']) {
      const messages = evaluate<string[]>(
        `failedAssertions ./nix/modules/store.nix { nixSettings.trusted-users = [ "root" ${trusted} ]; }`,
      );
      expect(messages, trusted).toHaveLength(1);
      expect(messages[0]).toMatch(/trusted-users includes nix-glab-runner-jobs .* every job a trusted user/);
    }
  });

  it('leaves allowed-users to the user, and refuses one that shuts the relay out', () => {
    const settings = evaluate<unknown[]>(
      'lookup [ "nix" "settings" ] (evaluate ./nix/modules/store.nix { })',
    );
    expect(settings.filter((s) => typeof s === 'object' && s !== null && 'allowed-users' in s)).toEqual([]);
    for (const allowed of ['"*"', '"nix-glab-runner-jobs"', '"@nix-glab-runner-jobs"'])
      expect(
        evaluate<string[]>(
          `failedAssertions ./nix/modules/store.nix { nixSettings.allowed-users = [ ${allowed} ]; }`,
        ),
        allowed,
      ).toEqual([]);
    const shut = evaluate<string[]>(
      'failedAssertions ./nix/modules/store.nix { nixSettings.allowed-users = [ "@wheel" ]; }',
    );
    expect(shut).toEqual([expect.stringMatching(/allowed-users does not admit nix-glab-runner-jobs/)]);
  });

  it('keeps upstream behaviour only when asked: trustJobs mounts the host socket and starts no relay', () => {
    const relay = evaluate<unknown[]>(
      `lookup ${RELAY} (evaluate ./nix/modules/store.nix { settings.store.trustJobs = true; })`,
    );
    expect(relay).toEqual([]);
  });
});

describe('section 2: the metadata guard covers the Nix build users', () => {
  beforeAll(requireNixInstantiate);

  const GUARD = '[ "systemd" "services" "nix-glab-runner-metadata-guard" "serviceConfig" ]';

  it('runs before Docker and the Nix daemon, which cannot start without it', () => {
    const unit = single(
      evaluate<{ requiredBy: string[]; before: string[] }[]>(
        'lookup [ "systemd" "services" "nix-glab-runner-metadata-guard" ] (evaluate ./nix/modules/security.nix { })',
      ),
    );
    for (const list of [unit.requiredBy, unit.before])
      expect([...list].sort()).toEqual(['docker.service', 'nix-daemon.service']);
  });

  it("passes the build users' group to the guard, in both store modes", () => {
    for (const mode of ['host-daemon', 'isolated']) {
      const config = single(
        evaluate<{ ExecStart: string; ExecStop: string }[]>(
          `lookup ${GUARD} (evaluate ./nix/modules/security.nix { settings.store.mode = "${mode}"; })`,
        ),
      );
      expect(config.ExecStart).toMatch(/metadata-guard add 80,443 nixbld$/);
      expect(config.ExecStop).toMatch(/metadata-guard remove 80,443 nixbld$/);
    }
    const custom = single(
      evaluate<{ ExecStart: string }[]>(
        `lookup ${GUARD} (evaluate ./nix/modules/security.nix { nixSettings.build-users-group = "builders"; })`,
      ),
    );
    expect(custom.ExecStart).toMatch(/ builders$/);
  });

  it('refuses build settings the guard cannot cover', () => {
    expect(evaluate<string[]>('failedAssertions ./nix/modules/security.nix { }')).toEqual([]);
    const noGroup = evaluate<string[]>(
      'failedAssertions ./nix/modules/security.nix { nixSettings.build-users-group = ""; }',
    );
    expect(noGroup).toEqual([expect.stringMatching(/build-users-group is empty/)]);
    const autoUids = evaluate<string[]>(
      'failedAssertions ./nix/modules/security.nix { nixSettings.auto-allocate-uids = true; }',
    );
    expect(autoUids).toEqual([expect.stringMatching(/auto-allocate-uids/)]);
    const off = evaluate<string[]>(
      'failedAssertions ./nix/modules/security.nix { settings.security.blockMetadataServer = false; nixSettings.auto-allocate-uids = true; }',
    );
    expect(off).toEqual([]);
  });
});

describe('section 3: job containers are not privileged by default', () => {
  beforeAll(requireNixInstantiate);

  interface Runner {
    dockerPrivileged: boolean;
    dockerServicesPrivileged: boolean;
    dockerAllowedPrivilegedServices: string[];
  }

  function runner(settings: string): Runner {
    return single(
      evaluate<Runner[]>(`
      let r = lookup [ "services" "gitlab-runner" "services" "nix" ] (evaluate ./nix/modules/docker.nix { settings = ${settings}; });
          one = name: builtins.head (concatMap (x: lookup [ name ] x) r);
      in [ {
        dockerPrivileged = one "dockerPrivileged";
        dockerServicesPrivileged = one "dockerServicesPrivileged";
        dockerAllowedPrivilegedServices = one "dockerAllowedPrivilegedServices";
      } ]`),
    );
  }

  it('by default, only docker:dind services run privileged', () => {
    expect(runner('{ }')).toEqual({
      dockerPrivileged: false,
      dockerServicesPrivileged: true,
      dockerAllowedPrivilegedServices: [
        'docker:dind',
        'docker:*-dind',
        'docker.io/library/docker:dind',
        'docker.io/library/docker:*-dind',
      ],
    });
  });

  it('privileged = "all" restores upstream: every job and service privileged, no service list', () => {
    expect(runner('{ docker.privileged = "all"; }')).toEqual({
      dockerPrivileged: true,
      dockerServicesPrivileged: false,
      dockerAllowedPrivilegedServices: [],
    });
  });

  it('privileged = "none": nothing privileged', () => {
    expect(runner('{ docker.privileged = "none"; }')).toEqual({
      dockerPrivileged: false,
      dockerServicesPrivileged: false,
      dockerAllowedPrivilegedServices: [],
    });
  });
});
