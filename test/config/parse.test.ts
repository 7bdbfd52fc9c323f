import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, INPUTS, parseConfig, readActionInputs, VERSION } from '../../src/config.ts';
import { UserError } from '../../src/errors.ts';

let root: string;
let workspace: string;
let outside: string;

beforeAll(() => {
  root = realpathSync(mkdtempSync(path.join(tmpdir(), 'config-test-')));
  workspace = path.join(root, 'ws');
  outside = path.join(root, 'outside');
  mkdirSync(path.join(workspace, 'modules'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(workspace, 'modules', 'a.nix'), '{ }\n');
  writeFileSync(path.join(workspace, 'modules', 'b.nix'), '{ }\n');
  writeFileSync(path.join(workspace, 'image.raw.tar.gz'), 'not really');
  writeFileSync(path.join(outside, 'secret.nix'), '{ }\n');
  // A link inside the workspace that leads out of it, and one that stays inside.
  symlinkSync(path.join(outside, 'secret.nix'), path.join(workspace, 'escape.nix'));
  symlinkSync(path.join(workspace, 'modules', 'a.nix'), path.join(workspace, 'alias.nix'));
  symlinkSync(outside, path.join(workspace, 'linked-dir'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function parse(raw: Record<string, string | undefined>, actionPath?: string): Config {
  return parseConfig(
    { bucket: 'my-bucket', ...raw },
    { workspace, ci: false, ...(actionPath ? { actionPath } : {}) },
  );
}

/** Runs parseConfig expecting a UserError and returns it. */
function failure(raw: Record<string, string | undefined>): UserError {
  try {
    parseConfig(raw, { workspace, ci: false });
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

describe('parseConfig with good inputs', () => {
  it('fills every default from the schema', () => {
    const config = parse({});
    expect(config).toMatchObject({
      command: 'publish',
      flake: `github:pcboy/nix-glab-runner/v${VERSION}`,
      extraModules: [],
      installNix: 'auto',
      nixVersion: '2.28.3',
      extraNixConfig: '',
      bucket: 'my-bucket',
      objectPrefix: 'nix-glab-runner/',
      keepObject: false,
      family: 'nixos-image-gitlab-runner',
      imageName: '{family}-{hash}',
      guestOsFeatures: [],
      labels: {},
      operationTimeout: 1200,
      allowRolledBack: false,
      dryRun: false,
      workspace,
    });
    for (const key of [
      'flakeAttr',
      'imageFile',
      'githubToken',
      'project',
      'storageEndpoint',
      'architecture',
    ]) {
      expect(config).not.toHaveProperty(key);
    }
  });

  it('takes the command from the entry point, publish by default', () => {
    expect(parseConfig({ bucket: 'my-bucket' }, { workspace, ci: true, command: 'publish' }).command).toBe(
      'publish',
    );
  });

  it('resolves the default flake to the action checkout when there is one', () => {
    expect(parse({}, '/home/runner/work/_actions/pcboy/nix-glab-runner/v1').flake).toBe(
      'path:/home/runner/work/_actions/pcboy/nix-glab-runner/v1',
    );
    expect(parse({ flake: '.' }, '/somewhere').flake).toBe('.');
  });

  it('treats blank values as not given, as GitHub passes unset inputs', () => {
    expect(parse({ family: '  ', 'dry-run': '', project: '' })).toMatchObject({
      family: 'nixos-image-gitlab-runner',
      dryRun: false,
    });
    expect(parse({ project: '' })).not.toHaveProperty('project');
  });

  it('parses lists, maps, enums, booleans and durations', () => {
    const config = parse({
      'guest-os-features': 'gvnic\nSEV_SNP_CAPABLE, gvnic',
      labels: 'team=ci\nenv=prod, empty=',
      'install-nix': 'NEVER',
      architecture: 'arm64',
      'keep-object': 'TRUE',
      'dry-run': 'False',
      'operation-timeout': '1h30m',
      project: 'example.com:my-proj',
    });
    expect(config.guestOsFeatures).toEqual(['GVNIC', 'SEV_SNP_CAPABLE']);
    expect(config.labels).toEqual({ team: 'ci', env: 'prod', empty: '' });
    expect(config.installNix).toBe('never');
    expect(config.architecture).toBe('ARM64');
    expect(config.keepObject).toBe(true);
    expect(config.dryRun).toBe(false);
    expect(config.operationTimeout).toBe(5400);
    expect(config.project).toBe('example.com:my-proj');
    expect(parse({ 'operation-timeout': '90s' }).operationTimeout).toBe(90);
    expect(parse({ 'operation-timeout': '600' }).operationTimeout).toBe(600);
  });

  it('resolves extra modules inside the workspace to absolute paths, refusing symlinks even inside', () => {
    expect(() => parse({ 'extra-modules': 'alias.nix' })).toThrow(/"extra-modules" .*not symlinks/);
    const config = parse({ 'extra-modules': 'modules/a.nix\n modules/b.nix ,modules/a.nix' });
    expect(config.extraModules).toEqual([
      path.join(workspace, 'modules', 'a.nix'),
      path.join(workspace, 'modules', 'b.nix'),
    ]);
    expect(parse({ 'extra-modules': path.join(workspace, 'modules', 'b.nix') }).extraModules).toEqual([
      path.join(workspace, 'modules', 'b.nix'),
    ]);
  });

  it('resolves image-file against the workspace', () => {
    expect(parse({ 'image-file': 'image.raw.tar.gz' }).imageFile).toBe(
      path.join(workspace, 'image.raw.tar.gz'),
    );
  });

  it('accepts image-name templates and literal names', () => {
    expect(parse({ 'image-name': '{family}-{nixos}-{date}-{hash}' }).imageName).toBe(
      '{family}-{nixos}-{date}-{hash}',
    );
    expect(parse({ 'image-name': 'runner-fixed' }).imageName).toBe('runner-fixed');
    // A long family is shortened to fit, never the hash.
    expect(parse({ family: `f${'x'.repeat(62)}` }).family).toHaveLength(63);
  });

  it('accepts loopback http endpoints and https anywhere', () => {
    const config = parse({
      'storage-endpoint': 'http://127.0.0.1:8123',
      'compute-endpoint': 'https://compute-psc.p.googleapis.com/compute/v1/',
    });
    expect(config.storageEndpoint).toBe('http://127.0.0.1:8123');
    expect(parse({ 'storage-endpoint': 'http://localhost:1' }).storageEndpoint).toBe('http://localhost:1');
    expect(parse({ 'storage-endpoint': 'http://[::1]:1/' }).storageEndpoint).toBe('http://[::1]:1/');
  });

  it('accepts the bucket naming edge cases Google allows', () => {
    for (const bucket of ['abc', 'a_b-c.d', `${'a'.repeat(63)}.${'b'.repeat(63)}`, '1bucket9']) {
      expect(parse({ bucket }).bucket).toBe(bucket);
    }
  });
});

describe('parseConfig with bad inputs', () => {
  const longName = `a${'b'.repeat(63)}`;
  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing bucket', {}, /"bucket" is required/],
    ['bucket with uppercase', { bucket: 'My-Bucket' }, /lowercase/],
    ['bucket too short', { bucket: 'ab' }, /3-63/],
    ['bucket too long', { bucket: 'a'.repeat(64) }, /3-63/],
    ['bucket as a URL', { bucket: 'gs://my-bucket' }, /not a URL/],
    ['bucket with goog prefix', { bucket: 'google-images' }, /goog/],
    ['bucket containing google', { bucket: 'my-google-bucket' }, /google/],
    ['bucket that is an IP address', { bucket: '192.168.1.1' }, /IP address/],
    ['bucket ending with a hyphen', { bucket: 'bucket-' }, /start and end/],
    ['bucket with a long dotted part', { bucket: `${'a'.repeat(64)}.com` }, /1-63 characters each/],
    ['project too short', { project: 'abc' }, /project id/],
    ['project with uppercase', { project: 'My-Project' }, /project id/],
    ['project ending with a hyphen', { project: 'my-project-' }, /project id/],
    ['family with uppercase', { family: 'Foo_1' }, /lowercase letters/],
    ['family too long', { family: longName }, /1-63/],
    ['family starting with a digit', { family: '1family' }, /starting with a letter/],
    ['image-name literal breaking the rule', { 'image-name': 'Runner_Image' }, /name of 1-63/],
    ['image-name template without hash', { 'image-name': '{family}-{date}' }, /must contain \{hash\}/],
    ['image-name with an unknown placeholder', { 'image-name': '{family}-{sha}' }, /placeholders/],
    ['image-name starting with the hash', { 'image-name': '{hash}-{family}' }, /renders to/],
    ['image-name with a stray brace', { 'image-name': '{family}-{hash' }, /placeholders/],
    ['label key with uppercase', { labels: 'Team=ci' }, /keys of 1-63/],
    ['label value with uppercase', { labels: 'team=CI' }, /values of 0-63/],
    ['label without =', { labels: 'team' }, /key=value/],
    ['reserved label managed-by', { labels: 'managed-by=me' }, /reserved key "managed-by"/],
    ['reserved label nix-hash', { labels: 'nix-hash=abc' }, /reserved key "nix-hash"/],
    ['repeated label key', { labels: 'a=1,a=2' }, /repeat the key "a"/],
    [
      'too many labels',
      { labels: Array.from({ length: 61 }, (_, i) => `k${i}=v`).join(',') },
      /at most 60 labels/,
    ],
    ['bad boolean', { 'dry-run': 'yes' }, /true or false/],
    ['bad enum', { 'install-nix': 'sometimes' }, /one of auto, always, never/],
    ['bad architecture', { architecture: 'amd64' }, /one of X86_64, ARM64/],
    ['bad guest OS feature', { 'guest-os-features': 'GVNIC,WINDOWS' }, /must list only GVNIC/],
    ['bad duration', { 'operation-timeout': '20 minutes' }, /duration such as/],
    ['duration too short', { 'operation-timeout': '1s' }, /between 10s and 24h/],
    ['duration too long', { 'operation-timeout': '25h' }, /between 10s and 24h/],
    ['object-prefix with leading slash', { 'object-prefix': '/images/' }, /must not start with "\/"/],
    ['object-prefix with ..', { 'object-prefix': 'a/../b/' }, /"\.\." path segments/],
    ['object-prefix with a newline', { 'object-prefix': 'a\nb/' }, /newlines/],
    ['http endpoint on a remote host', { 'storage-endpoint': 'http://storage.example.com' }, /https unless/],
    ['endpoint that is not a URL', { 'compute-endpoint': 'localhost:8080/compute' }, /http\(s\) URL/],
    ['endpoint with credentials', { 'storage-endpoint': 'https://u:p@example.com' }, /credentials/],
    ['nix-version not a release', { 'nix-version': 'latest' }, /release such as/],
    ['flake with whitespace', { flake: 'github:a/b c' }, /without whitespace/],
    ['flake-attr not an attribute path', { 'flake-attr': 'packages..x' }, /attribute path/],
    ['storage-location with uppercase', { 'storage-location': 'US' }, /Cloud Storage location/],
    ['description too long', { description: 'x'.repeat(2049) }, /at most 2048 characters/],
    ['missing extra module', { 'extra-modules': 'modules/missing.nix' }, /files that exist/],
    ['extra module that is a directory', { 'extra-modules': 'modules' }, /regular files/],
    [
      'extra module outside the workspace',
      { 'extra-modules': '../outside/secret.nix' },
      /inside the workspace/,
    ],
    [
      'extra module symlink escaping the workspace',
      { 'extra-modules': 'escape.nix' },
      /inside the workspace/,
    ],
    [
      'extra module through a linked directory',
      { 'extra-modules': 'linked-dir/secret.nix' },
      /inside the workspace/,
    ],
    ['missing image-file', { 'image-file': 'nope.raw.tar.gz' }, /files that exist/],
    [
      'image-file with extra-modules',
      { 'image-file': 'image.raw.tar.gz', 'extra-modules': 'modules/a.nix' },
      /cannot be combined with "extra-modules"/,
    ],
    [
      'image-file with flake-attr',
      { 'image-file': 'image.raw.tar.gz', 'flake-attr': 'packages.x86_64-linux.gce' },
      /cannot be combined with "flake-attr"/,
    ],
  ];

  it('covers at least 25 distinct cases', () => {
    expect(new Set(cases.map(([name]) => name)).size).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)('refuses %s with one sentence naming the input', (_, raw, pattern) => {
    const input = { bucket: 'my-bucket', ...raw };
    if (_ === 'missing bucket') delete (input as Record<string, string>).bucket;
    const error = failure(input);
    const named = Object.keys(raw)[0] ?? 'bucket';
    expect(error.input).toBe(named);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(pattern);
    expect(error.message).toContain(`Input "${named}"`);
    expect(error.message).not.toMatch(/\n/);
    expect(error.message).toMatch(/^Input "[a-z-]+" [^.]*(\.[^ ][^.]*)*[.?]$/s);
  });

  it('names an unknown input and suggests the closest one', () => {
    const error = failure({ bucket: 'my-bucket', famliy: 'x' });
    expect(error.message).toBe('Unknown input "famliy"; did you mean "family"?');
  });
});

describe('readActionInputs', () => {
  it('reads INPUT_ variables with hyphens kept, as @actions/core does, and the underscore form', () => {
    const raw = readActionInputs({
      'INPUT_EXTRA-MODULES': 'a.nix',
      INPUT_OBJECT_PREFIX: 'p/',
      INPUT_BUCKET: 'b',
      INPUT_UNRELATED: 'x',
    });
    expect(raw['extra-modules']).toBe('a.nix');
    expect(raw['object-prefix']).toBe('p/');
    expect(raw.bucket).toBe('b');
    expect(Object.keys(raw).sort()).toEqual(INPUTS.map((s) => s.name).sort());
  });

  it('feeds parseConfig directly', () => {
    const config = parseConfig(
      readActionInputs({ INPUT_BUCKET: 'b-bucket', 'INPUT_DRY-RUN': 'true', INPUT_FAMILY: '' }),
      {
        workspace,
        ci: true,
      },
    );
    expect(config).toMatchObject({ bucket: 'b-bucket', dryRun: true, family: 'nixos-image-gitlab-runner' });
  });
});
