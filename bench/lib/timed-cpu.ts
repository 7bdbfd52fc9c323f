import { runMeasured } from './measured.ts';
import { median } from './stats.ts';

export interface CpuTimed {
  wall_ms: number;
  cpu_ms: number;
}

/**
 * Median wall and CPU (user + system) time of a command, CPU from /usr/bin/time: on a shared machine the
 * CPU figure moves far less than the wall clock, so both are reported.
 */
export async function timedCommand(
  args: string[],
  runs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CpuTimed> {
  const wall: number[] = [];
  const cpu: number[] = [];
  // One discarded run first: the first start of a binary pays for cold caches that later ones do not.
  for (let i = -1; i < runs; i++) {
    const ran = await runMeasured(process.execPath, args, { env, timeoutMs: 60_000 });
    if (i < 0) continue;
    wall.push(ran.seconds * 1000);
    cpu.push(ran.cpuSeconds * 1000);
  }
  return { wall_ms: median(wall), cpu_ms: median(cpu) };
}
