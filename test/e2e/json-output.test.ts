/**
 * `--json` is for machines: one JSON object on stdout whatever happens, with booleans and numbers as JSON
 * types (`jq` treats the string "false" as true), and on failure the error, the input it names and the
 * exit code, so a script never reads an empty stdout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishOutputs } from '../../bench/lib/cli-json.ts';
import { makeImageTarball } from '../emulator/compute/test-tarball.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { errorLine, publishArgs, runCli } from '../helpers/cli.ts';
import { tempDir, workspace } from '../nix-stage/helpers.ts';

const PROJECT = 'json-project';
const BUCKET = 'json-images';

describe('the CLI with --json', () => {
  let emu: Emulator;
  let ws: string;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: tempDir('json-emu-'), operationMs: 20 });
    await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    ws = workspace({});
    writeFileSync(join(ws, 'image.raw.tar.gz'), makeImageTarball());
  });
  afterAll(() => emu?.stop());

  const publish = (extra: string[]) =>
    runCli(
      publishArgs(
        { project: PROJECT, family: 'json-runners', url: emu.url },
        ...['--image-file', 'image.raw.tar.gz', '--json', ...extra],
      ),
      { cwd: ws },
    );

  it('prints skipped as a JSON boolean and duration as a JSON number', async () => {
    const first = await publish(['--bucket', BUCKET]);
    expect(first.code, first.stderr).toBe(0);
    const created = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(created.skipped).toBe(false);
    expect(typeof created.duration).toBe('number');
    expect(created['image-name']).toMatch(/^json-runners-[0-9a-f]{32}$/);

    const again = await publish(['--bucket', BUCKET]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as Record<string, unknown>).skipped).toBe(true);

    // `npm run bench` reads these same lines to tell a publish from a no-op.
    expect(publishOutputs(first.stdout, false, 'first publish')['image-name']).toBe(created['image-name']);
    expect(() => publishOutputs(again.stdout, false, 'second publish')).toThrow(/expected a publish/);
    expect(publishOutputs(again.stdout, true, 'second publish').skipped).toBe(true);
  });

  it('prints a bad input as one JSON object naming the input and exit code 2', async () => {
    const run = await publish(['--bucket', 'no-such-bucket']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: expect.stringMatching(/gs:\/\/no-such-bucket, which does not exist/),
      input: 'bucket',
      'exit-code': 2,
    });
    // The human sentence is still on stderr, once.
    errorLine(run.stderr);
  });

  it('prints an unknown flag as a JSON error too', async () => {
    const run = await publish(['--bucket', BUCKET, '--no-such-flag', 'x']);
    expect(run.code).toBe(2);
    const failure = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(failure['exit-code']).toBe(2);
    expect(failure.error).toMatch(/no-such-flag/);
  });

  it('prints a Google failure after retries as a JSON error with exit code 4', async () => {
    emu.faults.add({ method: 'GET', path: `^/storage/v1/b/${BUCKET}$`, status: 503 });
    try {
      const run = await publish(['--bucket', BUCKET, '--retry-deadline', '5s']);
      expect(run.code).toBe(4);
      const failure = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(failure).toMatchObject({ input: null, 'exit-code': 4 });
      expect(failure.error).toMatch(/503|Service Unavailable|unavailable/i);
    } finally {
      emu.faults.clear();
    }
  });
});
