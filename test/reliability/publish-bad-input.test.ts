import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator/index.ts';
import { errorLine, runCli } from '../helpers/cli.ts';
import {
  fixtureRepo,
  requireNix,
  requireTool,
  TEST_NIX_CONFIG,
  tempDir,
  workspace,
} from '../nix-stage/helpers.ts';

const PROJECT = 'bad-input-project';
const BUCKET = 'bad-input-images';

/**
 * Each case: the CLI exits non-zero with exactly one `error:` line that names the input, and the
 * emulator's log shows no mutating call. `message` is matched against that line.
 */
interface Case {
  name: string;
  /** Built when the case runs: the emulator's URL is not known before. */
  args: () => string[];
  message: RegExp;
  exitCode?: number;
}

describe('4. Bad input', () => {
  describe('publish inputs, CLI flags', () => {
    let emu: Emulator;
    let ws: string;
    let flake: string;
    let outside: string;

    beforeAll(async () => {
      requireNix();
      emu = await startEmulator({ dataDir: tempDir('bad-emu') });
      await new Storage({ apiEndpoint: emu.url, projectId: PROJECT }).createBucket(BUCKET);
      flake = fixtureRepo();
      ws = workspace({ 'runner.nix': '{ }\n', 'not-a-tarball.raw.tar.gz': 'plain text, not gzip\n' });
      outside = tempDir('outside');
      writeFileSync(join(outside, 'escape.nix'), '{ }\n');
      symlinkSync(join(outside, 'escape.nix'), join(ws, 'link.nix'));
      mkdirSync(join(ws, 'dir.nix'));
      writeBadTarballs(ws);
    });
    afterAll(() => emu?.stop());

    const base = () => [
      '--project',
      PROJECT,
      '--bucket',
      BUCKET,
      '--storage-endpoint',
      emu.url,
      '--compute-endpoint',
      emu.url,
      '--flake',
      flake,
    ];
    /** Replaces a flag's value in the base arguments, or appends it. */
    const withFlags = (...pairs: string[]) => {
      const args = base();
      for (let i = 0; i < pairs.length; i += 2) {
        const at = args.indexOf(pairs[i] as string);
        if (at >= 0) args.splice(at, 2);
        args.push(pairs[i] as string, ...(pairs[i + 1] === undefined ? [] : [pairs[i + 1] as string]));
      }
      return args;
    };

    const cases = (): Case[] => [
      { name: 'unknown flag', args: () => withFlags('--famly', 'x'), message: /"--famly".*"--family"/ },
      {
        name: 'missing bucket input',
        args: () => base().filter((a, i, all) => a !== '--bucket' && all[i - 1] !== '--bucket'),
        message: /"bucket" is required/,
      },
      { name: 'bucket with capitals', args: () => withFlags('--bucket', 'Bad_Bucket'), message: /"bucket"/ },
      {
        name: 'bucket starting with goog',
        args: () => withFlags('--bucket', 'goog-images'),
        message: /"bucket"/,
      },
      { name: 'bucket too short', args: () => withFlags('--bucket', 'ab'), message: /"bucket"/ },
      {
        name: 'project with capitals',
        args: () => withFlags('--project', 'My-Project'),
        message: /"project"/,
      },
      {
        name: 'family with underscore',
        args: () => withFlags('--family', 'runner_images'),
        message: /"family"/,
      },
      {
        name: 'family too long',
        args: () => withFlags('--family', `a${'b'.repeat(63)}`),
        message: /"family"/,
      },
      {
        name: 'image name starting with a digit',
        args: () => withFlags('--image-name', '9image'),
        message: /"image-name"/,
      },
      {
        name: 'image name with unknown placeholder',
        args: () => withFlags('--image-name', '{family}-{sha}'),
        message: /"image-name"/,
      },
      {
        name: 'image name template without hash',
        args: () => withFlags('--image-name', '{family}-{date}'),
        message: /"image-name".*\{hash\}/,
      },
      {
        name: 'reserved label',
        args: () => withFlags('--labels', 'managed-by=me'),
        message: /"labels".*managed-by/,
      },
      {
        name: 'label key with capitals',
        args: () => withFlags('--labels', 'Team=infra'),
        message: /"labels"/,
      },
      {
        name: 'label value with capitals',
        args: () => withFlags('--labels', 'team=Infra'),
        message: /"labels"/,
      },
      {
        name: 'extra module outside the workspace',
        args: () => withFlags('--extra-modules', join(outside, 'escape.nix')),
        message: /"extra-modules".*workspace/,
      },
      {
        name: 'extra module symlink escaping the workspace',
        args: () => withFlags('--extra-modules', 'link.nix'),
        message: /"extra-modules".*workspace/,
      },
      {
        name: 'missing extra module',
        args: () => withFlags('--extra-modules', 'nope.nix'),
        message: /"extra-modules".*nope\.nix/,
      },
      {
        name: 'extra module that is a directory',
        args: () => withFlags('--extra-modules', 'dir.nix'),
        message: /"extra-modules"/,
      },
      {
        name: 'install-nix outside its options',
        args: () => withFlags('--install-nix', 'sometimes'),
        message: /"install-nix".*auto/,
      },
      {
        name: 'boolean that is not one',
        args: () => [...base(), '--keep-object=yes'],
        message: /"keep-object"/,
      },
      {
        name: 'duration in words',
        args: () => withFlags('--operation-timeout', '5 minutes'),
        message: /"operation-timeout"/,
      },
      {
        name: 'unknown guest OS feature',
        args: () => withFlags('--guest-os-features', 'WINDOWS_ONLY'),
        message: /"guest-os-features"/,
      },
      {
        name: 'unknown architecture',
        args: () => withFlags('--architecture', 'RISCV64'),
        message: /"architecture"/,
      },
      {
        name: 'plain http to a remote endpoint',
        args: () => withFlags('--storage-endpoint', 'http://storage.example.com'),
        message: /"storage-endpoint"/,
      },
      {
        name: 'endpoint that is not a URL',
        args: () => withFlags('--compute-endpoint', 'not a url'),
        message: /"compute-endpoint"/,
      },
      {
        name: 'missing image file',
        args: () => withFlags('--image-file', 'nope.raw.tar.gz'),
        message: /"image-file"/,
      },
      {
        name: 'image file with extra modules',
        args: () => withFlags('--image-file', 'not-a-tarball.raw.tar.gz', '--extra-modules', 'runner.nix'),
        message: /"image-file".*"extra-modules"/,
      },
      {
        name: 'flake directory without flake.nix',
        args: () => withFlags('--flake', outside),
        message: /flake input ".*".*has no flake\.nix/,
      },
      {
        name: 'bucket that does not exist',
        args: () => withFlags('--bucket', 'no-such-bucket'),
        message: /"bucket".*gs:\/\/no-such-bucket/,
      },
      {
        name: 'unknown flake attribute',
        args: () => withFlags('--flake-attr', 'packages.x86_64-linux.nope'),
        message: /"?flake-attr"?.*nope/,
      },
      {
        name: 'tarball without disk.raw',
        args: () => withFlags('--flake-attr', 'wrongMember'),
        message: /disk\.raw/,
        exitCode: 2,
      },
      {
        name: 'builder output holding disk.raw and a second member',
        args: () => withFlags('--flake-attr', 'twoMembers'),
        message: /a second member "second\.txt"/,
        exitCode: 2,
      },
      {
        name: 'image file holding disk.raw and a second member',
        args: () => withFlags('--image-file', 'two-members.raw.tar.gz'),
        message: /two-members\.raw\.tar\.gz holds a second member "second\.txt"/,
        exitCode: 2,
      },
      {
        name: 'image file whose second header has a bad checksum',
        args: () => withFlags('--image-file', 'bad-checksum.raw.tar.gz'),
        message: /bad-checksum\.raw\.tar\.gz holds data after disk\.raw that is not a tar header/,
        exitCode: 2,
      },
      {
        name: 'truncated image file',
        args: () => withFlags('--image-file', 'truncated.raw.tar.gz'),
        message: /truncated\.raw\.tar\.gz is truncated \(3584 bytes of disk\.raw are missing\)/,
        exitCode: 2,
      },
      {
        name: 'image file that is not gzip',
        args: () => withFlags('--image-file', 'not-a-tarball.raw.tar.gz'),
        message: /gzip/,
      },
    ];

    for (const c of cases()) {
      it(`refuses: ${c.name}`, async () => {
        emu.requests.clear();
        const run = await runCli(['publish', ...c.args()], { cwd: ws, env: { NIX_CONFIG: TEST_NIX_CONFIG } });
        expect(run.code, run.stderr).not.toBe(0);
        if (c.exitCode !== undefined) expect(run.code).toBe(c.exitCode);
        expect(errorLine(run.stderr)).toMatch(c.message);
        expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace for the user's mistake
        expect(emu.requests.mutating()).toEqual([]);
      });
    }
  });

  describe('publish without credentials', () => {
    it('says how to get credentials, before any request', async () => {
      const ws = workspace({ 'image.raw.tar.gz': 'not checked: credentials come first\n' });
      const home = tempDir('home');
      const run = await runCli(
        // .invalid never resolves, so even a stray request could not leave the machine.
        [
          'publish',
          '--project',
          'some-project',
          '--bucket',
          'some-bucket',
          '--image-file',
          'image.raw.tar.gz',
          '--storage-endpoint',
          'https://storage.example.invalid',
          '--compute-endpoint',
          'https://compute.example.invalid',
        ],
        { cwd: ws, env: { HOME: home, METADATA_SERVER_DETECTION: 'none' } },
      );
      expect(run.code).not.toBe(0);
      expect(errorLine(run.stderr)).toMatch(
        /No Google credentials found.*google-github-actions\/auth.*GOOGLE_APPLICATION_CREDENTIALS/,
      );
    });

    it("prints only our sentence when the library's metadata-server probe fails oddly", async () => {
      // A stand-in for the metadata server on loopback that drops every connection: google-auth-library
      // then probes it, fails with ECONNRESET, and Node would print a MetadataLookupWarning.
      const server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const ws = workspace({ 'image.raw.tar.gz': 'not checked: credentials come first\n' });
        const run = await runCli(
          [
            'publish',
            '--project',
            'some-project',
            '--bucket',
            'some-bucket',
            '--image-file',
            'image.raw.tar.gz',
            '--storage-endpoint',
            'https://storage.example.invalid',
            '--compute-endpoint',
            'https://compute.example.invalid',
          ],
          { cwd: ws, env: { HOME: tempDir('home'), GCE_METADATA_HOST: `127.0.0.1:${port}` } },
        );
        expect(run.code).not.toBe(0);
        expect(run.stderr).not.toMatch(/Warning/);
        expect(run.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(/^error: No Google credentials found/),
        ]);
      } finally {
        server.close();
      }
    });
  });
});

/**
 * Tarballs whose first header is right and whose rest is not, made with GNU tar: disk.raw plus a second
 * file, the same with the second header corrupted, and disk.raw cut short with no end blocks.
 */
function writeBadTarballs(ws: string): void {
  requireTool('tar', 'install GNU tar: apt-get install -y tar');
  const dir = tempDir('bad-tar');
  writeFileSync(join(dir, 'disk.raw'), 'disk\n');
  writeFileSync(join(dir, 'second.txt'), 'second\n');
  const tar = (...files: string[]) =>
    execFileSync('tar', ['--format=gnu', '-C', dir, '-cf', '-', ...files], { maxBuffer: 1 << 24 });
  const two = tar('disk.raw', 'second.txt');
  writeFileSync(join(ws, 'two-members.raw.tar.gz'), gzipSync(two));
  // Header, one data block, then second.txt's header at 1024: one byte changed, its checksum no longer fits.
  const corrupt = Buffer.from(two);
  corrupt[1024] = 'X'.charCodeAt(0);
  writeFileSync(join(ws, 'bad-checksum.raw.tar.gz'), gzipSync(corrupt));
  writeFileSync(join(dir, 'disk.raw'), Buffer.alloc(4096, 1));
  writeFileSync(join(ws, 'truncated.raw.tar.gz'), gzipSync(tar('disk.raw').subarray(0, 1024)));
}
