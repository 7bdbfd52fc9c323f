/** `npm run emulator`, the standalone emulator, started the way the README shows. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';

describe('npm run emulator', () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it('on a port in use, says so in one sentence, exits 2 and leaves no data directory behind', () => {
    const dataDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('gcp-emulator-'));
    const before = dataDirs();
    const r = spawnSync('npm', ['run', '-s', 'emulator', '--', '--port', String(port)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      `Port ${port} on 127.0.0.1 is already in use (another emulator?): stop what holds it, or pass another --port.`,
    );
    expect(r.status).toBe(2);
    expect(dataDirs().filter((name) => !before.includes(name))).toEqual([]);
  });
});
