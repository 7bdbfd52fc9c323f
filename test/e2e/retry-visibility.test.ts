/**
 * A call that keeps failing is retried until `retry-deadline`; the run says so when the retries start
 * (what, why, how long is left) and, with --verbose, at every attempt, instead of going quiet for minutes.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { publishArgs, runCli } from '../helpers/cli.ts';
import { workspace } from '../nix-stage/helpers.ts';

/** A loopback port nothing listens on: every connection to it is refused. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('retries are visible', () => {
  const publish = async (extra: string[]) => {
    const endpoint = `http://127.0.0.1:${await refusedPort()}`;
    return runCli(
      publishArgs(
        { project: 'retry-project', bucket: 'retry-images', url: endpoint },
        ...['--image-file', 'image.raw.tar.gz', '--retry-deadline', '5s', ...extra],
      ),
      { cwd: workspace({ 'image.raw.tar.gz': 'not read: the bucket check comes first\n' }) },
    );
  };

  it('says once which call is retried, why and for how long', async () => {
    const run = await publish([]);
    expect(run.code).toBe(4);
    const retrying = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.includes('retrying for up to'));
    expect(retrying, run.stdout).toEqual([
      expect.stringMatching(/checking bucket "retry-images": .*ECONNREFUSED.*retrying for up to [45]s/),
    ]);
    expect(run.stdout).not.toMatch(/attempt \d+ failed/);
  });

  it('with --verbose, says every attempt and the time left', async () => {
    const run = await publish(['--verbose']);
    expect(run.code).toBe(4);
    const attempts = run.stdout.split('\n').filter((l) => /attempt \d+ failed/.test(l));
    expect(attempts.length, run.stdout).toBeGreaterThanOrEqual(2);
    expect(attempts[0]).toMatch(
      /checking bucket "retry-images": attempt 1 failed \(.*ECONNREFUSED.*\); next attempt in \d+\.\ds, \d+s left/,
    );
  });
});
