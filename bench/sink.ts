/** Runs the lean sink in its own process (so it has its own core) and prints its URL. */
import { startSinkServer } from './lib/sink-server.ts';

const sink = await startSinkServer();
process.stdout.write(`${sink.url}\n`);
process.once('SIGTERM', () => void sink.stop().then(() => process.exit(0)));
