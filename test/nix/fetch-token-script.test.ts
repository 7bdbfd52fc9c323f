import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO, requireTool } from './helpers.ts';

/**
 * nix/scripts/fetch-token.sh against a loopback server that answers as the metadata server
 * (service-account token) and Secret Manager (`versions/...:access`) do.
 */

const SCRIPT = join(REPO, 'nix/scripts/fetch-token.sh');
const SECRET = 'projects/my-project/secrets/gitlab-runner-env/versions/latest';
const PAYLOAD = 'CI_SERVER_URL=https://gitlab.example\nCI_SERVER_TOKEN=glrt-from-secret-manager\n';

interface Google {
  url: string;
  authorizations: string[];
  close(): Promise<void>;
}

async function startGoogle(secretStatus = 200): Promise<Google> {
  const authorizations: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://google').pathname;
    if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') res.writeHead(403).end();
      else
        res
          .writeHead(200)
          .end(JSON.stringify({ access_token: 'ya29.vm-token', expires_in: 3599, token_type: 'Bearer' }));
      return;
    }
    if (path === `/secretmanager/v1/${SECRET}:access`) {
      authorizations.push(String(req.headers.authorization));
      if (secretStatus !== 200) {
        res.writeHead(secretStatus).end(JSON.stringify({ error: { code: secretStatus } }));
        return;
      }
      // Pretty-printed, with the checksum Secret Manager puts next to the data.
      const payload = { data: Buffer.from(PAYLOAD).toString('base64'), dataCrc32c: '2864935262' };
      res.writeHead(200).end(JSON.stringify({ name: SECRET.replace('latest', '3'), payload }, null, 2));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function fetchToken(google: Google, secret = SECRET) {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'ngr-fetch-token-')), 'gitlab-runner-env');
  const child = spawn(
    'bash',
    ['-o', 'errexit', '-o', 'nounset', '-o', 'pipefail', SCRIPT, secret, tokenFile],
    {
      env: {
        PATH: process.env.PATH ?? '',
        METADATA_URL: `${google.url}/computeMetadata/v1`,
        SECRET_MANAGER_URL: `${google.url}/secretmanager/v1`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise<{ code: number | null; output: string; tokenFile: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, output, tokenFile })),
  );
}

describe('fetch-token.sh, the token from Secret Manager', () => {
  let google: Google | undefined;

  beforeAll(() => {
    for (const [tool, hint] of [
      ['bash', 'apt-get install -y bash'],
      ['curl', 'apt-get install -y curl'],
    ] as const)
      requireTool(tool, '--version', `install ${tool}: ${hint}`);
  });

  afterEach(async () => {
    await google?.close();
    google = undefined;
  });

  it("writes the secret's payload as the token file, mode 0600, with the VM's token", async () => {
    google = await startGoogle();
    const { code, output, tokenFile } = await fetchToken(google);
    expect(code, output).toBe(0);
    expect(readFileSync(tokenFile, 'utf8')).toBe(PAYLOAD);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(google.authorizations).toEqual(['Bearer ya29.vm-token']);
    expect(output).not.toContain('glrt-from-secret-manager');
    expect(output).not.toContain('ya29.vm-token');
  });

  it('says which role to check when Secret Manager refuses, and writes nothing', async () => {
    google = await startGoogle(403);
    const { code, output, tokenFile } = await fetchToken(google);
    expect(code).toBe(1);
    expect(output).toMatch(
      /answered 403 for projects\/my-project\/.*has roles\/secretmanager\.secretAccessor on it/,
    );
    expect(existsSync(tokenFile)).toBe(false);
  });

  it('refuses a secret name that is not a version resource', async () => {
    google = await startGoogle();
    const { code, output } = await fetchToken(google, 'gitlab-runner-env');
    expect(code).toBe(1);
    expect(output).toMatch(/is not projects\/PROJECT\/secrets\/NAME\/versions\/VERSION/);
  });
});
