/**
 * Writes test/emulator/conformance/storage-surface.json: each Cloud Storage JSON API v1 method's HTTP
 * method, path, query parameters and body fields, which the emulator holds requests to.
 *
 * The source is the Storage client that the Google Cloud SDK generates from the Storage JSON API's
 * discovery document (`lib/googlecloudsdk/generated_clients/apis/storage/v1/` of an installed gcloud):
 * `storage_v1_client.py` has each method's id, path, path and query parameters and body field, and
 * `storage_v1_messages.py` the messages. Run it again after a gcloud upgrade:
 *
 *   npx tsx scripts/gen-storage-surface.ts [path/to/google-cloud-sdk]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './generated-files.ts';

const sdk =
  process.argv[2] ?? dirname(dirname(realpathSync(execFileSync('which', ['gcloud']).toString().trim())));
const dir = join(sdk, 'lib/googlecloudsdk/generated_clients/apis/storage/v1');
const client = readFileSync(join(dir, 'storage_v1_client.py'), 'utf8');
const messages = readFileSync(join(dir, 'storage_v1_messages.py'), 'utf8');
const version = readFileSync(join(sdk, 'VERSION'), 'utf8').trim();

/** The top-level fields of a message class: `  name = _messages.XField(`. */
function fields(name: string): Map<string, string> {
  const start = messages.indexOf(`\nclass ${name}(_messages.Message):`);
  if (start < 0) throw new Error(`no message ${name}`);
  const end = messages.indexOf('\nclass ', start + 1);
  const body = messages.slice(start, end < 0 ? undefined : end);
  const out = new Map<string, string>();
  for (const m of body.matchAll(/^ {2}(\w+) = _message(?:s|_types)\.(\w+)Field\(([^)]*)\)/gm))
    out.set(m[1] as string, m[2] === 'Message' ? (/'(\w+)'/.exec(m[3] as string)?.[1] ?? '') : '');
  return out;
}

function list(block: string, key: string): string[] {
  const m = new RegExp(`${key}=\\[([^\\]]*)\\]`).exec(block);
  return m ? [...(m[1] as string).matchAll(/'([^']+)'/g)].map((x) => x[1] as string) : [];
}

function str(block: string, key: string): string | undefined {
  return new RegExp(`${key}='([^']*)'`).exec(block)?.[1];
}

interface Method {
  id: string;
  httpMethod: string;
  path: string;
  query: string[];
  /** Top-level fields of the JSON body, when the method takes one. */
  body?: string[];
}

const methods: Method[] = [];
for (const m of client.matchAll(
  /(\w+)\.method_config = lambda: base_api\.ApiMethodInfo\(([\s\S]*?)\n {4}\)/g,
)) {
  const block = m[2] as string;
  const id = str(block, 'method_id') as string;
  const requestType = str(block, 'request_type_name') as string;
  const requestField = str(block, 'request_field');
  const bodyType = requestField ? fields(requestType).get(requestField) : undefined;
  const method: Method = {
    id,
    httpMethod: str(block, 'http_method') as string,
    path: `/storage/v1/${str(block, 'relative_path')}`,
    query: list(block, 'query_params').sort(),
    ...(bodyType ? { body: [...fields(bodyType).keys()].sort() } : {}),
  };
  methods.push(method);
  // Media uploads go to the upload paths (the client's upload config); a resumable session's later
  // requests carry `upload_id`. Media downloads of objects.get go to /download/.
  if (id === 'storage.objects.insert') {
    for (const path of ['/upload/storage/v1/b/{bucket}/o', '/resumable/upload/storage/v1/b/{bucket}/o'])
      for (const httpMethod of ['POST', 'PUT', 'DELETE'])
        methods.push({ ...method, httpMethod, path, query: [...method.query, 'upload_id'].sort() });
  }
  if (id === 'storage.objects.get') methods.push({ ...method, path: `/download${method.path}` });
}
methods.sort((a, b) => (a.id === b.id ? (a.path < b.path ? -1 : 1) : a.id < b.id ? -1 : 1));

const out = {
  source: `Google Cloud SDK ${version}, lib/googlecloudsdk/generated_clients/apis/storage/v1 (generated from the Cloud Storage JSON API discovery document); written by scripts/gen-storage-surface.ts`,
  methods,
};
writeFileSync(
  join(ROOT, 'test/emulator/conformance/storage-surface.json'),
  `${JSON.stringify(out, null, 1)}\n`,
);
console.log(`wrote ${methods.length} methods from gcloud ${version}`);
