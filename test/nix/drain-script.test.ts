import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO, requireTool } from './helpers.ts';

/**
 * The drain script (nix/scripts/drain.sh) against a metadata server on loopback that speaks the
 * protocol of docs/architecture.md ("The drain protocol"). systemd and the runner are stand-ins here: the NixOS VM
 * test (nix/tests/runner.nix) runs the same script under real systemd with a real runner.
 */

const DRAIN_SCRIPT = join(REPO, 'nix/scripts/drain.sh');
const ATTRIBUTES_PATH = '/computeMetadata/v1/instance/attributes/';
const KEY_PATH = `${ATTRIBUTES_PATH}nix-glab-runner-drain`;
const GUEST_PREFIX = '/computeMetadata/v1/instance/guest-attributes/';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

interface Metadata {
  url: string;
  setKey(value: string | undefined): void;
  /** Guest attributes in the order they were written, as "namespace/key=value". */
  writes: string[];
  requests: string[];
  close(): Promise<void>;
}

/**
 * With `guestAttributes: false` the server refuses writes, as GCE does without enable-guest-attributes.
 * As on GCE, a key that does not exist answers 404 at once, `wait_for_change` or not; a directory
 * (`instance/attributes/`, here always with `recursive=true`) exists and can be waited on: it answers
 * when its content's ETag differs from `last_etag`, or after `timeout_sec` with the same content.
 */
async function startMetadata({ guestAttributes = true, directory = true } = {}): Promise<Metadata> {
  let value: string | undefined;
  const writes: string[] = [];
  const requests: string[] = [];
  const waiting: (() => void)[] = [];
  const etag = (v: string): string => Buffer.from(v).toString('hex').slice(0, 16);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://metadata');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403).end('Missing Metadata-Flavor header');
      return;
    }
    const lastEtag = url.searchParams.get('last_etag');
    const wait = url.searchParams.get('wait_for_change') === 'true';
    if (req.method === 'GET' && url.pathname === KEY_PATH) {
      const answer = (): void => {
        if (value === undefined) res.writeHead(404).end('not found');
        else res.writeHead(200, { ETag: etag(value) }).end(value);
      };
      const unchanged = value !== undefined && lastEtag !== null && etag(value) === lastEtag;
      if (wait && unchanged) waiting.push(answer);
      else answer();
      return;
    }
    if (req.method === 'GET' && url.pathname === ATTRIBUTES_PATH && directory) {
      const directory = (): string =>
        JSON.stringify(value === undefined ? {} : { 'nix-glab-runner-drain': value });
      const answer = (): void => {
        if (res.writableEnded) return;
        res.writeHead(200, { ETag: etag(directory()), 'Content-Type': 'application/json' }).end(directory());
      };
      if (wait && lastEtag !== null && etag(directory()) === lastEtag) {
        waiting.push(answer);
        setTimeout(answer, Number(url.searchParams.get('timeout_sec') ?? '300') * 1000).unref();
      } else answer();
      return;
    }
    if (req.method === 'PUT' && url.pathname.startsWith(GUEST_PREFIX)) {
      if (!guestAttributes) {
        res.writeHead(400).end('Guest attributes endpoint access is disabled.');
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        writes.push(`${url.pathname.slice(GUEST_PREFIX.length)}=${body}`);
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/computeMetadata/v1`,
    setKey(next) {
      value = next;
      for (const answer of waiting.splice(0)) answer();
    },
    writes,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const answer of waiting.splice(0)) answer();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * finishes-jobs: exits on SIGQUIT once its jobs end. hangs: never exits by itself. killed-at-stop-timeout:
 * systemd kills it when the unit's TimeoutStopSec (services.nix-glab-runner.stopTimeout) runs out.
 */
type RunnerBehaviour = 'finishes-jobs' | 'hangs' | 'killed-at-stop-timeout';

/** Stand-ins for systemctl, the job counter and unregistering, recording every call. */
function standIns(behaviour: RunnerBehaviour): { dir: string; bin: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ngr-drain-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(dir, 'runner-state'), 'active\n');
  writeFileSync(join(dir, 'runner-result'), 'success\n');
  const script = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> ${dir}/calls\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  const stops: Record<RunnerBehaviour, string> = {
    'finishes-jobs': `echo deactivating > ${dir}/runner-state; (sleep 0.5; echo inactive > ${dir}/runner-state) &`,
    hangs: `echo deactivating > ${dir}/runner-state`,
    'killed-at-stop-timeout': `echo deactivating > ${dir}/runner-state; (sleep 0.5; echo timeout > ${dir}/runner-result; echo failed > ${dir}/runner-state) &`,
  };
  const stop = stops[behaviour];
  script(
    'systemctl',
    `case "$1" in
  show) if [ "$3" = Result ]; then cat ${dir}/runner-result; else cat ${dir}/runner-state; fi ;;
  stop) ${stop} ;;
  kill) echo inactive > ${dir}/runner-state ;;
esac`,
  );
  script(
    'nix-glab-runner-running-jobs',
    `if grep -qx inactive ${dir}/runner-state; then echo 0; else echo 2; fi`,
  );
  script('nix-glab-runner-unregister', 'true');
  return {
    dir,
    bin,
    calls: () =>
      existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [],
  };
}

function runDrain(
  metadata: Metadata,
  stand: { dir: string; bin: string },
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('bash', ['-o', 'errexit', '-o', 'nounset', '-o', 'pipefail', DRAIN_SCRIPT], {
    env: {
      PATH: `${stand.bin}:${process.env.PATH ?? ''}`,
      METADATA_URL: metadata.url,
      DRAIN_KEY: 'nix-glab-runner-drain',
      NAMESPACE: 'nix-glab-runner',
      RUNNER_UNIT: 'gitlab-runner.service',
      MARKER: join(stand.dir, 'state', 'drained'),
      FALLBACK_SECONDS: '3600',
      UNREGISTER: '1',
      RUNNER_CONFIG: join(stand.dir, 'config.toml'),
      POLL_SECONDS: '0.2',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** Resolves once the script is parked in a wait on the attributes directory (no fixed sleep: load varies). */
async function directoryWaitStarted(metadata: Metadata): Promise<void> {
  const parked = () =>
    metadata.requests.some(
      (r) => r.startsWith(`GET ${ATTRIBUTES_PATH}?`) && r.includes('wait_for_change=true'),
    );
  for (let waited = 0; !parked(); waited += 50) {
    if (waited > 30_000)
      throw new Error(`drain.sh never waited on the directory: ${metadata.requests.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const inSeconds = (seconds: number): string =>
  new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const valuesOf = (writes: string[], key: string): string[] =>
  writes.filter((w) => w.startsWith(`nix-glab-runner/${key}=`)).map((w) => w.slice(w.indexOf('=') + 1));

describe('drain.sh, the guest side of the drain protocol', () => {
  let metadata: Metadata | undefined;

  beforeAll(() => {
    requireTool('bash', '--version', 'install bash: apt-get install -y bash');
    requireTool('curl', '--version', 'install curl: apt-get install -y curl');
  });

  afterEach(async () => {
    await metadata?.close();
    metadata = undefined;
  });

  it('waits for the key, stops the runner gracefully and reports draining, then drained', async () => {
    metadata = await startMetadata();
    const stand = standIns('finishes-jobs');
    const deadline = inSeconds(60);
    const run = runDrain(metadata, stand);
    await directoryWaitStarted(metadata);
    expect(stand.calls()).not.toContain('systemctl stop --no-block gitlab-runner.service');
    metadata.setKey(deadline);
    const { code, stderr } = await run;

    expect(code, stderr).toBe(0);
    expect(
      metadata.requests.some(
        (r) => r.startsWith(`GET ${ATTRIBUTES_PATH}?`) && r.includes('wait_for_change=true'),
      ),
    ).toBe(true);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'drained']);
    const [started] = valuesOf(metadata.writes, 'drain-started');
    const [finished] = valuesOf(metadata.writes, 'drain-finished');
    expect(started).toMatch(RFC3339);
    expect(finished).toMatch(RFC3339);
    expect(valuesOf(metadata.writes, 'running-jobs')[0]).toBe('2');
    expect(valuesOf(metadata.writes, 'running-jobs').at(-1)).toBe('0');
    // drain-finished lands before the final state, so a reader of "drained" sees the time.
    expect(metadata.writes.indexOf(`nix-glab-runner/drain-finished=${finished}`)).toBeLessThan(
      metadata.writes.indexOf('nix-glab-runner/drain-state=drained'),
    );
    expect(stand.calls()).toContain('systemctl stop --no-block gitlab-runner.service');
    expect(stand.calls().some((c) => c.startsWith('systemctl kill'))).toBe(false);
    expect(stand.calls()).toContain(`nix-glab-runner-unregister ${join(stand.dir, 'config.toml')} now`);
    expect(readFileSync(join(stand.dir, 'state', 'drained'), 'utf8').split('\n')[0]).toBe(deadline);
  });

  it('stops the runner forcefully at the deadline and reports timeout', async () => {
    metadata = await startMetadata();
    metadata.setKey(inSeconds(2));
    const stand = standIns('hangs');
    const { code, stderr } = await runDrain(metadata, stand);

    expect(code, stderr).toBe(0);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'timeout']);
    expect(stand.calls()).toContain('systemctl kill --kill-whom=main --signal=SIGTERM gitlab-runner.service');
    expect(stderr).toMatch(/deadline passed with 2 job\(s\) running/);
  });

  it('drains within the fallback time when the value is not an RFC 3339 deadline', async () => {
    metadata = await startMetadata();
    metadata.setKey('soon-please');
    const stand = standIns('hangs');
    const { code, stderr } = await runDrain(metadata, stand, { FALLBACK_SECONDS: '1' });

    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/'soon-please' is not an RFC 3339 time; draining within 1s/);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'timeout']);
  });

  it('finishes a drain from its marker after a reboot, without waiting for the key again', async () => {
    metadata = await startMetadata();
    const stand = standIns('finishes-jobs');
    mkdirSync(join(stand.dir, 'state'));
    writeFileSync(join(stand.dir, 'state', 'drained'), '2099-01-01T00:00:00Z\n2026-01-01T00:00:00Z\n');
    writeFileSync(join(stand.dir, 'runner-state'), 'inactive\n');
    const { code, stderr } = await runDrain(metadata, stand);

    expect(code, stderr).toBe(0);
    expect(metadata.requests.filter((r) => r.startsWith('GET'))).toEqual([]);
    expect(valuesOf(metadata.writes, 'drain-started')).toEqual(['2026-01-01T00:00:00Z']);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'drained']);
  });

  it('waits on the attributes directory while the key is missing, instead of polling the key', async () => {
    metadata = await startMetadata();
    const stand = standIns('finishes-jobs');
    const run = runDrain(metadata, stand);
    await directoryWaitStarted(metadata);
    // Long enough for a 0.2 s poll to ask about ten times.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const whileMissing = metadata.requests.filter((r) => r.startsWith('GET'));
    metadata.setKey(inSeconds(60));
    const { code, stderr } = await run;

    expect(code, stderr).toBe(0);
    expect(whileMissing.filter((r) => r.startsWith(`GET ${KEY_PATH}`)).length).toBeLessThanOrEqual(1);
    const directoryWaits = whileMissing.filter(
      (r) =>
        r.startsWith(`GET ${ATTRIBUTES_PATH}?`) && /wait_for_change=true/.test(r) && /last_etag=\w+/.test(r),
    );
    expect(directoryWaits).toHaveLength(1);
    expect(whileMissing.length, whileMissing.join('\n')).toBeLessThanOrEqual(3);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'drained']);
  });

  it('polls the key when the metadata server cannot list the attributes directory', async () => {
    // `directory: false` is not GCE: it stands for a simpler metadata server (such as a test's).
    metadata = await startMetadata({ directory: false });
    const stand = standIns('finishes-jobs');
    const run = runDrain(metadata, stand);
    const keyGets = () => metadata?.requests.filter((r) => r.startsWith(`GET ${KEY_PATH}`)).length ?? 0;
    // It keeps asking for the missing key (three times here, whatever the load), then drains once it is set.
    for (let waited = 0; keyGets() < 3; waited += 50) {
      if (waited > 30_000)
        throw new Error(`drain.sh stopped asking for the key: ${metadata.requests.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    metadata.setKey(inSeconds(60));
    const { code, stderr } = await run;

    expect(code, stderr).toBe(0);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'drained']);
  });

  it('after a reboot, a drained VM reports its final state again and never draining', async () => {
    metadata = await startMetadata();
    const stand = standIns('finishes-jobs');
    mkdirSync(join(stand.dir, 'state'));
    writeFileSync(
      join(stand.dir, 'state', 'drained'),
      '2099-01-01T00:00:00Z\n2026-01-01T00:00:00Z\ndrained\n2026-01-01T00:10:00Z\n',
    );
    writeFileSync(join(stand.dir, 'runner-state'), 'inactive\n');
    const { code, stderr } = await runDrain(metadata, stand);

    expect(code, stderr).toBe(0);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['drained']);
    expect(valuesOf(metadata.writes, 'drain-finished')).toEqual(['2026-01-01T00:10:00Z']);
    expect(
      stand
        .calls()
        .filter((c) => c.startsWith('systemctl stop') || c.startsWith('nix-glab-runner-unregister')),
    ).toEqual([]);
  });

  it('reports timeout, not drained, when systemd killed the runner at stopTimeout before the deadline', async () => {
    metadata = await startMetadata();
    metadata.setKey(inSeconds(3600));
    const stand = standIns('killed-at-stop-timeout');
    const { code, stderr } = await runDrain(metadata, stand);

    expect(code, stderr).toBe(0);
    expect(valuesOf(metadata.writes, 'drain-state')).toEqual(['draining', 'timeout']);
    expect(stderr).toMatch(/did not stop by itself \(systemd result: timeout\)/);
    expect(readFileSync(join(stand.dir, 'state', 'drained'), 'utf8').split('\n')[2]).toBe('timeout');
  });

  it('keeps draining when guest attributes cannot be written, and says what to enable', async () => {
    metadata = await startMetadata({ guestAttributes: false });
    metadata.setKey(inSeconds(60));
    const stand = standIns('finishes-jobs');
    const { code, stderr } = await runDrain(metadata, stand);

    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/set enable-guest-attributes=TRUE in the instance metadata/);
    expect(stand.calls()).toContain('systemctl stop --no-block gitlab-runner.service');
  });
});
