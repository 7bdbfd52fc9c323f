/**
 * Issue 13, items 11 and 12 (d, e): the Nix installer is run as root, so whatever we run must be exactly the
 * release whose SHA-256 we know, whether it came from the network or from a cache.
 *
 * releases.nixos.org cannot be reached here, so a loopback HTTP server stands in for it, serving a small
 * tarball laid out like a Nix release (nix-<version>-<system>/install). Its `install` is a real script that
 * records that it ran, its arguments and the nix.conf it was given, and puts a `nix` on the profile path the
 * way the single-user installer does. Everything else (cache directory, hashing, extraction, the installer
 * process) is the real code on the real filesystem.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import { type EnsureNixOptions, ensureNix } from '../../src/nix/install.ts';
import { hostNixSystem } from '../../src/nix/releases.ts';
import { recordingReporter } from '../../src/report/events.ts';
import { requireTool, tempDir } from './helpers.ts';

const VERSION = '2.99.0';
const TOKEN = 'ghp_canaryInstallerToken';

/** A release tarball whose installer records its run in $INSTALL_OUT and installs a `nix` that runs. */
function fakeRelease(version: string, label: string): { file: string; sha256: string } {
  requireTool('tar', 'apt-get install -y tar xz-utils');
  requireTool('xz', 'apt-get install -y xz-utils');
  const dir = tempDir('release');
  const top = `nix-${version}-${hostNixSystem()}`;
  mkdirSync(join(dir, top));
  writeFileSync(
    join(dir, top, 'install'),
    `#!/bin/sh
set -e
echo ${label} >> "$INSTALL_OUT/ran"
printf '%s\\n' "$@" > "$INSTALL_OUT/args"
while [ $# -gt 0 ]; do
  if [ "$1" = --nix-extra-conf-file ]; then cp "$2" "$INSTALL_OUT/nix.conf"; fi
  shift
done
mkdir -p "$HOME/.nix-profile/bin"
printf '#!/bin/sh\\necho "nix (Nix) ${version}"\\n' > "$HOME/.nix-profile/bin/nix"
chmod +x "$HOME/.nix-profile/bin/nix"
`,
    { mode: 0o755 },
  );
  const file = join(dir, `${top}.tar.xz`);
  execFileSync('tar', ['-C', dir, '-cJf', file, top]);
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}

/** Serves files by URL path; anything else is a 404. Records every path asked for. */
async function releaseServer(files: Record<string, string>) {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const file = files[req.url ?? ''];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const drop = (path: string) => delete files[path];
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, server, drop };
}

function tarballPath(version: string): string {
  return `/nix-${version}/nix-${version}-${hostNixSystem()}.tar.xz`;
}

describe('installing Nix: a private cache, the hash checked before every run', () => {
  const keys = [
    'PATH',
    'HOME',
    'NIX_CONFIG',
    'RUNNER_TEMP',
    'RUNNER_TOOL_CACHE',
    'INSTALL_OUT',
    'XDG_CACHE_HOME',
  ];
  let saved: Record<string, string | undefined>;
  let servers: Server[];
  let out: string;
  let toolCache: string;

  beforeEach(() => {
    saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    servers = [];
    out = tempDir('install-out');
    toolCache = tempDir('tool-cache');
    process.env.INSTALL_OUT = out;
    process.env.HOME = tempDir('home');
    process.env.RUNNER_TEMP = tempDir('runner-temp');
    process.env.RUNNER_TOOL_CACHE = toolCache;
    // No nix on PATH beyond what the fake installer puts there.
    process.env.PATH = '/usr/bin:/bin';
  });
  afterEach(() => {
    for (const s of servers) s.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const serve = async (files: Record<string, string>) => {
    const s = await releaseServer(files);
    servers.push(s.server);
    return s;
  };
  const install = (opts: Partial<EnsureNixOptions>, releasesUrl: string) =>
    ensureNix(
      {
        installNix: 'always',
        nixVersion: VERSION,
        nixSha256: undefined,
        extraNixConfig: '',
        ci: true,
        releasesUrl,
        ...opts,
      },
      recordingReporter(),
    );
  const ran = () => (existsSync(join(out, 'ran')) ? readFileSync(join(out, 'ran'), 'utf8') : '');

  it('refuses, and never runs, an installer planted in the shared tool cache', async () => {
    const planted = fakeRelease('2.28.3', 'planted');
    // Where @actions/tool-cache looks (RUNNER_TOOL_CACHE/nix/<version>/<arch>, marked complete) ...
    const arch = hostNixSystem() === 'x86_64-linux' ? 'x64' : 'arm64';
    const cached = join(toolCache, 'nix', '2.28.3', arch);
    mkdirSync(cached, { recursive: true });
    execFileSync('tar', ['-C', cached, '--strip-components=1', '-xJf', planted.file]);
    writeFileSync(`${cached}.complete`, '');
    // ... and where our own cache keeps the tarball.
    mkdirSync(join(toolCache, 'nix-glab-runner'), { mode: 0o700 });
    writeFileSync(
      join(toolCache, 'nix-glab-runner', `nix-2.28.3-${hostNixSystem()}.tar.xz`),
      readFileSync(planted.file),
    );
    // The stand-in release server offers nothing, so the genuine release cannot be fetched either.
    const server = await serve({});
    const err = await install({ nixVersion: '2.28.3' }, server.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(ran()).toBe('');
    expect(server.asked).toEqual([tarballPath('2.28.3')]);
  });

  it('downloads, verifies and caches a release, then checks the cached copy again before running it', async () => {
    const release = fakeRelease(VERSION, 'genuine');
    const server = await serve({ [tarballPath(VERSION)]: release.file });
    const first = await install({ nixSha256: release.sha256 }, server.url);
    expect(first.installed).toBe(true);
    expect(first.version).toBe(VERSION);
    expect(ran()).toBe('genuine\n');
    const cache = join(toolCache, 'nix-glab-runner');
    const info = lstatSync(cache);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);
    expect(info.uid).toBe(process.getuid?.());

    // A second run with the release gone from the server: the cached copy, verified, is run.
    server.drop(tarballPath(VERSION));
    await install({ nixSha256: release.sha256 }, server.url);
    expect(ran()).toBe('genuine\ngenuine\n');
    expect(server.asked).toEqual([tarballPath(VERSION)]);

    // Someone swaps the cached tarball: it is refused and, with no download possible, nothing runs.
    const planted = fakeRelease(VERSION, 'planted');
    writeFileSync(join(cache, `nix-${VERSION}-${hostNixSystem()}.tar.xz`), readFileSync(planted.file));
    const err = await install({ nixSha256: release.sha256 }, server.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(ran()).toBe('genuine\ngenuine\n');
  });

  it('a swapped cache entry is replaced by a fresh, verified download', async () => {
    const release = fakeRelease(VERSION, 'genuine');
    const planted = fakeRelease(VERSION, 'planted');
    const cache = join(toolCache, 'nix-glab-runner');
    mkdirSync(cache, { mode: 0o700 });
    writeFileSync(join(cache, `nix-${VERSION}-${hostNixSystem()}.tar.xz`), readFileSync(planted.file));
    const server = await serve({ [tarballPath(VERSION)]: release.file });
    await install({ nixSha256: release.sha256 }, server.url);
    expect(ran()).toBe('genuine\n');
    expect(server.asked).toEqual([tarballPath(VERSION)]);
    const recached = readFileSync(join(cache, `nix-${VERSION}-${hostNixSystem()}.tar.xz`));
    expect(createHash('sha256').update(recached).digest('hex')).toBe(release.sha256);
  });

  for (const [what, spoil] of [
    ['world-writable', (dir: string) => chmodSync(dir, 0o777)],
    ['group-writable', (dir: string) => chmodSync(dir, 0o770)],
    ['owned by another user', (dir: string) => chownSync(dir, 65534, 65534)],
  ] as const) {
    it(`does not use a cache directory that is ${what}: nothing in it runs`, async () => {
      const release = fakeRelease(VERSION, 'genuine');
      const planted = fakeRelease(VERSION, 'planted');
      const cache = join(toolCache, 'nix-glab-runner');
      mkdirSync(cache, { mode: 0o700 });
      // The planted file even has the hash the user gave: a shared directory is not trusted at all.
      writeFileSync(join(cache, `nix-${VERSION}-${hostNixSystem()}.tar.xz`), readFileSync(planted.file));
      spoil(cache);
      const server = await serve({ [tarballPath(VERSION)]: release.file });
      await install({ nixSha256: release.sha256 }, server.url);
      expect(ran()).toBe('genuine\n');
      expect(server.asked).toEqual([tarballPath(VERSION)]);
    });
  }

  it('does not follow a symlink for the cache directory', async () => {
    const release = fakeRelease(VERSION, 'genuine');
    const elsewhere = tempDir('elsewhere');
    chmodSync(elsewhere, 0o700);
    symlinkSync(elsewhere, join(toolCache, 'nix-glab-runner'));
    const server = await serve({ [tarballPath(VERSION)]: release.file });
    await install({ nixSha256: release.sha256 }, server.url);
    expect(ran()).toBe('genuine\n');
    expect(lstatSync(join(toolCache, 'nix-glab-runner')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(elsewhere, `nix-${VERSION}-${hostNixSystem()}.tar.xz`))).toBe(false);
  });

  it('refuses a download whose hash is not the one given, and runs nothing', async () => {
    const release = fakeRelease(VERSION, 'genuine');
    const server = await serve({ [tarballPath(VERSION)]: release.file });
    const err = await install({ nixSha256: 'a'.repeat(64) }, server.url).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/SHA-256 [0-9a-f]{64}, not .*a{64}.*refusing/);
    expect(ran()).toBe('');
    expect(existsSync(join(toolCache, 'nix-glab-runner', `nix-${VERSION}-${hostNixSystem()}.tar.xz`))).toBe(
      false,
    );
  });

  it('keeps access tokens out of the nix.conf the installer writes; they reach nix through NIX_CONFIG', async () => {
    const release = fakeRelease(VERSION, 'genuine');
    const server = await serve({ [tarballPath(VERSION)]: release.file });
    await install(
      {
        nixSha256: release.sha256,
        githubToken: TOKEN,
        extraNixConfig: `max-jobs = 3\naccess-tokens = gitlab.example.com=PAT:${TOKEN}x\n  extra-access-tokens=github.com=${TOKEN}y`,
      },
      server.url,
    );
    const conf = readFileSync(join(out, 'nix.conf'), 'utf8');
    expect(conf).toContain('max-jobs = 3');
    expect(conf).not.toContain(TOKEN);
    expect(conf).not.toMatch(/access-tokens/);
    expect(process.env.NIX_CONFIG).toContain(`access-tokens = gitlab.example.com=PAT:${TOKEN}x`);
    expect(process.env.NIX_CONFIG).toContain(`extra-access-tokens = github.com=${TOKEN}`);
    expect(readFileSync(join(out, 'args'), 'utf8')).not.toContain(TOKEN);
  });

  it('refuses a version we do not pin unless its hash is given, before downloading anything', async () => {
    const release = fakeRelease(VERSION, 'genuine');
    const server = await serve({
      [tarballPath(VERSION)]: release.file,
      [`${tarballPath(VERSION)}.sha256`]: release.file,
    });
    const err = await install({}, server.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).input).toBe('nix-sha256');
    expect(server.asked).toEqual([]);
    expect(ran()).toBe('');
  });

  it('refuses a given hash that contradicts the one pinned for the version', async () => {
    const server = await serve({});
    const err = await install({ nixVersion: '2.28.3', nixSha256: 'b'.repeat(64) }, server.url).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).input).toBe('nix-sha256');
    expect(server.asked).toEqual([]);
  });
});
