import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, REPO, requireNixInstantiate, requireTool } from './helpers.ts';

const nixFiles = ['flake.nix', ...filesUnder('nix', '.nix')];
const shellScripts = filesUnder('nix/scripts', '.sh');

describe('every Nix file of the flake parses', () => {
  beforeAll(requireNixInstantiate);

  it('finds the flake, the module, the builders and the VM tests', () => {
    for (const file of [
      'flake.nix',
      'nix/lib.nix',
      'nix/modules/default.nix',
      'nix/builders.nix',
      'nix/tests/runner.nix',
    ])
      expect(nixFiles).toContain(file);
  });

  it.each(nixFiles)('%s', (file) => {
    execFileSync('nix-instantiate', ['--parse', join(REPO, file)], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
});

describe('every module script parses as bash', () => {
  beforeAll(() => requireTool('bash', '--version', 'install bash: apt-get install -y bash'));

  it('finds the drain, token and GC scripts', () => {
    for (const file of ['nix/scripts/drain.sh', 'nix/scripts/runner-env.sh', 'nix/scripts/gc.sh'])
      expect(shellScripts).toContain(file);
  });

  it.each(shellScripts)('%s', (file) => {
    execFileSync('bash', ['-n', join(REPO, file)], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
});
