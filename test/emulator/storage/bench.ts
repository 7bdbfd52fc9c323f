/**
 * Hand-run storage emulator measurements (not part of the suite):
 *   npx tsx test/emulator/storage/bench.ts [GiB to upload, default 1]
 * Prints the native CRC32C rate, then starts the standalone emulator as a child process, streams
 * N GiB into one resumable session (`Content-Range: bytes 0-*\/*`) and reports throughput and the
 * emulator's RSS before/peak (read from /proc, so client memory is not counted).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32c } from '@node-rs/crc32';

const MiB = 1 << 20;
const gib = Number(process.argv[2] ?? 1);

function crcRate(): number {
  const buf = Buffer.alloc(MiB, 7);
  const t = performance.now();
  let c = 0;
  for (let i = 0; i < 1024; i++) c = crc32c(buf, c);
  return 1024 / ((performance.now() - t) / 1000);
}

const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function main(): Promise<void> {
  console.log(`crc32c (@node-rs/crc32): ${crcRate().toFixed(0)} MiB/s`);
  const dir = mkdtempSync(join(tmpdir(), 'emu-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/emulator/cli.ts', '--port', String(port), '--data-dir', dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise<void>((resolve) =>
      child.stdout?.on('data', (b: Buffer) => b.toString().includes('listening') && resolve()),
    );
    const url = `http://127.0.0.1:${port}`;
    await fetch(`${url}/storage/v1/b?project=bench`, {
      method: 'POST',
      body: JSON.stringify({ name: 'bench' }),
    });
    const init = await fetch(`${url}/upload/storage/v1/b/bench/o?uploadType=resumable&name=big`, {
      method: 'POST',
    });
    const session = init.headers.get('location') as string;
    await new Promise((r) => setTimeout(r, 500));
    const before = rssKiB(child.pid as number);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(child.pid as number))), 200);
    const block = Buffer.alloc(MiB, 0x5a);
    let sent = 0;
    const total = gib * 1024 * MiB;
    const body = new Readable({
      read() {
        if (sent >= total) return void this.push(null);
        sent += MiB;
        this.push(block);
      },
    });
    const t = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(session, { method: 'PUT', headers: { 'content-range': 'bytes 0-*/*' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      body.pipe(req);
    });
    const secs = (performance.now() - t) / 1000;
    clearInterval(sampler);
    console.log(
      `upload ${gib} GiB into one resumable session: HTTP ${status}, ${((gib * 1024) / secs).toFixed(0)} MiB/s (${secs.toFixed(1)} s)`,
    );
    console.log(
      `emulator RSS: ${(before / 1024).toFixed(0)} MiB before, ${(peak / 1024).toFixed(0)} MiB peak, growth ${((peak - before) / 1024).toFixed(0)} MiB`,
    );
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
