import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { localAction, outputsOf } from '../helpers/local-action.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir, workspace } from '../nix-stage/helpers.ts';

const PROJECT = 'action-project';
const BUCKET = 'action-images';

describe('the GitHub Action under @github/local-action', () => {
  let emu: Emulator;
  let envFile: string;
  let summary: string;

  beforeAll(async () => {
    requireNix();
    emu = await startEmulator({ dataDir: tempDir('action-emu'), operationMs: 50 });
    await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
    const ws = workspace({ 'runner.nix': '{ networking.hostName = "runner"; }\n' });
    const dir = tempDir('action-env');
    summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    envFile = join(dir, '.env');
    writeFileSync(
      envFile,
      [
        `INPUT_FLAKE=${fixtureRepo()}`,
        'INPUT_EXTRA-MODULES=runner.nix',
        `INPUT_PROJECT=${PROJECT}`,
        `INPUT_BUCKET=${BUCKET}`,
        `INPUT_STORAGE-ENDPOINT=${emu.url}`,
        `INPUT_COMPUTE-ENDPOINT=${emu.url}`,
        'INPUT_LABELS=team=infra',
        `GITHUB_WORKSPACE=${ws}`,
        `GITHUB_STEP_SUMMARY=${summary}`,
        'GITHUB_SHA=0123456789abcdef0123456789abcdef01234567',
        `NIX_CONFIG="${TEST_NIX_CONFIG}"`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => emu?.stop());

  it('publishes, sets every output and writes the job summary', async () => {
    const { code, out } = await localAction(envFile);
    expect(code, out).toBe(0);
    expect(out).not.toMatch(/::error::/);
    const outputs = outputsOf(out);
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'gcs-uri',
        'image-family',
        'image-name',
        'image-self-link',
        'nix-hash',
        'skipped',
        'store-path',
      ]),
    );
    expect(outputs.skipped).toBe('false');
    // One folded group per stage.
    expect(out).toMatch(/::group::Build image with Nix/);
    expect(out).toMatch(/::group::Upload to Cloud Storage/);

    const image = (await (
      await fetch(`${emu.url}/compute/v1/projects/${PROJECT}/global/images/${outputs['image-name']}`)
    ).json()) as {
      status: string;
      labels: Record<string, string>;
    };
    expect(image.status).toBe('READY');
    expect(image.labels).toMatchObject({
      'git-sha': '0123456789abcdef0123456789abcdef01234567',
      team: 'infra',
      'nix-hash': outputs['nix-hash'],
    });

    const md = readFileSync(summary, 'utf8');
    expect(md).toContain(`Published **${outputs['image-name']}**`);
    expect(md).toContain(`| skipped | \`false\` |`);
  });

  it('reports skipped=true on an unchanged rerun, with no mutating call', async () => {
    emu.requests.clear();
    const { code, out } = await localAction(envFile);
    expect(code, out).toBe(0);
    expect(outputsOf(out).skipped).toBe('true');
    expect(emu.requests.mutating()).toEqual([]);
  });
});
