/**
 * Issue 7, section 5: the runner module refuses a token path in the Nix store, which every user can read.
 *
 * nixpkgs cannot be fetched here, so the module is evaluated with real Nix against a stand-in for the two
 * nixpkgs `lib` functions its assertions use (`mkIf`, `hasPrefix`), and a config holding only what they
 * read. Anything else the module touches throws, so a stand-in that were missing something would fail the
 * evaluation rather than hide it. The flake's `checks` evaluate the module against real nixpkgs in CI.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, nixString, requireNixInstantiate } from '../nix/helpers.ts';

interface Assertion {
  assertion: boolean;
  message: string;
}

/** The runner module's assertions, for a tokenFile and an authenticationTokenConfigFile (Nix expressions). */
function assertions(tokenFile: string, authFile = 'null'): Assertion[] {
  return nixEval<Assertion[]>(`
    let
      glab = import ./nix/lib.nix;
      lib = {
        mkIf = condition: content: { _type = "if"; inherit condition content; };
        hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
      };
      module = import ./nix/modules/runner.nix {
        inherit lib;
        pkgs = throw "the assertions do not need pkgs";
        config = {
          services.nix-glab-runner = { enable = true; tokenFile = ${tokenFile}; };
          services.gitlab-runner.services.\${glab.defaultRunnerName} = {
            authenticationTokenConfigFile = ${authFile};
            registrationConfigFile = null;
          };
        };
      };
    in map (a: { inherit (a) assertion message; }) module.config.content.assertions
  `);
}

function failed(list: Assertion[]): string[] {
  return list.filter((a) => !a.assertion).map((a) => a.message);
}

describe('5. Secrets', () => {
  describe('runner module: no token path in the Nix store', () => {
    beforeAll(requireNixInstantiate);

    it('accepts a runtime token path such as /etc/gitlab-runner-env', () => {
      expect(failed(assertions(nixString('/etc/gitlab-runner-env')))).toEqual([]);
    });

    it('refuses a tokenFile string under /nix/store', () => {
      const messages = failed(assertions(nixString('/nix/store/0000000000000000000000000000000a-token')));
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/tokenFile is in the Nix store, which every user can read/);
    });

    it('refuses a tokenFile given as a path literal, which is copied into the store', () => {
      const messages = failed(assertions('./README.md'));
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/tokenFile is in the Nix store/);
    });

    it('refuses an authenticationTokenConfigFile in the store', () => {
      const messages = failed(
        assertions(
          nixString('/run/secrets/runner'),
          nixString('/nix/store/0000000000000000000000000000000b-t'),
        ),
      );
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/authenticationTokenConfigFile is in the Nix store/);
    });
  });
});
