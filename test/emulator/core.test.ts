import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from './index.ts';

describe('emulator core', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ dataDir: mkdtempSync(join(tmpdir(), 'emu-core-')) });
  });
  afterAll(() => emu.stop());

  it('answers unknown paths with a Google-shaped 404 and logs the call', async () => {
    emu.requests.clear();
    const res = await fetch(`${emu.url}/nothing/here`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: number; errors: { reason: string }[] } };
    expect(body.error.code).toBe(404);
    expect(body.error.errors[0]?.reason).toBe('notFound');
    expect(emu.requests.entries.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      'GET /nothing/here 404',
    ]);
  });

  it('fires an HTTP-added fault rule exactly count times', async () => {
    const add = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '^/x$', status: 503, count: 2 }),
    });
    expect(add.status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${emu.url}/x`)).status);
    expect(statuses).toEqual([503, 503, 404]);
    const log = (await (await fetch(`${emu.url}/_emulator/requests`)).json()) as {
      requests: { fault?: string }[];
    };
    expect(log.requests.filter((r) => r.fault).length).toBe(2);
  });

  it('refuses a fault rule with a bad pattern', async () => {
    const res = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '(' }),
    });
    expect(res.status).toBe(400);
  });
});

describe('request log', () => {
  it('counts read-only POSTs as reads: operation waits, list methods, status queries', async () => {
    const { isMutating } = await import('./request-log.ts');
    expect(isMutating('POST', '/compute/v1/projects/p/global/operations/op-1/wait', {})).toBe(false);
    expect(
      isMutating('POST', '/compute/v1/projects/p/zones/z/instanceGroupManagers/g/listManagedInstances', {}),
    ).toBe(false);
    expect(isMutating('PUT', '/upload/storage/v1/b/b/o', { 'content-range': 'bytes */1024' })).toBe(false);
    expect(
      isMutating(
        'POST',
        '/compute/v1/projects/p/zones/z/instanceGroupManagers/g/applyUpdatesToInstances',
        {},
      ),
    ).toBe(true);
    expect(isMutating('PUT', '/upload/storage/v1/b/b/o', { 'content-range': 'bytes 0-9/10' })).toBe(true);
  });
});
