export const id = 249;
export const ids = [249];
export const modules = {

/***/ 3249:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  publish: () => (/* binding */ publish)
});

// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./node_modules/google-auth-library/build/src/index.js
var src = __webpack_require__(492);
;// CONCATENATED MODULE: ./src/gcp/auth.ts


const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
function credentialsFor(endpoints) {
    if (endpoints.loopback)
        return { auth: undefined, headers: async () => ({}) };
    const auth = new src.GoogleAuth({ scopes: SCOPES });
    return {
        auth,
        async headers() {
            try {
                const client = await auth.getClient();
                const headers = await client.getRequestHeaders();
                return Object.fromEntries(headers.entries());
            }
            catch (err) {
                throw noCredentials(err);
            }
        },
    };
}
async function resolveProject(project, credentials) {
    if (project)
        return project;
    if (!credentials.auth) {
        throw new errors/* UserError */.f('Input "project" is required when talking to the local emulator.', 'project');
    }
    try {
        return await credentials.auth.getProjectId();
    }
    catch {
        throw new errors/* UserError */.f('Input "project" is not set and Application Default Credentials name no project; set "project" or GOOGLE_CLOUD_PROJECT.', 'project');
    }
}
function noCredentials(err) {
    const detail = err.message.split('\n')[0];
    return new errors/* UserError */.f(`No Google credentials found (${detail}); on GitHub run google-github-actions/auth first, on GitLab set GOOGLE_APPLICATION_CREDENTIALS to an external_account file, locally run "gcloud auth application-default login".`, 'project', 4);
}

;// CONCATENATED MODULE: ./src/gcp/endpoints.ts
const GOOGLE_STORAGE = 'https://storage.googleapis.com';
const GOOGLE_COMPUTE = 'https://compute.googleapis.com/compute/v1';
function resolveEndpoints(storageEndpoint, computeEndpoint) {
    const storage = trimSlash(storageEndpoint || GOOGLE_STORAGE).replace(/\/storage\/v1$/, '');
    // Accept both `http://host:port` and gcloud's override form `http://host:port/compute/v1/`.
    const computeBase = trimSlash(computeEndpoint || GOOGLE_COMPUTE).replace(/\/compute\/v1$/, '');
    return {
        storage,
        compute: `${computeBase}/compute/v1`,
        loopback: isLoopback(storage) && isLoopback(computeBase),
    };
}
function isLoopback(url) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
/**
 * The `rawDisk.source` for an uploaded object. GCE itself reads the object, so it always gets the
 * documented form, even when we uploaded through a private endpoint (the emulator resolves it too).
 */
function rawDiskSource(bucket, object) {
    return `${GOOGLE_STORAGE}/${bucket}/${object.split('/').map(encodeURIComponent).join('/')}`;
}
function trimSlash(url) {
    return url.replace(/\/+$/, '');
}

// EXTERNAL MODULE: ./src/gcp/errors.ts
var gcp_errors = __webpack_require__(3795);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/gcp/operations.ts

/** The operations collection an operation lives in: global, regional or zonal. */
function operationPath(project, op) {
    const last = (url) => url.slice(url.lastIndexOf('/') + 1);
    if (op.zone)
        return `/projects/${project}/zones/${last(op.zone)}/operations/${op.name}`;
    if (op.region)
        return `/projects/${project}/regions/${last(op.region)}/operations/${op.name}`;
    return `/projects/${project}/global/operations/${op.name}`;
}
/**
 * Waits until the operation is DONE. `operations.wait` returns after at most ~2 minutes even when not
 * done, so this loops; then it turns `error.errors[]` into an error carrying GCE's own message.
 */
async function waitForOperation(rest, project, op, opts) {
    const deadline = Date.now() + opts.timeoutMs;
    let current = op;
    while (current.status !== 'DONE') {
        if (Date.now() >= deadline) {
            throw new gcp_errors/* GcpApiError */.FL(`${opts.what} did not finish within ${Math.round(opts.timeoutMs / 1000)}s (operation ${current.name} is ${current.status}); it goes on in Google Cloud, and the next run picks it up instead of starting another`, 504, 'timeout');
        }
        current = await rest.call({
            method: 'POST',
            path: `${operationPath(project, current)}/wait`,
            what: `waiting for operation ${current.name}`,
        });
        opts.onPoll?.(current);
    }
    const errors = current.error?.errors ?? [];
    if (errors.length > 0) {
        const message = errors.map((e) => e.message ?? e.code).join('; ');
        throw new gcp_errors/* GcpApiError */.FL(`${opts.what} failed: ${message}`, current.httpErrorStatusCode ?? 400, errors[0]?.code);
    }
    return current;
}

;// CONCATENATED MODULE: ./src/gcp/images.ts


/** The state an image is in, as far as re-publishing goes. */
function deprecationState(image) {
    return image.deprecated?.state ?? 'ACTIVE';
}
class Images {
    rest;
    project;
    constructor(rest, project) {
        this.rest = rest;
        this.project = project;
    }
    get base() {
        return `/projects/${this.project}/global/images`;
    }
    /** Images of the family carrying this nix-hash label: one list call, the whole no-op check. */
    async findByNixHash(family, nixHash) {
        const res = await this.rest.call({
            method: 'GET',
            path: this.base,
            query: { filter: `(family = "${family}") AND (labels.nix-hash = "${nixHash}")`, maxResults: 500 },
            what: `looking up images of family "${family}"`,
        });
        return res.items ?? [];
    }
    get(name) {
        return this.rest.call({
            method: 'GET',
            path: `${this.base}/${name}`,
            what: `reading image "${name}"`,
            allowNotFound: true,
        });
    }
    /** Inserts and waits until the operation is done; a retried insert carries the same requestId. */
    async insert(image, timeoutMs, onPoll) {
        const body = {
            name: image.name,
            family: image.family,
            description: image.description,
            labels: image.labels,
            rawDisk: { source: image.source },
            guestOsFeatures: image.guestOsFeatures.map((type) => ({ type })),
            architecture: image.architecture,
            ...(image.storageLocation ? { storageLocations: [image.storageLocation] } : {}),
        };
        const what = `creating image "${image.name}"`;
        const op = await this.rest.call({
            method: 'POST',
            path: this.base,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            body,
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what, onPoll });
        const created = await this.get(image.name);
        if (!created)
            throw new Error(`${what}: the operation finished but the image does not exist`);
        return created;
    }
    async delete(name, timeoutMs) {
        const what = `deleting image "${name}"`;
        const op = await this.rest.call({ method: 'DELETE', path: `${this.base}/${name}`, query: { requestId: (0,external_node_crypto_.randomUUID)() }, what });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
    /** Polls a PENDING image (someone else's insert, or our own from an interrupted run) until it settles. */
    async waitUntilSettled(name, timeoutMs, pollMs = 3000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const image = await this.get(name);
            if (!image || image.status !== 'PENDING')
                return image;
            if (Date.now() > deadline)
                return image;
            await new Promise((r) => setTimeout(r, pollMs));
        }
    }
}

;// CONCATENATED MODULE: ./src/gcp/retry.ts
const DEFAULT_RETRY = { deadlineMs: 120_000, initialDelayMs: 500, maxDelayMs: 16_000 };
/** Full-jitter exponential backoff: a random delay in [0, min(max, initial * 2^attempt)]. */
function backoffDelay(policy, attempt) {
    const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
    return Math.round(Math.random() * ceiling);
}
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted)
            return reject(signal.reason);
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, ms);
        const onAbort = () => {
            clearTimeout(timer);
            reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}

;// CONCATENATED MODULE: ./src/gcp/rest.ts


/**
 * A small JSON REST client for Compute Engine. Every call is retried on 429, 5xx and network errors with
 * jittered backoff until the policy's deadline; mutations are made safe to retry by the caller
 * (requestId on inserts, fingerprints on updates).
 */
class RestClient {
    baseUrl;
    credentials;
    retry;
    signal;
    constructor(baseUrl, credentials, retry = DEFAULT_RETRY, signal) {
        this.baseUrl = baseUrl;
        this.credentials = credentials;
        this.retry = retry;
        this.signal = signal;
    }
    async call(req) {
        const url = new URL(this.baseUrl + req.path);
        for (const [k, v] of Object.entries(req.query ?? {}))
            if (v !== undefined)
                url.searchParams.set(k, String(v));
        const started = Date.now();
        for (let attempt = 0;; attempt++) {
            let status = 0;
            let text = '';
            try {
                const res = await fetch(url, {
                    method: req.method,
                    headers: {
                        ...(await this.credentials.headers()),
                        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
                    },
                    body: req.body === undefined ? undefined : JSON.stringify(req.body),
                    signal: this.signal,
                });
                status = res.status;
                text = await res.text();
            }
            catch (err) {
                if (this.signal?.aborted)
                    throw err;
                text = err.message;
            }
            if (status >= 200 && status < 300)
                return (text ? JSON.parse(text) : {});
            if (status === 404 && req.allowNotFound)
                return undefined;
            const retryable = status === 0 || (0,gcp_errors/* isRetryableStatus */.PS)(status);
            const delay = backoffDelay(this.retry, attempt);
            if (retryable && Date.now() - started + delay < this.retry.deadlineMs) {
                await sleep(delay, this.signal);
                continue;
            }
            const { message, reason } = status === 0 ? { message: text, reason: undefined } : (0,gcp_errors/* googleErrorMessage */.L4)(status, text);
            const tail = retryable && attempt > 0 ? ` (gave up after ${attempt + 1} attempts)` : '';
            throw new gcp_errors/* GcpApiError */.FL(`${req.what} failed: ${message}${tail}`, status, reason);
        }
    }
}

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: ./node_modules/@google-cloud/storage/build/esm/src/index.js + 27 modules
var esm_src = __webpack_require__(3923);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: ./node_modules/hash-wasm/dist/index.umd.js
var index_umd = __webpack_require__(608);
;// CONCATENATED MODULE: ./src/gcp/crc32c.ts


/** CRC-32C (Castagnoli) polynomial, reversed, as hash-wasm takes it. */
const CASTAGNOLI = 0x82f63b78;
/**
 * Returns a synchronous generator as the storage client expects. hash-wasm hashers are created
 * asynchronously, so a pool is prepared up front; the client asks for one validator per upload stream.
 */
async function wasmCrc32cGenerator(poolSize = 4) {
    const pool = [];
    for (let i = 0; i < poolSize; i++)
        pool.push(await (0,index_umd.createCRC32)(CASTAGNOLI));
    let next = 0;
    return () => {
        const hasher = pool[next++ % pool.length];
        hasher.init();
        let digest;
        return {
            update: (data) => {
                digest = undefined;
                hasher.update(data);
            },
            toString: () => {
                digest ??= Buffer.from(hasher.digest('binary')).toString('base64');
                return digest;
            },
            validate(value) {
                return this.toString() === value;
            },
        };
    };
}
/** The base64 big-endian CRC32C of a file, as Cloud Storage reports it. */
async function fileCrc32c(path) {
    const hasher = await (0,index_umd.createCRC32)(CASTAGNOLI);
    hasher.init();
    for await (const chunk of (0,external_node_fs_.createReadStream)(path, { highWaterMark: 4 * 1024 * 1024 }))
        hasher.update(chunk);
    return Buffer.from(hasher.digest('binary')).toString('base64');
}

;// CONCATENATED MODULE: ./src/gcp/storage.ts






async function storageClient(endpoints, credentials, projectId) {
    const custom = endpoints.storage !== GOOGLE_STORAGE;
    return new esm_src/* Storage */.wc({
        projectId,
        ...(custom ? { apiEndpoint: endpoints.storage } : {}),
        // The client skips auth for any custom endpoint; a private endpoint is still Google and needs it.
        ...(custom && !endpoints.loopback ? { useAuthWithCustomEndpoint: true } : {}),
        ...(credentials.auth ? { authClient: credentials.auth } : {}),
        crc32cGenerator: await wasmCrc32cGenerator(),
    });
}
/** Fails with a bad-input error when the bucket is missing: a read, done before anything is built. */
async function checkBucket(storage, bucket) {
    let exists;
    try {
        [exists] = await storage.bucket(bucket).exists();
    }
    catch (err) {
        throw new gcp_errors/* GcpApiError */.FL(`checking bucket "${bucket}" failed: ${err.message}`, err.code ?? 0);
    }
    if (!exists) {
        throw new errors/* UserError */.f(`Input "bucket" names gs://${bucket}, which does not exist or is not visible to these credentials; create it or fix the name.`, 'bucket');
    }
}
/**
 * Uploads the tarball resumably in one streaming request, CRC32C-validated end to end.
 * `ifGenerationMatch: 0` makes it create-only, which also lets the client retry safely. The content
 * type is tar and there is never a gzip Content-Encoding: GCE refuses gzip-encoded objects.
 */
async function uploadImageObject(storage, opts) {
    const file = storage.bucket(opts.bucket).file(opts.object);
    const size = (await (0,promises_.stat)(opts.file)).size;
    const existing = await objectMetadata(file);
    let ifGenerationMatch = 0;
    if (existing) {
        const crc32c = await fileCrc32c(opts.file);
        if (existing.crc32c === crc32c && Number(existing.size) === size) {
            opts.reporter.info(`gs://${opts.bucket}/${opts.object} already holds these bytes (CRC32C ${crc32c}); not uploading again.`);
            return result(opts, existing.generation, crc32c, size, true);
        }
        opts.reporter.warn(`gs://${opts.bucket}/${opts.object} exists with other content; replacing generation ${existing.generation}.`);
        ifGenerationMatch = existing.generation;
    }
    const started = Date.now();
    const [uploaded] = await storage
        .bucket(opts.bucket)
        .upload(opts.file, {
        destination: opts.object,
        resumable: true,
        validation: 'crc32c',
        gzip: false,
        preconditionOpts: { ifGenerationMatch },
        metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
        onUploadProgress: (e) => opts.reporter.progress('upload', e.bytesWritten, size),
    })
        .catch((err) => {
        throw new gcp_errors/* GcpApiError */.FL(`uploading to gs://${opts.bucket}/${opts.object} failed: ${err.message}`, Number(err.code) || 0);
    });
    const seconds = (Date.now() - started) / 1000;
    const meta = uploaded.metadata;
    opts.reporter.info(`Uploaded ${(size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)}s (${(size / 2 ** 20 / Math.max(seconds, 0.001)).toFixed(0)} MiB/s), CRC32C ${meta.crc32c}.`);
    return result(opts, String(meta.generation), String(meta.crc32c), size, false);
}
async function deleteObject(storage, bucket, object, generation) {
    // The generation guard keeps us from deleting an object someone replaced in the meantime.
    await storage.bucket(bucket).file(object, { generation: Number(generation) }).delete({ ignoreNotFound: true });
}
async function objectMetadata(file) {
    try {
        const [meta] = await file.getMetadata();
        return { crc32c: meta.crc32c, size: meta.size, generation: String(meta.generation) };
    }
    catch (err) {
        if (err.code === 404)
            return undefined;
        throw err;
    }
}
function result(opts, generation, crc32c, size, reused) {
    return { bucket: opts.bucket, name: opts.object, gcsUri: `gs://${opts.bucket}/${opts.object}`, generation, crc32c, size, reused };
}

;// CONCATENATED MODULE: ./src/identity.ts


const MANAGED_BY = 'nix-glab-runner';
/** The 32-character hash of a store path: `/nix/store/<hash>-<name>`. */
function storePathHash(storePath) {
    return /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-/.exec(storePath)?.[1];
}
/**
 * Identity of a prebuilt tarball outside the store: the first 32 hex digits of its SHA-256, so the
 * same bytes always map to the same image.
 */
async function fileIdentityHash(path) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for await (const chunk of (0,external_node_fs_.createReadStream)(path, { highWaterMark: 4 * 1024 * 1024 }))
        hash.update(chunk);
    return hash.digest('hex').slice(0, 32);
}
/** Our labels win over nothing: user labels cannot use the reserved keys (config refuses them). */
function imageLabels({ nixHash, user, env, flakeRev }) {
    const gitSha = env.GITHUB_SHA ?? env.CI_COMMIT_SHA;
    return {
        ...user,
        'managed-by': MANAGED_BY,
        'nix-hash': nixHash,
        ...(gitSha && /^[0-9a-f]{7,40}$/i.test(gitSha) ? { 'git-sha': gitSha.toLowerCase() } : {}),
        ...(flakeRev && /^[0-9a-f]{7,40}$/i.test(flakeRev) ? { 'flake-rev': flakeRev.toLowerCase() } : {}),
    };
}
function imageDescription(flakeRef, flakeRev, userDescription) {
    const built = `Built by nix-glab-runner from ${flakeRef}${flakeRev ? ` at ${flakeRev}` : ''}.`;
    return (userDescription ? `${userDescription} ${built}` : built).slice(0, 2048);
}

// EXTERNAL MODULE: ./src/inputs/image-name.ts
var image_name = __webpack_require__(1722);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(7975);
;// CONCATENATED MODULE: ./src/nix/flake-ref.ts





const execFileP = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
/**
 * Turns the `flake` input into a flake reference Nix can fetch without copying secrets into the store.
 * - A URL-like reference (`github:o/r`, `git+https://…`) is used as given; `path:` only outside the
 *   workspace, since it copies a directory wholesale.
 * - A local directory in a git repository becomes `git+file://<top>?dir=<sub>`: Nix then copies only
 *   git-tracked files, so an untracked `gha-creds-*.json` never reaches the store.
 * - A local directory outside git becomes `path:` only when it lies outside the workspace (e.g. the
 *   action's own checkout, which GitHub downloads without .git); the workspace itself must be git.
 * `input` names the input for error messages (`flake`).
 */
async function resolveFlakeRef(flake, workspace, input = 'flake') {
    const trimmed = flake.trim();
    if (trimmed === '')
        throw new errors/* UserError */.f(`The ${input} input is empty; give a flake reference such as github:owner/repo or a directory.`, input);
    if (/^path:/i.test(trimmed)) {
        // path: copies a directory wholesale, credentials included: never for the workspace.
        const target = (0,external_node_path_.resolve)(workspace, decodeURIComponent(trimmed.slice(5).replace(/[?#].*$/, '')));
        if (isInside(target, workspace) || isInside(workspace, target)) {
            throw new errors/* UserError */.f(`The ${input} input "${flake}" would copy the whole workspace into the world-readable Nix store (credential files included); name the directory instead (e.g. "."), which uses git-tracked files only.`, input);
        }
        return trimmed;
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed))
        return trimmed;
    const dir = (0,external_node_path_.resolve)(workspace, trimmed);
    const info = await (0,promises_.stat)(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
        // Not a directory: leave indirect references (registry names) to Nix, refuse path-looking ones.
        if (/^[.~/]/.test(trimmed) || trimmed.includes('/')) {
            throw new errors/* UserError */.f(`The ${input} input "${flake}" is not a directory (resolved to ${dir}).`, input);
        }
        return trimmed;
    }
    // A plain string join: ncc's asset relocator would copy every flake.nix it can see for resolve(dir, 'flake.nix').
    if (!(await (0,promises_.stat)(`${dir}/flake.nix`).catch(() => undefined))) {
        throw new errors/* UserError */.f(`The ${input} input "${flake}" points at ${dir}, which has no flake.nix.`, input);
    }
    const top = await gitTopLevel(dir);
    if (top === undefined) {
        if (isInside(dir, workspace) || isInside(workspace, dir)) {
            throw new errors/* UserError */.f(`The ${input} input "${flake}" is a directory of the workspace that is not a git repository; only git-tracked files may enter the Nix store (credential files live in the workspace), so check it out with git.`, input);
        }
        return `path:${dir}`;
    }
    const sub = (0,external_node_path_.relative)(top, dir);
    if (!(await isTracked(top, sub === '' ? 'flake.nix' : `${sub}/flake.nix`))) {
        throw new errors/* UserError */.f(`The ${input} input "${flake}" has a flake.nix that git does not track; Nix only sees git-tracked files, so git add it.`, input);
    }
    return `git+file://${top}${sub === '' ? '' : `?dir=${encodeURIComponent(sub).replaceAll('%2F', '/')}`}`;
}
function isInside(child, parent) {
    const rel = (0,external_node_path_.relative)((0,external_node_path_.resolve)(parent), (0,external_node_path_.resolve)(child));
    return rel === '' || (!rel.startsWith('..') && !(0,external_node_path_.isAbsolute)(rel));
}
async function gitTopLevel(dir) {
    try {
        const { stdout } = await execFileP('git', ['-C', dir, 'rev-parse', '--show-toplevel']);
        return stdout.trim() || undefined;
    }
    catch {
        return undefined; // not a repository, or git is absent: treated the same
    }
}
async function isTracked(top, file) {
    try {
        await execFileP('git', ['-C', top, 'ls-files', '--error-unmatch', '--', file]);
        return true;
    }
    catch {
        return false;
    }
}

;// CONCATENATED MODULE: ./src/nix/run.ts


/** Grace period between SIGINT (nix stops its builders cleanly) and SIGKILL. */
const KILL_GRACE_MS = 3000;
/**
 * Runs a child process, collecting stdout and streaming stderr line by line. An abort sends SIGINT at
 * once and SIGKILL after a short grace, then rejects with an Interrupted UserError.
 */
function run(command, args, opts = {}) {
    const tailLines = opts.tailLines ?? 40;
    return new Promise((resolve, reject) => {
        if (opts.signal?.aborted)
            return reject(interrupted(command));
        const child = (0,external_node_child_process_.spawn)(command, args, {
            cwd: opts.cwd,
            env: opts.env ?? process.env,
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        const stdout = [];
        const tail = [];
        let partial = '';
        let aborted = false;
        let killTimer;
        const pushLine = (line) => {
            tail.push(line);
            if (tail.length > tailLines)
                tail.shift();
            opts.onStderrLine?.(line);
        };
        const onAbort = () => {
            aborted = true;
            child.kill('SIGINT');
            killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
            killTimer.unref();
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        child.stdout.on('data', (chunk) => stdout.push(chunk));
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk) => {
            const lines = (partial + chunk).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines)
                pushLine(line);
        });
        child.on('error', (err) => {
            opts.signal?.removeEventListener('abort', onAbort);
            reject(err.code === 'ENOENT'
                ? new errors/* UserError */.f(`Cannot run ${command}: it is not installed or not on PATH.`, undefined, errors/* ExitCode */.y.NixFailed)
                : err);
        });
        child.on('close', (code, signal) => {
            opts.signal?.removeEventListener('abort', onAbort);
            if (killTimer)
                clearTimeout(killTimer);
            if (partial)
                pushLine(partial);
            if (aborted)
                return reject(interrupted(command));
            resolve({
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(stdout).toString('utf8'),
                stderrTail: tail,
            });
        });
    });
}
function interrupted(command) {
    return new errors/* UserError */.f(`Interrupted: ${command} was stopped.`, undefined, errors/* ExitCode */.y.Interrupted);
}
/** Quotes argv for a copy-pasteable shell command. */
function shellQuote(argv) {
    return argv
        .map((a) => (/^[A-Za-z0-9_@%+=:,./#-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
        .join(' ');
}

;// CONCATENATED MODULE: ./src/nix/wrapper.ts

/** Prefix of the wrapper's own evaluation errors; `build.ts` maps the code after it to a sentence. */
const WRAPPER_ERROR = 'nix-glab-runner-error:';
/** Splits a flake attribute path on dots, honouring double-quoted segments (`nixosConfigurations."a.b"`). */
function splitAttrPath(attr) {
    const parts = [];
    const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^."]+))\s*(\.|$)/y;
    let pos = 0;
    while (pos < attr.length) {
        re.lastIndex = pos;
        const m = re.exec(attr);
        if (!m)
            throw new errors/* UserError */.f(`The flake-attr input "${attr}" is not an attribute path such as packages.x86_64-linux.image or nixosConfigurations.runner.`, 'flake-attr');
        parts.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
        pos = re.lastIndex;
        if (m[3] === '.' && pos >= attr.length)
            parts.push(''); // trailing dot: caught below
    }
    if (parts.length === 0 || parts.some((p) => p === '')) {
        throw new errors/* UserError */.f(`The flake-attr input "${attr}" is not an attribute path such as packages.x86_64-linux.image or nixosConfigurations.runner.`, 'flake-attr');
    }
    return parts;
}
/** Decides the mode (b) target form of a `flake-attr` value (see BuildTarget). */
function targetForAttr(flakeRef, attr, system, modules) {
    const path = splitAttrPath(attr);
    if (path[0] === 'nixosConfigurations') {
        const name = path[1];
        if (path.length !== 2 || name === undefined) {
            throw new errors/* UserError */.f(`The flake-attr input "${attr}" must be nixosConfigurations.<name> to build a NixOS configuration's image.`, 'flake-attr');
        }
        return { kind: 'nixos', flakeRef, name, modules };
    }
    if (modules.length > 0) {
        throw new errors/* UserError */.f(`The extra-modules input cannot change flake-attr "${attr}", which names a finished image derivation; point flake-attr at nixosConfigurations.<name> or drop extra-modules.`, 'extra-modules');
    }
    return { kind: 'derivation', flakeRef, attrPath: path.length === 1 ? ['packages', system, ...path] : path };
}
/** A Nix string literal. */
function nixString(value) {
    return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('${', '\\${').replaceAll('\n', '\\n')}"`;
}
/** A Nix path literal for a module copied into the wrapper (`m/0-extra.nix` → `./m/0-extra.nix`). */
function nixPath(relPath) {
    if (!/^[A-Za-z0-9._+/-]+$/.test(relPath) || relPath.includes('..'))
        throw new Error(`bad wrapper path ${relPath}`);
    return `./${relPath}`;
}
function nixList(items) {
    return `[ ${items.map((i) => `${i} `).join('')}]`;
}
/**
 * The wrapper flake's flake.nix. Its one input is the target flake, its extra modules are files
 * copied next to it, so the build stays pure (no --impure) and sees nothing else of the workspace.
 */
function wrapperFlake(target) {
    const common = `      fail = code: throw "${WRAPPER_ERROR}\${code}";
      lookup = path: builtins.foldl' (acc: name: if builtins.isAttrs acc && builtins.hasAttr name acc then acc.\${name} else null) target path;`;
    let body;
    switch (target.kind) {
        case 'builder':
            body = `      gceImage = lookup [ "builders" ${nixString(target.system)} "gceImage" ];
      image = if builtins.isFunction gceImage || builtins.isAttrs gceImage
        then gceImage { extraModules = ${nixList(target.modules.map(nixPath))}; }
        else fail "missing-builder";`;
            break;
        case 'nixos':
            body = `      configuration = lookup [ "nixosConfigurations" ${nixString(target.name)} ];
      modules = ${nixList(target.modules.map(nixPath))};
      extended = if modules == [ ] then configuration else configuration.extendModules { inherit modules; };
      build = extended.config.system.build;
      image =
        if !(builtins.isAttrs configuration) then fail "missing-attr"
        else if build ? images && build.images ? google-compute then build.images.google-compute
        else if build ? googleComputeImage then build.googleComputeImage
        else fail "no-gce-image";`;
            break;
        case 'derivation':
            body = `      value = lookup ${nixList(target.attrPath.map(nixString))};
      image =
        if value == null then fail "missing-attr"
        else if builtins.isAttrs value && (value.type or null) == "derivation" then value
        else fail "not-derivation";`;
            break;
    }
    return `# Generated by nix-glab-runner for one build; safe to delete.
{
  description = "nix-glab-runner build wrapper";
  inputs.target.url = ${nixString(target.flakeRef)};
  outputs = { self, target }:
    let
${common}
${body}
    in
    { inherit image; };
}
`;
}

;// CONCATENATED MODULE: ./src/nix/build.ts







const LOG_TAIL_LINES = 25;
/** Flakes on for every call, so the printed command also works where nix.conf does not enable them. */
const FLAKES = ['--extra-experimental-features', 'nix-command flakes'];
/**
 * Builds the image: mode (a) through a builder flake's `builders.<system>.gceImage`, or mode (b)
 * from the user's flake (`flakeAttr`). Always through a generated wrapper flake whose only inputs are
 * the target flake and copies of the extra module files, so the build is pure and no other workspace
 * file (such as gha-creds-*.json) can reach the world-readable store.
 */
async function buildImage(opts, reporter, signal) {
    const nix = opts.nixBin ?? 'nix';
    const modules = await checkModules(opts.extraModules, opts.workspace);
    const flakeRef = await resolveFlakeRef(opts.flake, opts.workspace);
    const copied = modules.map((m, i) => `m/${i}-${(0,external_node_path_.basename)(m).replace(/[^A-Za-z0-9._+-]/g, '_')}`);
    const target = opts.flakeAttr !== undefined && opts.flakeAttr !== ''
        ? targetForAttr(flakeRef, opts.flakeAttr, opts.system, copied)
        : { kind: 'builder', flakeRef, system: opts.system, modules: copied };
    const flakeRev = await flakeRevision(nix, flakeRef, opts, reporter, signal);
    const wrapperDir = await (0,promises_.mkdtemp)((0,external_node_path_.join)(process.env.RUNNER_TEMP || (0,external_node_os_.tmpdir)(), 'nix-glab-runner-wrapper-'));
    let keepWrapper = false;
    try {
        await (0,promises_.mkdir)((0,external_node_path_.join)(wrapperDir, 'm'));
        await Promise.all(modules.map((m, i) => (0,promises_.copyFile)(m, (0,external_node_path_.join)(wrapperDir, copied[i] ?? ''))));
        const flakeNix = wrapperFlake(target);
        await (0,promises_.writeFile)((0,external_node_path_.join)(wrapperDir, 'flake.nix'), flakeNix);
        reporter.debug(`wrapper flake ${wrapperDir}/flake.nix:\n${flakeNix}`);
        const command = [
            nix,
            ...FLAKES,
            'build',
            '--no-link',
            '--json',
            '--print-build-logs',
            `path:${wrapperDir}#image`,
        ];
        reporter.info(`Building ${describe(target, opts)} with ${modules.length} extra module(s)`);
        const result = await run(command[0] ?? nix, command.slice(1), {
            signal,
            onStderrLine: (line) => reporter.log(line),
            tailLines: 200,
        });
        if (result.code !== 0) {
            const code = wrapperErrorCode(result.stderrTail);
            if (code)
                throw wrapperError(code, target, opts);
            keepWrapper = true;
            throw await buildFailure(nix, command, result.stderrTail, signal);
        }
        const outputs = parseBuildJson(result.stdout, command);
        const built = { ...outputs, flakeRef, command };
        if (flakeRev !== undefined)
            built.flakeRev = flakeRev;
        reporter.info(`Built ${built.storePath}`);
        return built;
    }
    finally {
        if (!keepWrapper)
            await (0,promises_.rm)(wrapperDir, { recursive: true, force: true });
    }
}
/** Resolves and checks the extra module files; config.ts validates them too, but say it clearly here. */
async function checkModules(extraModules, workspace) {
    const paths = [];
    for (const m of extraModules) {
        const path = (0,external_node_path_.resolve)(workspace, m);
        const info = await (0,promises_.stat)(path).catch(() => undefined);
        if (!info)
            throw new errors/* UserError */.f(`The extra-modules input lists ${m}, which does not exist (resolved to ${path}).`, 'extra-modules');
        if (!info.isFile())
            throw new errors/* UserError */.f(`The extra-modules input lists ${m}, which is not a file; list NixOS module files (.nix).`, 'extra-modules');
        paths.push(path);
    }
    return paths;
}
/** The flake's revision from `nix flake metadata`; also a clear early error when the flake cannot be fetched. */
async function flakeRevision(nix, flakeRef, opts, reporter, signal) {
    const result = await run(nix, [...FLAKES, 'flake', 'metadata', '--json', flakeRef], { signal });
    if (result.code !== 0) {
        const reason = firstError(result.stderrTail) ?? `nix exited with code ${result.code}`;
        throw new errors/* UserError */.f(`The flake input "${opts.flake}" (${flakeRef}) cannot be fetched: ${reason}`, 'flake', errors/* ExitCode */.y.BadInput);
    }
    try {
        const meta = JSON.parse(result.stdout);
        if (typeof meta.revision === 'string')
            return meta.revision;
    }
    catch {
        // metadata is only informative; a parse failure must not stop the build
    }
    reporter.debug(`${flakeRef} has no revision (a dirty git tree or a non-git flake)`);
    return undefined;
}
function wrapperErrorCode(stderr) {
    for (const line of stderr) {
        const at = line.indexOf(WRAPPER_ERROR);
        if (at !== -1)
            return line.slice(at + WRAPPER_ERROR.length).match(/^[a-z-]+/)?.[0];
    }
    return undefined;
}
function wrapperError(code, target, opts) {
    const attr = opts.flakeAttr ?? '';
    switch (code) {
        case 'missing-builder':
            return new errors/* UserError */.f(`The flake input "${opts.flake}" does not expose builders.${opts.system}.gceImage, the builder interface; use a builder flake or set flake-attr to build your own flake.`, 'flake');
        case 'missing-attr':
            return new errors/* UserError */.f(target.kind === 'nixos'
                ? `The flake-attr input "${attr}" names nixosConfigurations.${target.name}, which the flake "${opts.flake}" does not define.`
                : `The flake-attr input "${attr}" names an attribute the flake "${opts.flake}" does not have${target.kind === 'derivation' ? ` (looked up ${target.attrPath.join('.')})` : ''}.`, 'flake-attr');
        case 'not-derivation':
            return new errors/* UserError */.f(`The flake-attr input "${attr}" is not a derivation; name an image package or nixosConfigurations.<name>.`, 'flake-attr');
        case 'no-gce-image':
            return new errors/* UserError */.f(`The flake-attr input "${attr}" is a NixOS configuration without system.build.images.google-compute or googleComputeImage; import the google-compute-image module in it.`, 'flake-attr');
    }
}
/** A failed build: the failing derivation's log tail and the exact command to reproduce it. */
async function buildFailure(nix, command, stderr, signal) {
    const drv = stderr.join('\n').match(/builder for '(\/nix\/store\/[^']+\.drv)' failed/)?.[1];
    let tail = stderr.filter((l) => l.trim() !== '').slice(-LOG_TAIL_LINES);
    if (drv) {
        const log = await run(nix, [...FLAKES, 'log', drv], { signal, tailLines: LOG_TAIL_LINES }).catch(() => undefined);
        const lines = log?.code === 0
            ? log.stdout
                .split('\n')
                .filter((l) => l.trim() !== '')
                .slice(-LOG_TAIL_LINES)
            : [];
        if (lines.length > 0)
            tail = lines;
    }
    const what = drv ? `the builder of ${drv} failed` : (firstError(stderr) ?? 'evaluation failed');
    const reproduce = shellQuote(command.filter((a) => a !== '--json'));
    return new errors/* UserError */.f(`The Nix build failed (${what}); reproduce it with: ${reproduce}${drv ? ` (full log: nix ${shellQuote(FLAKES)} log ${drv})` : ''}\n${tail.map((l) => `  ${l}`).join('\n')}`, undefined, errors/* ExitCode */.y.NixFailed);
}
/** The first `error:` line Nix printed, without the prefix. */
function firstError(stderr) {
    const line = stderr.find((l) => /^\s*error:/.test(l));
    return line?.replace(/^\s*error:\s*/, '').trim() || undefined;
}
function parseBuildJson(stdout, command) {
    try {
        const [first] = JSON.parse(stdout);
        const storePath = first?.outputs?.out;
        if (first?.drvPath && storePath)
            return { storePath, drvPath: first.drvPath };
    }
    catch {
        // fall through
    }
    throw new errors/* UserError */.f(`${shellQuote(command)} printed no output path (got: ${stdout.slice(0, 200)}).`, undefined, errors/* ExitCode */.y.NixFailed);
}
function describe(target, opts) {
    switch (target.kind) {
        case 'builder':
            return `${target.flakeRef} builders.${opts.system}.gceImage`;
        case 'nixos':
            return `${target.flakeRef} nixosConfigurations.${target.name}`;
        case 'derivation':
            return `${target.flakeRef} ${target.attrPath.join('.')}`;
    }
}

;// CONCATENATED MODULE: ./src/nix/facts.ts



const IMAGE_FACTS_FILE = 'nix-support/gce-image.json';
const ARCHITECTURES = ['X86_64', 'ARM64'];
/**
 * Reads `<output>/nix-support/gce-image.json`. A foreign builder without it gets BIOS/X86_64 defaults
 * and a warning; a malformed file is an error, since guessing could publish an unbootable image.
 */
async function readImageFacts(outputDir, reporter) {
    const path = (0,external_node_path_.join)(outputDir, IMAGE_FACTS_FILE);
    let text;
    try {
        text = await (0,promises_.readFile)(path, 'utf8');
    }
    catch (err) {
        if (err.code !== 'ENOENT' &&
            err.code !== 'ENOTDIR') {
            throw new errors/* UserError */.f(`Cannot read the image facts file ${path}: ${err.message}.`);
        }
        reporter.warn(`The build output has no ${IMAGE_FACTS_FILE}, so the image is assumed to be X86_64 without UEFI; add guest-os-features: UEFI_COMPATIBLE (or set architecture) if that is wrong.`);
        return { efi: false, architecture: 'X86_64', fromFile: false };
    }
    return parseImageFacts(text, path, reporter);
}
/** Validates the file's JSON; exported for tests. */
function parseImageFacts(text, path, reporter) {
    let data;
    try {
        data = JSON.parse(text);
    }
    catch (err) {
        throw new errors/* UserError */.f(`The image facts file ${path} is not valid JSON (${err.message}).`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new errors/* UserError */.f(`The image facts file ${path} must hold a JSON object such as {"efi": true, "architecture": "X86_64"}.`);
    }
    const { efi = false, architecture = 'X86_64', nixos } = data;
    if (typeof efi !== 'boolean') {
        throw new errors/* UserError */.f(`The image facts file ${path} has "efi": ${JSON.stringify(efi)}, which must be true or false.`);
    }
    if (!ARCHITECTURES.includes(architecture)) {
        throw new errors/* UserError */.f(`The image facts file ${path} has "architecture": ${JSON.stringify(architecture)}, which must be one of ${ARCHITECTURES.join(', ')}.`);
    }
    if (nixos !== undefined && typeof nixos !== 'string') {
        throw new errors/* UserError */.f(`The image facts file ${path} has "nixos": ${JSON.stringify(nixos)}, which must be a string.`);
    }
    const arch = architecture;
    // Arm images on GCE boot only through UEFI (DESIGN.md, Contracts).
    if (arch === 'ARM64' && !efi)
        reporter.warn(`The image facts file ${path} says ARM64 without efi; ARM64 images are always UEFI, so UEFI_COMPATIBLE is set.`);
    const facts = { efi: efi || arch === 'ARM64', architecture: arch, fromFile: true };
    if (nixos !== undefined)
        facts.nixos = nixos;
    return facts;
}

// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(8522);
;// CONCATENATED MODULE: ./src/nix/image-file.ts





const TARBALL_SUFFIX = '.raw.tar.gz';
/** How deep below the output directory to look (nixpkgs puts it at the top; some builders nest it). */
const SEARCH_DEPTH = 2;
/**
 * Finds the single `*.raw.tar.gz` in a build output. The name is globbed, never parsed: it includes
 * `google-compute` since NixOS 24.11 (FACTS.md, "Image modules").
 */
async function locateImageTarball(storePath) {
    const info = await (0,promises_.stat)(storePath).catch(() => undefined);
    if (!info)
        throw new errors/* UserError */.f(`The build output ${storePath} does not exist.`);
    if (info.isFile()) {
        if (storePath.endsWith(TARBALL_SUFFIX))
            return storePath;
        throw new errors/* UserError */.f(`The build output ${storePath} is a file, not a *${TARBALL_SUFFIX} image tarball.`);
    }
    const found = await findTarballs(storePath, SEARCH_DEPTH);
    if (found.length === 1 && found[0] !== undefined)
        return found[0];
    if (found.length === 0) {
        throw new errors/* UserError */.f(`The build output ${storePath} holds no *${TARBALL_SUFFIX} file (searched ${SEARCH_DEPTH} levels deep); the builder must produce a GCE image tarball.`);
    }
    throw new errors/* UserError */.f(`The build output ${storePath} holds ${found.length} *${TARBALL_SUFFIX} files (${found.join(', ')}); the builder must produce exactly one.`);
}
async function findTarballs(dir, depth) {
    const found = [];
    for (const entry of (await (0,promises_.readdir)(dir)).sort()) {
        const path = (0,external_node_path_.join)(dir, entry);
        const info = await (0,promises_.stat)(path).catch(() => undefined); // follows symlinks, as nixpkgs outputs may use them
        if (!info)
            continue;
        if (info.isFile() && entry.endsWith(TARBALL_SUFFIX))
            found.push(path);
        else if (info.isDirectory() && depth > 0)
            found.push(...(await findTarballs(path, depth - 1)));
    }
    return found;
}
const BLOCK = 512;
/** GNU long names are short in practice; a huge one means a corrupt or hostile file. */
const MAX_LONG_NAME = 64 * 1024;
const GNU_MAGIC = 'ustar  \0';
/**
 * Checks the first tar header of an image tarball against what GCE accepts (FACTS.md, "Tarball"):
 * member `disk.raw`, GNU or old-GNU format, regular or GNU-sparse. Reads only the first header
 * blocks through a streaming gunzip, never the whole disk.
 */
async function verifyImageTarball(path) {
    const bytes = await readTarHead(path);
    let offset = 0;
    let longName;
    for (;;) {
        const header = bytes.subarray(offset, offset + BLOCK);
        if (header.length < BLOCK || header.every((b) => b === 0)) {
            throw new errors/* UserError */.f(`The image tarball ${path} holds no tar member; GCE needs one member named disk.raw.`);
        }
        checkHeaderChecksum(path, header);
        const magic = header.subarray(257, 265).toString('latin1');
        if (magic.startsWith('ustar\0')) {
            throw new errors/* UserError */.f(`The image tarball ${path} is a POSIX/PAX tar, which GCE refuses ("Supported formats are: GNU and OLDGNU"); create it with tar --format=gnu.`);
        }
        if (magic !== GNU_MAGIC) {
            throw new errors/* UserError */.f(`The image tarball ${path} is not a GNU tar (no "ustar  " magic), which GCE refuses ("Supported formats are: GNU and OLDGNU"); create it with tar --format=gnu.`);
        }
        const typeflag = String.fromCharCode(header[156] ?? 0);
        if (typeflag === 'L' || typeflag === 'K') {
            // A GNU long-name (or long-link) entry: its data blocks hold the name of the next member.
            const size = readNumber(header, 124, 12);
            if (size > MAX_LONG_NAME) {
                throw new errors/* UserError */.f(`The image tarball ${path} has a ${size}-byte GNU long name, which is not a disk image.`);
            }
            const data = bytes.subarray(offset + BLOCK, offset + BLOCK + size);
            if (typeflag === 'L')
                longName = cString(data);
            offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
            continue;
        }
        const member = longName ?? cString(header.subarray(0, 100));
        if (member !== 'disk.raw') {
            throw new errors/* UserError */.f(`The image tarball ${path} holds "${member}" where GCE needs a member named exactly disk.raw (the NixOS 24.11 image module briefly wrote other names); fix or update the image builder.`);
        }
        let type;
        if (typeflag === '0' || typeflag === '\0')
            type = 'regular';
        else if (typeflag === 'S')
            type = 'gnu-sparse';
        else {
            throw new errors/* UserError */.f(`The image tarball ${path} stores disk.raw as tar type '${typeflag}' (${describeType(typeflag)}); GCE needs a regular or GNU-sparse file.`);
        }
        // GNU tar sets the file-type bits in the mode field only in the old-GNU format (tar's list.c).
        const format = readNumber(header, 100, 8) > 0o7777 ? 'oldgnu' : 'gnu';
        const size = type === 'gnu-sparse' ? readNumber(header, 483, 12) : readNumber(header, 124, 12);
        return { member, format, type, size };
    }
}
/** Reads the decompressed head of the file: enough for a long-name entry plus one header. */
async function readTarHead(path) {
    const want = BLOCK * 2 + MAX_LONG_NAME + BLOCK;
    const magic = await readFirstBytes(path, 2);
    if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
        throw new errors/* UserError */.f(`The image tarball ${path} is not gzip-compressed; GCE needs a gzip'd GNU tar holding disk.raw.`);
    }
    return new Promise((resolve, reject) => {
        const chunks = [];
        let length = 0;
        const file = (0,external_node_fs_.createReadStream)(path);
        const gunzip = (0,external_node_zlib_.createGunzip)();
        const finish = () => {
            file.destroy();
            gunzip.destroy();
            resolve(Buffer.concat(chunks, length));
        };
        gunzip.on('data', (chunk) => {
            chunks.push(chunk);
            length += chunk.length;
            // Stop as soon as the first header (and any long name it announces) is in hand.
            if (length >= want || headerComplete(Buffer.concat(chunks, length)))
                finish();
        });
        gunzip.on('end', finish);
        gunzip.on('error', (err) => {
            file.destroy();
            reject(new errors/* UserError */.f(`The image tarball ${path} is not valid gzip data (${err.message}).`));
        });
        file.on('error', (err) => reject(new errors/* UserError */.f(`Cannot read the image tarball ${path}: ${err.message}.`)));
        file.pipe(gunzip);
    });
}
/** True when `bytes` holds the first real member header (after any long-name entries). */
function headerComplete(bytes) {
    let offset = 0;
    while (bytes.length >= offset + BLOCK) {
        const typeflag = String.fromCharCode(bytes[offset + 156] ?? 0);
        if (typeflag !== 'L' && typeflag !== 'K')
            return true;
        offset += BLOCK + Math.ceil(readNumber(bytes.subarray(offset), 124, 12) / BLOCK) * BLOCK;
    }
    return false;
}
async function readFirstBytes(path, n) {
    const chunks = [];
    try {
        for await (const chunk of (0,external_node_fs_.createReadStream)(path, { start: 0, end: n - 1 }))
            chunks.push(chunk);
    }
    catch (err) {
        throw new errors/* UserError */.f(`Cannot read the image tarball ${path}: ${err.message}.`);
    }
    return Buffer.concat(chunks);
}
function checkHeaderChecksum(path, header) {
    let sum = 0;
    for (let i = 0; i < BLOCK; i++)
        sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    if (readNumber(header, 148, 8) !== sum) {
        throw new errors/* UserError */.f(`The image tarball ${path} has a corrupt tar header (checksum mismatch).`);
    }
}
/** A tar numeric field: NUL/space-terminated octal, or GNU base-256 when the high bit is set. */
function readNumber(buf, offset, length) {
    const field = buf.subarray(offset, offset + length);
    if (((field[0] ?? 0) & 0x80) !== 0) {
        let value = (field[0] ?? 0) & 0x7f;
        for (let i = 1; i < field.length; i++)
            value = value * 256 + (field[i] ?? 0);
        return value;
    }
    const text = field
        .toString('latin1')
        .replace(/^ +/, '')
        .replace(/[\0 ].*$/s, '');
    return text === '' ? 0 : Number.parseInt(text, 8);
}
function cString(buf) {
    const end = buf.indexOf(0);
    return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}
function describeType(flag) {
    const names = {
        '1': 'hard link',
        '2': 'symlink',
        '3': 'character device',
        '4': 'block device',
        '5': 'directory',
        '6': 'FIFO',
        '7': 'contiguous file',
        x: 'PAX extended header',
        g: 'PAX global header',
    };
    return names[flag] ?? 'not a regular file';
}

;// CONCATENATED MODULE: ./src/nix/install.ts







/**
 * Pinned Nix release tarballs (https://releases.nixos.org/nix/nix-V/nix-V-SYSTEM.tar.xz) and their
 * SHA-256, as published by the Nix project:
 * - 2.28.3: the hashes embedded in the official installer https://releases.nixos.org/nix/nix-2.28.3/install;
 * - 2.34.7: the published `.sha256` files, as pinned by projectbluefin/dakota elements/bluefin/nix.bst.
 * A version not listed falls back to the `.sha256` file published beside the tarball, with a warning.
 */
const PINNED_NIX_RELEASES = {
    '2.28.3': {
        'x86_64-linux': '85d1847d06d5d56167796d3f61cd992908de84584db3e700da031a782b59ea22',
        'aarch64-linux': '3dffb118772382e35526806fb97acc05df7ad6dc29dbe52b921b77e52e39f571',
    },
    '2.34.7': {
        'x86_64-linux': 'eafe5042404e818505e28c5ca3d0885f3ec45c31f955489a25bb38258f87560e',
        'aarch64-linux': 'f1cee64ae7a02330c6421924c28f597c41813f2214ff108622087d8056378b08',
    },
};
/** Matches the `nix-version` default in src/config.ts; a test keeps it pinned. */
const DEFAULT_NIX_VERSION = '2.28.3';
/** Nix 2.4 introduced flakes and the `extra-` setting prefix this stage relies on. */
const MIN_NIX = [2, 4];
/**
 * Makes a working, flake-enabled `nix` available. Uses an existing one unless `installNix` is
 * `always`; installs a pinned release only in CI (`auto`) or when asked (`always`), never on a laptop.
 * Configuration reaches our nix child processes through NIX_CONFIG (set on process.env), so the
 * GitHub token never lands in a world-readable nix.conf.
 */
async function ensureNix(opts, reporter) {
    const onPath = await findOnPath('nix');
    const found = onPath ? await probeNix(onPath) : undefined;
    const action = decideInstall(opts.installNix, opts.ci, found);
    let nixBin = onPath ?? 'nix';
    let version = found?.version ?? '';
    // Before installing: the daemon enables the kvm system feature only if /dev/kvm is usable at start.
    const kvm = await ensureKvm(opts.ci, reporter);
    if (action === 'install') {
        nixBin = await installNix(opts.nixVersion, nixConfigText({ ...opts, githubToken: undefined, kvm }), reporter);
        const probed = await probeNix(nixBin);
        if (!probed)
            throw new errors/* UserError */.f(`The Nix ${opts.nixVersion} installer finished but ${nixBin} does not run.`, 'nix-version', errors/* ExitCode */.y.NixFailed);
        version = probed.version;
    }
    else {
        reporter.info(`Using the installed Nix ${version} (${nixBin})`);
    }
    if (versionBelow(version, MIN_NIX)) {
        throw new errors/* UserError */.f(`Nix ${version} is too old: flakes need Nix ${MIN_NIX.join('.')} or newer, so upgrade it or set install-nix: always.`, 'install-nix');
    }
    process.env.NIX_CONFIG = appendNixConfig(process.env.NIX_CONFIG, nixConfigText({ ...opts, kvm }));
    reporter.debug(`NIX_CONFIG for nix commands:\n${redactNixConfig(process.env.NIX_CONFIG)}`);
    return { nixBin, version, installed: action === 'install' };
}
/** `use` the nix found, `install` one, or throw the hint. Pure: the tests drive it directly. */
function decideInstall(mode, ci, found) {
    if (mode === 'always')
        return 'install';
    if (found)
        return 'use';
    if (mode === 'never') {
        throw new errors/* UserError */.f('Nix is not installed and install-nix is never; install it (e.g. apt-get install -y nix-bin, or https://nixos.org/download) or set install-nix: auto in CI.', 'install-nix');
    }
    if (!ci) {
        throw new errors/* UserError */.f('Nix is not installed; install-nix: auto installs it only in CI (CI=true), never on your machine, so install it yourself (e.g. apt-get install -y nix-bin, or https://nixos.org/download) or set install-nix: always.', 'install-nix');
    }
    return 'install';
}
/** Runs `<bin> --version`; undefined when nix is absent or broken. */
async function probeNix(bin) {
    try {
        const result = await run(bin, ['--version']);
        const version = result.stdout.match(/(\d+\.\d+(?:\.\d+)?\S*)/)?.[1];
        return result.code === 0 && version ? { version } : undefined;
    }
    catch {
        return undefined;
    }
}
/** The absolute path of an executable on PATH, like `command -v`. */
async function findOnPath(name) {
    for (const dir of (process.env.PATH ?? '').split(external_node_path_.delimiter)) {
        if (!dir)
            continue;
        const path = (0,external_node_path_.join)(dir, name);
        if (await (0,promises_.access)(path, external_node_fs_.constants.X_OK).then(() => true, () => false))
            return path;
    }
    return undefined;
}
function versionBelow(version, min) {
    const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
    return major < min[0] || (major === min[0] && minor < min[1]);
}
/**
 * The settings this stage needs, as nix.conf lines: flakes on, KVM as a system feature where usable,
 * the user's extra config, and the GitHub token against API rate limits (FACTS.md, "Runner disk and KVM").
 * `extra-` settings add to the user's own instead of replacing them.
 */
function nixConfigText(opts) {
    const lines = ['extra-experimental-features = nix-command flakes'];
    if (opts.kvm)
        lines.push('extra-system-features = kvm');
    const extra = opts.extraNixConfig.trim();
    if (extra)
        lines.push(extra);
    if (opts.githubToken) {
        if (/\s/.test(opts.githubToken))
            throw new errors/* UserError */.f('The github-token input contains whitespace, which no GitHub token does.', 'github-token');
        lines.push(`extra-access-tokens = github.com=${opts.githubToken}`);
    }
    return `${lines.join('\n')}\n`;
}
/** Appends our settings to an existing NIX_CONFIG (later lines win in nix's parser); idempotent. */
function appendNixConfig(existing, addition) {
    const base = existing?.trim() ?? '';
    if (base.endsWith(addition.trim()))
        return existing ?? addition; // ensureNix ran before: nothing new
    return base ? `${base}\n${addition}` : addition;
}
/** NIX_CONFIG text safe to log: access tokens are replaced. */
function redactNixConfig(text) {
    return (text ?? '').replace(/^(\s*(?:extra-)?access-tokens\s*=).*$/gm, '$1 ***');
}
/** Streams a file through SHA-256 and compares with the expected hex digest. */
async function verifySha256(file, expected, what = file) {
    const want = expected.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(want))
        throw new errors/* UserError */.f(`The expected SHA-256 for ${what} is not 64 hex digits: "${expected}".`, 'nix-version', errors/* ExitCode */.y.NixFailed);
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for await (const chunk of (0,external_node_fs_.createReadStream)(file))
        hash.update(chunk);
    const got = hash.digest('hex');
    if (got !== want) {
        throw new errors/* UserError */.f(`The download of ${what} has SHA-256 ${got}, not the published ${want}; refusing to install it.`, 'nix-version', errors/* ExitCode */.y.NixFailed);
    }
}
/** The release tarball for a version and system, with its pinned hash when we have one. */
function nixRelease(version, system) {
    if (!/^\d+\.\d+\.\d+$/.test(version)) {
        throw new errors/* UserError */.f(`The nix-version input "${version}" must be an exact release such as ${DEFAULT_NIX_VERSION}.`, 'nix-version');
    }
    const url = `https://releases.nixos.org/nix/nix-${version}/nix-${version}-${system}.tar.xz`;
    const sha256 = PINNED_NIX_RELEASES[version]?.[system];
    return sha256 ? { url, sha256 } : { url };
}
function hostNixSystem() {
    if (process.platform === 'linux' && process.arch === 'x64')
        return 'x86_64-linux';
    if (process.platform === 'linux' && process.arch === 'arm64')
        return 'aarch64-linux';
    throw new errors/* UserError */.f(`Installing Nix is supported on x86_64 and aarch64 Linux only, not ${process.platform}/${process.arch}; install Nix yourself.`, 'install-nix');
}
/** Downloads (with retries), verifies, caches and runs the pinned installer. Returns the nix binary. */
async function installNix(version, confText, reporter) {
    const tc = await __webpack_require__.e(/* import() */ 991).then(__webpack_require__.bind(__webpack_require__, 5991));
    const system = hostNixSystem();
    const arch = system === 'x86_64-linux' ? 'x64' : 'arm64';
    const { url, sha256 } = nixRelease(version, system);
    // tool-cache needs these; GitLab CI and laptops do not set them.
    process.env.RUNNER_TEMP ||= (0,external_node_os_.tmpdir)();
    process.env.RUNNER_TOOL_CACHE ||= (0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'nix-glab-runner-tool-cache');
    let dir = tc.find('nix', version, arch);
    if (!dir) {
        reporter.info(`Downloading Nix ${version} from ${url}`);
        const file = await withRetries(3, () => tc.downloadTool(url), reporter);
        let expected = sha256;
        if (!expected) {
            reporter.warn(`Nix ${version} is not pinned here; trusting the SHA-256 published at ${url}.sha256.`);
            const sumFile = await withRetries(3, () => tc.downloadTool(`${url}.sha256`), reporter);
            expected = (await (0,promises_.readFile)(sumFile, 'utf8')).trim().split(/\s+/)[0] ?? '';
        }
        await verifySha256(file, expected, url);
        const extracted = await tc.extractTar(file, undefined, 'xJ');
        // The tarball holds one directory, nix-<version>-<system>, with the installer in it.
        const top = (await (0,promises_.readdir)(extracted)).find((e) => e.startsWith('nix-'));
        if (!top)
            throw new errors/* UserError */.f(`The Nix ${version} tarball from ${url} holds no nix-* directory.`, 'nix-version', errors/* ExitCode */.y.NixFailed);
        dir = await tc.cacheDir((0,external_node_path_.join)(extracted, top), 'nix', version, arch);
    }
    // Multi-user where systemd runs (GitHub runners); single-user in containers (GitLab docker executors),
    // where build users and the namespace sandbox are usually unavailable.
    const daemon = await exists('/run/systemd/system');
    const confFile = (0,external_node_path_.join)(await (0,promises_.mkdtemp)((0,external_node_path_.join)(process.env.RUNNER_TEMP, 'nix-conf-')), 'nix.conf');
    await (0,promises_.writeFile)(confFile, daemon ? confText : `build-users-group =\nsandbox = false\n${confText}`);
    const args = [
        daemon ? '--daemon' : '--no-daemon',
        '--yes',
        '--no-channel-add',
        '--nix-extra-conf-file',
        confFile,
    ];
    reporter.info(`Running the Nix ${version} installer (${daemon ? 'multi-user' : 'single-user'})`);
    const result = await run((0,external_node_path_.join)(dir, 'install'), args, { onStderrLine: (l) => reporter.log(l) });
    if (result.code !== 0) {
        throw new errors/* UserError */.f(`The Nix ${version} installer failed with exit code ${result.code}: ${result.stderrTail.slice(-5).join(' / ')}`, 'install-nix', errors/* ExitCode */.y.NixFailed);
    }
    const profile = daemon
        ? '/nix/var/nix/profiles/default/bin'
        : (0,external_node_path_.join)(process.env.HOME ?? '/root', '.nix-profile/bin');
    process.env.PATH = `${profile}${external_node_path_.delimiter}${process.env.PATH ?? ''}`;
    return (0,external_node_path_.join)(profile, 'nix');
}
async function withRetries(attempts, fn, reporter) {
    for (let i = 1;; i++) {
        try {
            return await fn();
        }
        catch (err) {
            if (i >= attempts)
                throw new errors/* UserError */.f(`Downloading Nix failed after ${attempts} attempts: ${err.message}.`, 'install-nix', errors/* ExitCode */.y.NixFailed);
            reporter.warn(`Download attempt ${i} failed (${err.message}); retrying`);
            await new Promise((r) => setTimeout(r, 2000 * i));
        }
    }
}
/**
 * NixOS image builds run a VM and need /dev/kvm open to the build user. Where the device exists but
 * is not usable, CI runners (GitHub's) allow `sudo chmod`; on a laptop we only warn.
 */
async function ensureKvm(ci, reporter) {
    if (!(await exists('/dev/kvm'))) {
        reporter.debug('/dev/kvm is absent; NixOS image builds will be slow or fail');
        return false;
    }
    if (await usable('/dev/kvm'))
        return true;
    if (ci) {
        const result = await run('sudo', ['-n', 'chmod', '0666', '/dev/kvm']).catch(() => undefined);
        if (result?.code === 0 && (await usable('/dev/kvm')))
            return true;
    }
    reporter.warn('/dev/kvm exists but is not readable and writable by this user, so image builds cannot use KVM; add the user to the kvm group.');
    return false;
}
async function exists(path) {
    return (0,promises_.access)(path).then(() => true, () => false);
}
async function usable(path) {
    return (0,promises_.access)(path, external_node_fs_.constants.R_OK | external_node_fs_.constants.W_OK).then(() => true, () => false);
}

;// CONCATENATED MODULE: ./src/pipeline.ts














const BASE_GUEST_OS_FEATURES = ['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE'];
/** Runs one publish: ensure Nix, build, verify, upload, create the image. Nothing else is touched. */
async function publish(config, reporter, run) {
    const steps = [];
    const endpoints = resolveEndpoints(config.storageEndpoint, config.computeEndpoint);
    const credentials = credentialsFor(endpoints);
    // Reads only: fail on a wrong project or bucket before spending minutes on a build.
    const { project, storage } = await reporter.group('Check Google Cloud target', async () => {
        const project = await resolveProject(config.project, credentials);
        const storage = await storageClient(endpoints, credentials, project);
        await checkBucket(storage, config.bucket);
        reporter.info(`Project ${project}, bucket gs://${config.bucket}, family ${config.family}.`);
        return { project, storage };
    });
    const artifact = await obtainImage(config, reporter, run, steps);
    const images = new Images(restFor(endpoints, credentials, run.signal), project);
    const identity = await reporter.group('Image identity', async () => {
        const nixHash = artifact.storePath ? storePathHash(artifact.storePath) : await fileIdentityHash(artifact.tarball);
        const name = (0,image_name/* renderImageName */.$X)(config.imageName ?? '{family}-{hash}', {
            family: config.family,
            hash: nixHash,
            date: new Date().toISOString().slice(0, 10).replaceAll('-', ''),
            nixos: artifact.facts.nixos ?? '',
        });
        reporter.info(`Image ${name} (nix-hash ${nixHash}).`);
        return { nixHash, name };
    });
    const outputs = {
        'image-name': identity.name,
        'image-self-link': '',
        'image-family': config.family,
        'gcs-uri': '',
        'store-path': artifact.storePath ?? '',
        'nix-hash': identity.nixHash,
        skipped: 'false',
    };
    const existing = await reporter.group('Look for an existing image', () => existingImage(images, config, identity.nixHash, identity.name, reporter));
    if (existing) {
        reporter.info(`Image ${existing.name} of this build is already READY in family ${config.family}; nothing to publish.`);
        steps.push({ stage: 'image', result: `already published as ${existing.name}` });
        return { outputs: { ...outputs, 'image-name': existing.name, 'image-self-link': existing.selfLink, skipped: 'true' }, steps };
    }
    const guestOsFeatures = guestFeatures(artifact.facts, config);
    const architecture = config.architecture ?? artifact.facts.architecture;
    const objectName = `${config.objectPrefix}${identity.name}.raw.tar.gz`;
    if (config.dryRun) {
        reporter.info(`Dry run: would upload ${artifact.tarball} to gs://${config.bucket}/${objectName} and create image ${identity.name} (${architecture}, ${guestOsFeatures.join(', ')}).`);
        steps.push({ stage: 'dry-run', result: `would create ${identity.name}` });
        return { outputs: { ...outputs, 'gcs-uri': `gs://${config.bucket}/${objectName}` }, steps };
    }
    const uploaded = await reporter.group('Upload to Cloud Storage', () => uploadImageObject(storage, {
        bucket: config.bucket,
        object: objectName,
        file: artifact.tarball,
        metadata: { 'nix-hash': identity.nixHash, 'managed-by': 'nix-glab-runner' },
        reporter,
    }));
    steps.push({ stage: 'upload', result: uploaded.reused ? `reused ${uploaded.gcsUri}` : `uploaded ${uploaded.gcsUri}` });
    const image = await reporter.group('Create image', () => createImage(images, config, reporter, {
        name: identity.name,
        family: config.family,
        description: imageDescription(artifact.flakeRef, artifact.flakeRev, config.description),
        labels: imageLabels({ nixHash: identity.nixHash, user: config.labels, env: run.env, flakeRev: artifact.flakeRev }),
        source: rawDiskSource(config.bucket, objectName),
        guestOsFeatures,
        architecture,
        storageLocation: config.storageLocation,
    }));
    steps.push({ stage: 'image', result: `created ${image.name} (${image.status})` });
    if (!config.keepObject) {
        await deleteObject(storage, config.bucket, objectName, uploaded.generation);
        reporter.info(`Deleted gs://${config.bucket}/${objectName}; the image holds its own copy (keep-object keeps it).`);
    }
    return {
        outputs: { ...outputs, 'image-self-link': image.selfLink, 'gcs-uri': uploaded.gcsUri },
        steps,
    };
}
/** Builds with Nix, or takes the prebuilt tarball; then verifies it and reads its facts. */
async function obtainImage(config, reporter, run, steps) {
    let built;
    let outputDir;
    if (config.imageFile) {
        const tarball = config.imageFile;
        const storePath = /^\/nix\/store\/[^/]+/.exec(tarball)?.[0];
        outputDir = storePath ?? (0,external_node_path_.dirname)(tarball);
        built = { tarball, storePath, flakeRef: `file ${tarball}` };
        steps.push({ stage: 'build', result: `prebuilt ${tarball}` });
    }
    else {
        const nix = await reporter.group('Ensure Nix', () => ensureNix({
            installNix: config.installNix,
            nixVersion: config.nixVersion,
            extraNixConfig: config.extraNixConfig,
            githubToken: config.githubToken,
            ci: run.env.CI === 'true',
        }, reporter));
        const result = await reporter.group('Build image with Nix', () => buildImage({
            flake: config.flake,
            flakeAttr: config.flakeAttr,
            extraModules: config.extraModules,
            workspace: config.workspace,
            system: run.system ?? 'x86_64-linux',
            nixBin: nix.nixBin,
        }, reporter, run.signal));
        outputDir = result.storePath;
        built = { tarball: await locateImageTarball(result.storePath), storePath: result.storePath, flakeRef: result.flakeRef, flakeRev: result.flakeRev };
        steps.push({ stage: 'build', result: result.storePath });
    }
    const facts = await reporter.group('Verify tarball', async () => {
        const check = await verifyImageTarball(built.tarball);
        reporter.info(`${built.tarball}: member ${check.member}, ${check.format} tar, ${check.type}.`);
        return readImageFacts(outputDir, reporter);
    });
    return { ...built, facts };
}
/**
 * The image of this build that makes publishing unnecessary, if any. A rolled-back (deprecated) build is
 * refused unless explicitly allowed; a PENDING one is waited for; a FAILED one is deleted for a retry.
 */
async function existingImage(images, config, nixHash, name, reporter) {
    const found = await images.findByNixHash(config.family, nixHash);
    for (const image of found) {
        const state = deprecationState(image);
        if (state !== 'ACTIVE' && !config.allowRolledBack) {
            throw new errors/* UserError */.f(`This build was published as ${image.name} and later rolled back (${state}); set "allow-rolled-back" to publish it again on purpose.`, 'allow-rolled-back', errors/* ExitCode */.y.RolledBack);
        }
    }
    const usable = found.filter((i) => deprecationState(i) === 'ACTIVE' || config.allowRolledBack);
    const ready = usable.find((i) => i.status === 'READY');
    if (ready && deprecationState(ready) === 'ACTIVE')
        return ready;
    const pending = usable.find((i) => i.status === 'PENDING');
    if (pending) {
        reporter.info(`Image ${pending.name} of this build is PENDING (another run, or an interrupted one); waiting for it.`);
        const settled = await images.waitUntilSettled(pending.name, config.operationTimeout * 1000);
        if (settled?.status === 'READY')
            return settled;
    }
    return undefined;
}
async function createImage(images, config, reporter, image) {
    const timeoutMs = config.operationTimeout * 1000;
    const previous = await images.get(image.name);
    if (previous?.status === 'FAILED') {
        reporter.warn(`A FAILED image named ${image.name} is in the way; deleting it and trying again.`);
        await images.delete(image.name, timeoutMs);
    }
    else if (previous) {
        throw new gcp_errors/* GcpApiError */.FL(`creating image "${image.name}" failed: an image of that name already exists (${previous.status}) without this build's nix-hash label; choose another "image-name"`, 409, 'alreadyExists');
    }
    let last = '';
    return images.insert(image, timeoutMs, (op) => {
        const line = `operation ${op.name}: ${op.status}`;
        if (line !== last)
            reporter.debug(line);
        last = line;
    });
}
function guestFeatures(facts, config) {
    const features = [...BASE_GUEST_OS_FEATURES, ...(facts.efi ? ['UEFI_COMPATIBLE'] : []), ...config.guestOsFeatures];
    return [...new Set(features)];
}
function restFor(endpoints, credentials, signal) {
    return new RestClient(endpoints.compute, credentials, undefined, signal);
}


/***/ })

};
