import { ExitCode } from './errors.ts';
import { run } from './main.ts';

await run();
// An interrupted run may leave sockets and timers behind (an abandoned upload, a poll); do not wait for them.
if (process.exitCode === ExitCode.Interrupted) process.exit();
