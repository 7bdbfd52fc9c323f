/**
 * docs/getting-started.md, run: every `run` block, exactly as written, against the emulator, after the
 * page's variables block with only the project and names changed. gcloud is the real one. The one stand-in
 * is `nix run github:pcboy/nix-glab-runner -- ARGS`: GitHub and nixpkgs are out of reach here, so it runs the
 * bundled CLI with ARGS plus a tiny builder flake (instead of building NixOS) and the emulator's endpoints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/config.ts';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';
import { gcloudConfigDir, requireGcloud } from '../helpers/gcloud.ts';
import { drainingGuests, replacementsBeforeDrain } from '../lifecycle/guests.ts';
import { fixtureRepo, requireNix, TEST_NIX_CONFIG, tempDir } from '../nix-stage/helpers.ts';
import { bash, blocks, cleanEnv, one, TEST_NAMES, testVariables } from './getting-started-page.ts';
import { type Block, marked } from './marked-blocks.ts';

const FAMILY = 'nixos-image-gitlab-runner';
const GROUP = 'gitlab-runners';

/**
 * Logs each gcloud call and runs the real gcloud; stands in for `nix run github:pcboy/nix-glab-runner/<this
 * version> --`, which cannot be fetched here.
 */
const TOOL_REF = `github:pcboy/nix-glab-runner/v${VERSION}`;
const PRELUDE = `
gcloud() { printf "gcloud%s\\n" "$(printf " %q" "$@")" >> "$DOC_LOG"; command gcloud "$@"; }
nix() {
  if [ "$#" -ge 3 ] && [ "$1" = run ] && [ "$2" = ${TOOL_REF} ] && [ "$3" = -- ]; then
    shift 3
    printf "nix run ${TOOL_REF} --%s\\n" "$(printf " %q" "$@")" >> "$DOC_LOG"
    "$DOC_NODE" "$DOC_CLI" "$@" --flake "$DOC_FLAKE" --storage-endpoint "$DOC_EMULATOR" --compute-endpoint "$DOC_EMULATOR"
  else
    echo "this test stands in for 'nix run ${TOOL_REF} -- …' only, not: nix $*" >&2
    return 127
  fi
}
`;

interface Template {
  name: string;
  properties: {
    disks: { initializeParams: { sourceImage: string } }[];
    metadata: { items: { key: string; value: string }[] };
    serviceAccounts: { email: string; scopes: string[] }[];
  };
}
interface Member {
  name: string;
  instance: string;
  currentAction: string;
}

describe('docs/getting-started.md against the emulator', () => {
  const { PROJECT_ID: project, REGION: region, BUCKET: bucket } = TEST_NAMES;
  const groupPath = `regions/${region}/instanceGroupManagers/${GROUP}`;
  const logFile = join(tempDir('doc-log'), 'commands.log');
  let emu: Emulator;
  let ws: string;
  let env: NodeJS.ProcessEnv;
  let rollOutput = '';

  const compute = async <T>(path: string, method = 'GET'): Promise<T> => {
    const res = await fetch(`${emu.url}/compute/v1/projects/${project}/${path}`, { method });
    expect(res.status, `${method} ${path}`).toBe(200);
    return (await res.json()) as T;
  };
  const members = async () =>
    (await compute<{ managedInstances: Member[] }>(`${groupPath}/listManagedInstances`, 'POST'))
      .managedInstances;

  beforeAll(async () => {
    requireGcloud();
    requireNix();
    // Fails with "run `npm run bundle`" when dist/ is older than src/: the stand-in runs the bundled CLI.
    const version = await runCli(['--version'], { cwd: REPO_ROOT });
    expect(version.code, version.stderr).toBe(0);
    emu = await startEmulator({
      dataDir: tempDir('doc-emu'),
      operationMs: 50,
      waitMaxMs: 500,
      instanceStepMs: 50,
    });
    ws = tempDir('doc-ws');
    writeFileSync(join(ws, 'runner.nix'), one('runner module').body);
    env = cleanEnv({
      CLOUDSDK_CONFIG: gcloudConfigDir({ emulatorUrl: emu.url, project }),
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      NIX_CONFIG: TEST_NIX_CONFIG,
      DOC_LOG: logFile,
      DOC_NODE: process.execPath,
      DOC_CLI: join(REPO_ROOT, 'dist/cli/index.js'),
      DOC_FLAKE: fixtureRepo(),
      DOC_EMULATOR: emu.url,
    });
  }, 120_000);

  afterAll(async () => {
    await emu?.stop();
    // What ran, as the shell expanded it: the record the report quotes.
    const log = readFileSync(logFile, { encoding: 'utf8', flag: 'a+' }).trim();
    if (log) console.log(`docs/getting-started.md, commands run against the emulator:\n${log}`);
    if (rollOutput) console.log(`The publish with roll and the list-instances after it:\n${rollOutput}`);
  });

  /** One block as written, after the variables; stops at once on `stopOn`. Returns its output. */
  const runBlock = async (b: Block, stopOn?: RegExp): Promise<string> => {
    const script = ['set -euo pipefail', testVariables(), PRELUDE, b.body].join('\n');
    const run = await bash(script, { cwd: ws, env, ...(stopOn ? { stopOn } : {}) });
    expect(run.code, `the block at line ${b.line} failed:\n${run.output}`).toBe(0);
    return run.output;
  };

  it('creates the bucket, publishes, makes the template and group, and rolls the group onto the new image', async () => {
    const runs = marked(blocks, 'run');
    const rollAt = runs.findIndex((b) => b.body.includes('--roll mig'));
    expect(rollAt, 'the roll is the last block that runs').toBe(runs.length - 1);
    for (const b of runs.slice(0, rollAt)) await runBlock(b);

    // Steps 1 and 2: the bucket as created, and the publisher's two roles on it.
    const b = (await (await fetch(`${emu.url}/storage/v1/b/${bucket}`)).json()) as {
      location: string;
      iamConfiguration: { uniformBucketLevelAccess: { enabled: boolean }; publicAccessPrevention: string };
    };
    expect(b.location).toBe(region.toUpperCase());
    expect(b.iamConfiguration.uniformBucketLevelAccess.enabled).toBe(true);
    expect(b.iamConfiguration.publicAccessPrevention).toBe('enforced');
    const policy = (await (await fetch(`${emu.url}/storage/v1/b/${bucket}/iam`)).json()) as {
      bindings: { role: string; members: string[] }[];
    };
    const publisher = `serviceAccount:nix-glab-runner-publisher@${project}.iam.gserviceaccount.com`;
    for (const role of ['roles/storage.objectUser', 'roles/storage.legacyBucketReader'])
      expect(policy.bindings.find((x) => x.role === role)?.members).toContain(publisher);

    // Step 5: the first image heads the family. Steps 6 and 7: a template that follows the family, with the
    // drain's metadata, and a group of two runners on it.
    const first = await compute<{ name: string; status: string }>(`global/images/family/${FAMILY}`);
    expect(first.status).toBe('READY');
    const template = await compute<Template>('global/instanceTemplates/gitlab-runner-1');
    expect(template.properties.disks[0]?.initializeParams.sourceImage).toMatch(
      new RegExp(`/projects/${project}/global/images/family/${FAMILY}$`),
    );
    expect(template.properties.metadata.items).toContainEqual({
      key: 'enable-guest-attributes',
      value: 'TRUE',
    });
    expect(template.properties.serviceAccounts).toEqual([
      {
        email: `gitlab-runner-vm@${project}.iam.gserviceaccount.com`,
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ]);
    const oldInstances = (await members()).map((i) => i.name);
    expect(oldInstances.length).toBe(2);

    // Step 8: runner.nix changed as the page shows, then the publish with roll. The guests drain as the
    // module's drain service does, which they can report only because the template enabled guest attributes;
    // without that the roll would wait out its hour-long deadline, so it is stopped at the first such warning.
    const changed = blocks.find((x) => x.lang === 'nix' && x.mark === undefined)?.body.trim();
    expect(changed, 'step 8 shows the changed line of runner.nix').toMatch(/^concurrency = \d+;$/);
    const module = readFileSync(join(ws, 'runner.nix'), 'utf8');
    writeFileSync(join(ws, 'runner.nix'), module.replace(/concurrency = \d+;/, changed as string));
    expect(readFileSync(join(ws, 'runner.nix'), 'utf8')).not.toBe(module);
    const stopGuests = drainingGuests(emu, { drainMs: 300 });
    const since = Date.now();
    const output = await runBlock(runs[rollAt] as Block, /cannot report drained|did not report drained/);
    rollOutput = output;
    stopGuests();

    const second = await compute<{ name: string }>(`global/images/family/${FAMILY}`);
    expect(second.name).not.toBe(first.name);
    expect(output).toContain(second.name);
    const group = await compute<{ instanceTemplate: string; status: { isStable: boolean } }>(groupPath);
    expect(group.status.isStable).toBe(true);
    const rolled = await compute<Template>(
      `global/instanceTemplates/${group.instanceTemplate.split('/').pop()}`,
    );
    expect(rolled.name).toMatch(/^gitlab-runner-1-ngr-[0-9a-f]{10}$/);
    expect(rolled.properties.disks[0]?.initializeParams.sourceImage).toMatch(
      new RegExp(`(^|/)projects/${project}/global/images/${second.name}$`),
    );
    const after = await members();
    expect(after.length).toBe(2);
    for (const i of after) {
      expect(i.currentAction).toBe('NONE');
      const zone = /\/zones\/([^/]+)\//.exec(i.instance)?.[1];
      const disk = await compute<{ sourceImage: string }>(`zones/${zone}/disks/${i.name}`);
      expect(disk.sourceImage).toMatch(new RegExp(`/global/images/${second.name}$`));
    }
    // Each old runner was recreated (names stay) only after it reported drained.
    expect(replacementsBeforeDrain(emu, oldInstances, since)).toEqual([]);
  }, 600_000);
});
