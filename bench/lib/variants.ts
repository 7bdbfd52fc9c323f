/**
 * Upload candidates measured against the pipeline's own upload (issue 8 §5; `ours` is
 * uploadImageObject itself: library-opened session, lean PUT through reused buffers). Each keeps CRC32C
 * validation on: the library variants use `validation: 'crc32c'`, the PUT variants compare their own
 * running CRC32C with the one the server reports and delete the object on a mismatch.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CRC32CValidatorGenerator, Storage, type UploadOptions } from '@google-cloud/storage';
import { wasmCrc32cGenerator } from '../../src/gcp/crc32c.ts';

export type VariantName =
  | 'ours'
  | 'library-js-crc'
  | 'library-native-crc'
  | 'chunked-32mib'
  | 'stream-hwm-1mib'
  | 'library-upload'
  | 'lean-put-fresh-buffers';

export interface UploadJob {
  variant: VariantName;
  url: string;
  bucket: string;
  object: string;
  file: string;
}

const MiB = 2 ** 20;

/** The pipeline's upload options, so a variant differs from `ours` only in what it names. */
function baseOptions(object: string): UploadOptions {
  return {
    destination: object,
    resumable: true,
    validation: 'crc32c',
    gzip: false,
    preconditionOpts: { ifGenerationMatch: 0 },
    metadata: { contentType: 'application/x-tar', metadata: { bench: 'yes' } },
  };
}

async function client(url: string, crc32cGenerator?: CRC32CValidatorGenerator): Promise<Storage> {
  return new Storage({
    apiEndpoint: url,
    projectId: 'bench',
    ...(crc32cGenerator ? { crc32cGenerator } : {}),
  });
}

async function libraryUpload(
  job: UploadJob,
  storage: Storage,
  extra: Partial<UploadOptions> = {},
): Promise<string> {
  const [file] = await storage.bucket(job.bucket).upload(job.file, { ...baseOptions(job.object), ...extra });
  return String(file.metadata.crc32c);
}

/** @node-rs/crc32 behind the same validator interface as the WASM one (a native addon: per-platform). */
async function nativeGenerator(): Promise<CRC32CValidatorGenerator> {
  const { crc32c } = await import('@node-rs/crc32');
  return () => {
    let crc = 0;
    const digest = () => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc >>> 0);
      return b.toString('base64');
    };
    return {
      update: (data: Buffer) => {
        crc = crc32c(data, crc);
      },
      toString: digest,
      validate: (value: string) => digest() === value,
    };
  };
}

export const VARIANTS: Record<Exclude<VariantName, 'ours'>, (job: UploadJob) => Promise<string>> = {
  // The library's own JS CRC32C: what you get without a crc32cGenerator.
  'library-js-crc': async (job) => libraryUpload(job, await client(job.url)),
  'library-native-crc': async (job) => libraryUpload(job, await client(job.url, await nativeGenerator())),
  'chunked-32mib': async (job) =>
    libraryUpload(job, await client(job.url, await wasmCrc32cGenerator()), { chunkSize: 32 * MiB }),
  // bucket.upload reads with fs defaults (64 KiB); a larger read buffer means fewer, bigger writes.
  'stream-hwm-1mib': async (job) => {
    const storage = await client(job.url, await wasmCrc32cGenerator());
    const file = storage.bucket(job.bucket).file(job.object);
    const { destination: _d, ...opts } = baseOptions(job.object);
    await pipeline(createReadStream(job.file, { highWaterMark: MiB }), file.createWriteStream(opts));
    return String(file.metadata.crc32c);
  },
  // The pipeline's upload before the lean PUT: the library's whole stream pipeline, hash-wasm generator.
  'library-upload': async (job) => libraryUpload(job, await client(job.url, await wasmCrc32cGenerator())),
  // The first lean PUT tried: a fresh 1 MiB buffer per read through a Transform (no buffer reuse).
  'lean-put-fresh-buffers': async (job) => {
    const storage = await client(job.url);
    const file = storage.bucket(job.bucket).file(job.object);
    const { destination: _d, ...opts } = baseOptions(job.object);
    const [uri] = await file.createResumableUpload(opts);
    const size = (await stat(job.file)).size;
    const validator = (await wasmCrc32cGenerator(1))();
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        validator.update(chunk);
        cb(null, chunk);
      },
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(uri, {
        method: 'PUT',
        headers: { 'content-length': size, 'content-range': `bytes 0-${size - 1}/${size}` },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`PUT ${res.statusCode}: ${text}`)),
        );
      });
      req.on('error', reject);
      pipeline(createReadStream(job.file, { highWaterMark: MiB }), hashing, req).catch(reject);
    });
    const reported = (JSON.parse(body) as { crc32c: string }).crc32c;
    if (!validator.validate(reported)) {
      await file.delete({ ignoreNotFound: true });
      throw new Error(`CRC32C mismatch: local ${validator.toString()}, server ${reported}`);
    }
    return reported;
  },
};
