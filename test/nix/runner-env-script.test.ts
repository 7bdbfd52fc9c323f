import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, requireTool } from './helpers.ts';

/**
 * nix/scripts/runner-env.sh turns the token file written at boot into the file that nixpkgs'
 * gitlab-runner module sources (`set -a && source FILE`) before `gitlab-runner register`.
 */

const SCRIPT = join(REPO, 'nix/scripts/runner-env.sh');

function run(tokenFileContent: string | undefined, tagList = '') {
  const dir = mkdtempSync(join(tmpdir(), 'ngr-runner-env-'));
  const tokenFile = join(dir, 'gitlab-runner-env');
  const output = join(dir, 'run', 'runner-env');
  if (tokenFileContent !== undefined) {
    writeFileSync(tokenFile, tokenFileContent);
    chmodSync(tokenFile, 0o644);
  }
  const result = spawnSync(
    'bash',
    ['-o', 'errexit', '-o', 'nounset', '-o', 'pipefail', SCRIPT, tokenFile, output, '0', tagList],
    {
      encoding: 'utf8',
    },
  );
  return { ...result, tokenFile, output };
}

/** What `gitlab-runner register` sees after nixpkgs sources the file. */
function sourced(file: string, names: string[]): Record<string, string> {
  const printed = spawnSync(
    'bash',
    [
      '-c',
      `set -a; source "$1"; for n in ${names.join(' ')}; do printf '%s=%s\\0' "$n" "\${!n-}"; done`,
      '_',
      file,
    ],
    {
      encoding: 'utf8',
    },
  ).stdout;
  return Object.fromEntries(
    printed
      .split('\0')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

describe('runner-env.sh, token delivery', () => {
  beforeAll(() => requireTool('bash', '--version', 'install bash: apt-get install -y bash'));

  it("reads upstream's README form (REGISTRATION_TOKEN=glrt-…, no final newline) as an authentication token", () => {
    const r = run('CI_SERVER_URL=https://gitlab.com\nREGISTRATION_TOKEN=glrt-YOUR_TOKEN');
    expect(r.status, r.stderr).toBe(0);
    expect(sourced(r.output, ['CI_SERVER_URL', 'CI_SERVER_TOKEN', 'REGISTRATION_TOKEN'])).toEqual({
      CI_SERVER_URL: 'https://gitlab.com',
      CI_SERVER_TOKEN: 'glrt-YOUR_TOKEN',
      REGISTRATION_TOKEN: '',
    });
  });

  it('keeps both files at mode 0600 and never prints the token', () => {
    const r = run('CI_SERVER_URL=https://gitlab.example\nCI_SERVER_TOKEN=glrt-secret-value\n');
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(r.tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(r.output).mode & 0o777).toBe(0o600);
    expect(`${r.stdout}${r.stderr}`).not.toContain('glrt-secret-value');
  });

  it('passes other variables through quoted, so odd values survive sourcing', () => {
    const r = run(
      `export CI_SERVER_URL="https://gitlab.example"\nCI_SERVER_TOKEN='glrt-x'\n# comment\n\nRUNNER_ENV=A=1 $HOME "q"\n`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(sourced(r.output, ['CI_SERVER_URL', 'CI_SERVER_TOKEN', 'RUNNER_ENV'])).toEqual({
      CI_SERVER_URL: 'https://gitlab.example',
      CI_SERVER_TOKEN: 'glrt-x',
      RUNNER_ENV: 'A=1 $HOME "q"',
    });
  });

  it('keeps a legacy registration token working, with tagList as RUNNER_TAG_LIST and a warning', () => {
    const r = run('CI_SERVER_URL=https://gitlab.example\nREGISTRATION_TOKEN=GR1348941legacy\n', 'nix,docker');
    expect(r.status, r.stderr).toBe(0);
    expect(sourced(r.output, ['REGISTRATION_TOKEN', 'RUNNER_TAG_LIST', 'CI_SERVER_TOKEN'])).toEqual({
      REGISTRATION_TOKEN: 'GR1348941legacy',
      RUNNER_TAG_LIST: 'nix,docker',
      CI_SERVER_TOKEN: '',
    });
    expect(r.stderr).toMatch(/legacy registration token; GitLab 18 removed them/);
  });

  it.each([
    ['no URL', 'CI_SERVER_TOKEN=glrt-x\n', /needs CI_SERVER_URL=https:\/\/your\.gitlab\.host/],
    ['no token', 'CI_SERVER_URL=https://gitlab.example\n', /needs CI_SERVER_TOKEN=glrt-/],
    [
      'both tokens',
      'CI_SERVER_URL=https://gitlab.example\nCI_SERVER_TOKEN=glrt-a\nREGISTRATION_TOKEN=legacy\n',
      /sets both CI_SERVER_TOKEN and a legacy REGISTRATION_TOKEN/,
    ],
    [
      'a line that is not KEY=VALUE',
      'CI_SERVER_URL=https://gitlab.example\nrm -rf /\n',
      /line 2 is not KEY=VALUE/,
    ],
  ])('refuses a token file with %s, in one sentence naming the file', (_case, content, message) => {
    const r = run(content);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(r.tokenFile);
    expect(existsSync(r.output)).toBe(false);
  });

  it('fails, for systemd to retry with backoff, while the startup script has not written the file', () => {
    const r = run(undefined);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is missing or empty after 0s; .* retrying with backoff/);
  });

  it('reports the line number, not the content, of a bad line', () => {
    const r = run('CI_SERVER_URL=https://gitlab.example\nnot a pair glrt-leak\n');
    expect(r.stderr).not.toContain('glrt-leak');
    expect(readFileSync(r.tokenFile, 'utf8')).toContain('glrt-leak');
  });
});
