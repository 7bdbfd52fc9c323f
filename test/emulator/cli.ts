/**
 * Standalone emulator: `npm run emulator -- --port 8085 [--data-dir DIR]`. Serves until killed and
 * prints how to point gcloud at it without touching the user's own gcloud configuration.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8085' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log('usage: npm run emulator -- [--port 8085] [--host 127.0.0.1] [--data-dir DIR]');
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got "${values.port}"`);
  process.exit(2);
}
const dataDir = values['data-dir']
  ? resolve(values['data-dir'])
  : mkdtempSync(join(tmpdir(), 'gcp-emulator-'));
const emu = await startEmulator({ port, host: values.host, dataDir }).catch((err: NodeJS.ErrnoException) => {
  if (err.code !== 'EADDRINUSE') throw err;
  if (!values['data-dir']) rmSync(dataDir, { recursive: true, force: true });
  console.error(
    `Port ${port} on ${values.host} is already in use (another emulator?): stop what holds it, or pass another --port.`,
  );
  process.exit(2);
});
const cfg = join(tmpdir(), `gcloud-emulator-${emu.port}`);

console.log(`GCP emulator (Cloud Storage + Compute Engine) listening on ${emu.url}
data directory: ${dataDir}

Point gcloud at it in a dedicated configuration directory (your own gcloud config stays untouched):

  export CLOUDSDK_CONFIG=${cfg}
  gcloud config set auth/disable_credentials true
  gcloud config set core/project my-project
  gcloud config set api_endpoint_overrides/storage ${emu.url}/
  gcloud config set api_endpoint_overrides/compute ${emu.url}/compute/v1/

Node clients: new Storage({ apiEndpoint: '${emu.url}', projectId }) — see docs/architecture.md for Compute.
Admin: GET ${emu.url}/_emulator/requests, POST ${emu.url}/_emulator/faults
Stop with Ctrl-C.`);

const stop = async () => {
  await emu.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
