import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/nix/build.ts';
import { silentReporter } from '../../src/report/events.ts';
import { commitAll, fixtureRepo, requireNix, tempDir, workspace } from './helpers.ts';

/**
 * A build uses the flake's lock as it is and never writes it: the lock changes only through a
 * reviewed commit (the weekly update is a pull request). With real Nix on a real git checkout.
 */
describe('buildImage and the flake lock', () => {
  beforeAll(requireNix);

  it('leaves a checkout without a lock as it was: no flake.lock created or staged', async () => {
    // The fixture builder flake, given one input (a local flake) and no lock, as a fresh clone would be.
    const dependency = tempDir('dep');
    writeFileSync(join(dependency, 'flake.nix'), '{ outputs = { self }: { }; }\n');
    const builder = fixtureRepo();
    const flakeNix = join(builder, 'flake.nix');
    const original = readFileSync(flakeNix, 'utf8');
    const withInput = original.replace(
      'outputs = { self }:',
      `inputs.dependency.url = "path:${dependency}";\n  outputs = { self, dependency }:`,
    );
    expect(withInput).not.toBe(original);
    writeFileSync(flakeNix, withInput);
    commitAll(builder, 'flake.nix');
    const ws = workspace({ 'modules/extra.nix': '{ ... }: { }\n' });
    const built = await buildImage(
      { flake: builder, extraModules: ['modules/extra.nix'], workspace: ws, system: 'x86_64-linux' },
      silentReporter,
    );

    expect(built.storePath).toMatch(/^\/nix\/store\//);
    expect(existsSync(join(builder, 'flake.lock'))).toBe(false);
    expect(execFileSync('git', ['-C', builder, 'status', '--porcelain'], { encoding: 'utf8' })).toBe('');
  });
});
