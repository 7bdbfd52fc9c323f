export const id = 64;
export const ids = [64];
export const modules = {

/***/ 64:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runCommand: () => (/* binding */ runCommand)
});

// EXTERNAL MODULE: ./src/config.ts + 3 modules
var src_config = __webpack_require__(6200);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: ./src/gcp/errors.ts
var gcp_errors = __webpack_require__(3795);
;// CONCATENATED MODULE: ./src/gcp/resource-path.ts
/**
 * Compute Engine refers to resources by full URL (`https://compute.googleapis.com/compute/v1/projects/…`),
 * by partial path (`projects/p/global/images/x`) or, within a project, by bare name. Comparisons happen on
 * the partial path, so a link from any endpoint (Google's, a private one, the emulator) compares equal.
 */
function resourcePath(ref) {
    const at = ref.indexOf('projects/');
    return at >= 0 ? ref.slice(at).replace(/[?#].*$/, '') : ref;
}
/** The last path segment: a resource's name. */
function lastSegment(ref) {
    return ref.slice(ref.lastIndexOf('/') + 1);
}
/** The image path a `sourceImage` names, `projects/P/global/images/N` or `…/images/family/F`. */
function imagePath(project, ref) {
    const path = resourcePath(ref);
    if (path.startsWith('projects/'))
        return path;
    if (path.startsWith('global/'))
        return `projects/${project}/${path}`;
    return `projects/${project}/global/images/${lastSegment(path)}`;
}

;// CONCATENATED MODULE: ./src/gcp/operations.ts


/** `operations.wait` answers within about two minutes, done or not; a little more before it counts as hung. */
const WAIT_HOLD_MS = 150_000;
/** The operations collection an operation lives in: global, regional or zonal. */
function operationPath(project, op) {
    if (op.zone)
        return `/projects/${project}/zones/${lastSegment(op.zone)}/operations/${op.name}`;
    if (op.region)
        return `/projects/${project}/regions/${lastSegment(op.region)}/operations/${op.name}`;
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
        rest.signal?.throwIfAborted();
        if (Date.now() >= deadline) {
            throw new gcp_errors/* GcpApiError */.FL(`${opts.what} did not finish within ${Math.round(opts.timeoutMs / 1000)}s (operation ${current.name} is ${current.status}); it goes on in Google Cloud, and the next run picks it up instead of starting another`, 504, 'timeout');
        }
        current = await rest.call({
            method: 'POST',
            path: `${operationPath(project, current)}/wait`,
            what: `${opts.what}: waiting for operation ${current.name}`,
            holdMs: WAIT_HOLD_MS,
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

;// CONCATENATED MODULE: ./src/gcp/retry.ts
const DEFAULT_RETRY = { deadlineMs: 120_000, initialDelayMs: 500, maxDelayMs: 16_000 };
/** Our backoff, bounded by the `retry-deadline` input (seconds), reporting its retries to `reporter`. */
function retryPolicy(deadlineSeconds, reporter) {
    return {
        ...DEFAULT_RETRY,
        deadlineMs: deadlineSeconds * 1000,
        ...(reporter ? { notify: retryReporter(reporter) } : {}),
    };
}
/**
 * The first retry of a call is said once (what failed, why, and for how long it will be retried); with
 * verbose output every further attempt is said too.
 */
function retryReporter(reporter) {
    return (n) => {
        const why = retryCause(n.error);
        const left = `${Math.ceil(n.leftMs / 1000)}s`;
        if (n.failures === 1)
            reporter.info(`${n.what}: ${why}; retrying for up to ${left} (retry-deadline).`);
        reporter.debug(`${n.what}: attempt ${n.failures} failed (${why}); next attempt in ${(n.delayMs / 1000).toFixed(1)}s, ${left} left.`);
    };
}
/** Why an attempt failed, in a few words: the HTTP status or the connection error. */
function retryCause(err) {
    const e = err;
    const status = typeof e.status === 'number' ? e.status : typeof e.code === 'number' ? e.code : 0;
    const message = (typeof e.message === 'string' ? e.message : String(err)).split('\n')[0] ?? '';
    const short = message.length > 160 ? `${message.slice(0, 157)}...` : message;
    return status >= 100 ? `HTTP ${status}${short ? ` (${short})` : ''}` : short || 'no answer';
}
/** Full-jitter exponential backoff: a random delay in [0, min(max, initial * 2^attempt)]. */
function backoffDelay(policy, attempt) {
    const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
    return Math.round(Math.random() * ceiling);
}
/** The end of a message for a call retried until the deadline: " (gave up after 7 attempts over 4.6s)". */
function gaveUpNote(attempts, elapsedMs) {
    return ` (gave up after ${attempts} attempts over ${(elapsedMs / 1000).toFixed(1)}s)`;
}
/** The last error of a call that failed transiently until the deadline; `note` says how long we tried. */
class GaveUp extends Error {
    last;
    attempts;
    elapsedMs;
    name = 'GaveUp';
    constructor(last, attempts, elapsedMs) {
        super(last instanceof Error ? last.message : String(last));
        this.last = last;
        this.attempts = attempts;
        this.elapsedMs = elapsedMs;
    }
    get note() {
        return gaveUpNote(this.attempts, this.elapsedMs);
    }
}
/**
 * Runs `attempt` until it resolves, throws an error `retryable` refuses (thrown as it is), or the deadline
 * has passed since the first failure (the last error is thrown inside a GaveUp): a slow first answer does
 * not use up the retries. The last backoff is cut short so that one more attempt lands at the deadline
 * rather than giving up early. An attempt that made progress (bytes an upload session took) calls
 * `progressed`: the clock and the backoff start again at the next failure.
 */
async function retrying(policy, retryable, attempt, signal, what = 'a Google Cloud call') {
    let since = 0;
    let failures = 0;
    const progressed = () => {
        failures = 0;
    };
    for (let n = 0;; n++) {
        try {
            return await attempt(n, progressed);
        }
        catch (err) {
            if (signal?.aborted || !retryable(err))
                throw err;
            if (failures++ === 0)
                since = Date.now();
            const left = policy.deadlineMs - (Date.now() - since);
            if (left <= 0)
                throw failures > 1 ? new GaveUp(err, failures, Date.now() - since) : err;
            const delayMs = Math.min(backoffDelay(policy, failures - 1), left);
            policy.notify?.({ what, failures, error: err, delayMs, leftMs: left });
            await sleep(delayMs, signal);
        }
    }
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
/** Stops waiting for `work` once `signal` aborts, for calls that take no signal (the storage library's). */
function abortable(work, signal) {
    if (!signal)
        return work;
    if (signal.aborted)
        return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
}

;// CONCATENATED MODULE: ./src/gcp/rest.ts


/** One answer that was not a success: its status (0 for no answer at all) and body or network error. */
class Failure extends Error {
    status;
    text;
    constructor(status, text) {
        super(text);
        this.status = status;
        this.text = text;
    }
}
/**
 * A small JSON REST client for Compute Engine. Every call is retried on 429, 5xx and network errors with
 * jittered backoff until the policy's deadline (the `retry-deadline` input); mutations are made safe to
 * retry by the caller (requestId where the method defines it, fingerprints on updates).
 *
 * Why not the `@google-cloud/compute` client: loading it (`require('@google-cloud/compute')`) costs about
 * a second of CPU and brings a Node process to about 290 MB of resident memory, against about 45 MB for
 * Node alone, for the dozen calls a run makes. We keep its value, Google's generated request and resource
 * types, through type-only imports (compute-api.ts): every call names its method, so a parameter or body
 * field the method does not define fails the typecheck, and nothing of the package is loaded or bundled.
 */
class RestClient {
    baseUrl;
    credentials;
    retry;
    signal;
    constructor(baseUrl, credentials, retry = DEFAULT_RETRY, 
    /** Aborts every call and backoff (SIGINT, SIGTERM); pollers built on this client stop with it. */
    signal) {
        this.baseUrl = baseUrl;
        this.credentials = credentials;
        this.retry = retry;
        this.signal = signal;
    }
    /** `T` is what the call returns; `M` the method (compute-api.ts) whose query and body it sends. */
    async call(req) {
        const url = new URL(this.baseUrl + req.path);
        for (const [k, v] of Object.entries((req.query ?? {})))
            if (v !== undefined)
                url.searchParams.set(k, String(v));
        try {
            return await retrying(this.retry, (err) => err instanceof Failure && (err.status === 0 || (0,gcp_errors/* isRetryableStatus */.PS)(err.status)), () => this.once(url, req), this.signal, req.what);
        }
        catch (err) {
            const failure = err instanceof GaveUp ? err.last : err;
            if (!(failure instanceof Failure))
                throw err;
            const { message, reason } = failure.status === 0
                ? { message: failure.text, reason: undefined }
                : (0,gcp_errors/* googleErrorMessage */.L4)(failure.status, failure.text);
            const note = err instanceof GaveUp ? err.note : '';
            throw new gcp_errors/* GcpApiError */.FL(`${req.what} failed: ${message}${note}`, failure.status, reason);
        }
    }
    /**
     * How long one attempt may go unanswered before it counts as a broken connection: the retry deadline, so
     * a hung request cannot outlast it, or longer for a call Google may hold on purpose.
     */
    attemptTimeoutMs(req) {
        return Math.max(this.retry.deadlineMs, req.holdMs ?? 0);
    }
    async once(url, req) {
        // Outside the try: missing credentials are the user's to fix, not a broken connection to retry.
        const headers = await this.credentials.headers();
        const timeoutMs = this.attemptTimeoutMs(req);
        const timeout = AbortSignal.timeout(timeoutMs);
        let res;
        let text;
        try {
            res = await fetch(url, {
                method: req.method,
                headers: {
                    ...headers,
                    ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
                },
                body: req.body === undefined ? undefined : JSON.stringify(req.body),
                signal: this.signal ? AbortSignal.any([this.signal, timeout]) : timeout,
            });
            text = await res.text();
        }
        catch (err) {
            if (this.signal?.aborted)
                throw err;
            if (timeout.aborted)
                throw new Failure(0, `no answer within ${Math.round(timeoutMs / 1000)}s`);
            throw new Failure(0, (0,gcp_errors/* withCause */.wD)(err));
        }
        if (res.ok)
            return (text ? JSON.parse(text) : {});
        if (res.status === 404 && req.allowNotFound)
            return undefined;
        throw new Failure(res.status, text);
    }
}
/**
 * Every item of a paged list call: `page` fetches one page (the first with no token), `items` picks what it
 * holds; pages are read until one comes without a `nextPageToken`.
 */
async function listAllPages(page, items) {
    const out = [];
    let pageToken;
    do {
        const res = await page(pageToken);
        out.push(...items(res));
        pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
}

;// CONCATENATED MODULE: ./src/gcp/groups.ts




/** Parses the `instance-group` input (`zones/Z/instanceGroupManagers/N` or `regions/R/…`). */
function groupRef(project, instanceGroup) {
    const m = /^((?:zones|regions)\/[^/]+)\/instanceGroupManagers\/([^/]+)$/.exec(instanceGroup);
    if (!m)
        throw new Error(`"${instanceGroup}" is not zones/Z/instanceGroupManagers/N or regions/R/instanceGroupManagers/N`);
    const scope = m[1];
    const name = m[2];
    return {
        project,
        scope,
        name,
        path: `projects/${project}/${scope}/instanceGroupManagers/${name}`,
        regional: scope.startsWith('regions/'),
    };
}
/** Stable and on its target version: the group has nothing left to do for the roll. */
function groupSettled(group) {
    return group.status?.isStable === true && group.status.versionTarget?.isReached === true;
}
/** The group's versions; a group made with only `instanceTemplate` has that one. */
function groupVersions(group) {
    if (group.versions?.length)
        return group.versions;
    return group.instanceTemplate ? [{ instanceTemplate: group.instanceTemplate }] : [];
}
/** Whether a member runs the template at `path` (a resource path). */
function runsTemplate(member, path) {
    return resourcePath(member.version?.instanceTemplate ?? '') === path;
}
/** True when the group keeps per-instance state, which rules out a PROACTIVE update policy. */
function isStateful(group) {
    if (group.status?.stateful?.hasStatefulConfig)
        return true;
    const preserved = group.statefulPolicy?.preservedState ?? {};
    return Object.values(preserved).some((v) => v !== undefined && Object.keys(v).length > 0);
}
/** The zone and name of a managed instance, from its URL. */
function instanceLocation(mi) {
    const path = resourcePath(mi.instance);
    const m = /zones\/([^/]+)\/instances\/([^/]+)/.exec(path);
    return { zone: m?.[1] ?? '', name: mi.name ?? m?.[2] ?? lastSegment(path) };
}
/** Managed instance groups: read, patch, list members, apply updates to chosen members. */
class Groups {
    rest;
    project;
    constructor(rest, project) {
        this.rest = rest;
        this.project = project;
    }
    get(ref) {
        return this.rest.call({
            method: 'GET',
            path: `/${ref.path}`,
            what: `reading instance group "${ref.path}"`,
            allowNotFound: true,
        });
    }
    /** A JSON merge patch guarded by the group's fingerprint; waits until the operation is done. */
    async patch(ref, body, timeoutMs) {
        const what = `updating instance group "${ref.path}"`;
        const op = await this.rest.call({
            method: 'PATCH',
            path: `/${ref.path}`,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            body,
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
    /** Every member with its current action and template (read-only, though the method is a POST). */
    async listManaged(ref) {
        return listAllPages((pageToken) => this.rest.call({
            method: 'POST',
            path: `/${ref.path}/listManagedInstances`,
            query: { maxResults: 500, pageToken },
            what: `listing the instances of group "${ref.path}"`,
        }), (res) => res.managedInstances ?? []);
    }
    /** Every managed instance group of the project, zonal and regional (aggregatedList, all pages). */
    async listAll() {
        return listAllPages((pageToken) => this.rest.call({
            method: 'GET',
            path: `/projects/${this.project}/aggregated/instanceGroupManagers`,
            query: { maxResults: 500, pageToken },
            what: `listing the instance groups of project "${this.project}"`,
        }), (res) => Object.values(res.items ?? {}).flatMap((scoped) => scoped.instanceGroupManagers ?? []));
    }
    /**
     * Replaces the given members that are not on the group's current version yet, now, whatever the update
     * policy. minimalAction NONE makes a second request for the same instance (another run of the rollout,
     * or a retry) a no-op once it runs the version, instead of replacing it again.
     */
    async replace(ref, instanceUrls, timeoutMs) {
        const what = `replacing ${instanceUrls.map((u) => lastSegment(u)).join(', ')} in group "${ref.path}"`;
        // applyUpdatesToInstances defines no requestId; minimalAction NONE is what makes a repeat harmless.
        const op = await this.rest.call({
            method: 'POST',
            path: `/${ref.path}/applyUpdatesToInstances`,
            body: {
                instances: instanceUrls.map(resourcePath),
                minimalAction: 'NONE',
                mostDisruptiveAllowedAction: 'REPLACE',
            },
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
}

// EXTERNAL MODULE: ./node_modules/google-auth-library/build/src/index.js
var src = __webpack_require__(492);
;// CONCATENATED MODULE: ./src/gcp/auth.ts


const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
function credentialsFor(endpoints) {
    if (endpoints.loopback)
        return { auth: undefined, headers: async () => ({}) };
    dropMetadataLookupWarnings();
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
let dropping = false;
/**
 * google-auth-library probes the metadata server when no other credentials exist, and on an unexpected
 * answer (a reset, say) Node prints a MetadataLookupWarning before our own sentence. That sentence already
 * says what to do, so the library's warning of that one type is dropped; every other warning still prints.
 */
function dropMetadataLookupWarnings() {
    if (dropping)
        return;
    dropping = true;
    const emitWarning = process.emitWarning.bind(process);
    process.emitWarning = ((warning, ...rest) => {
        const options = rest[0];
        const type = typeof options === 'string' ? options : options?.type;
        if (type === 'MetadataLookupWarning')
            return;
        emitWarning(warning, ...rest);
    });
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
/** Bucket and object of a `rawDisk.source` in the documented form; undefined for any other form. */
function parseRawDiskSource(source) {
    const prefix = `${GOOGLE_STORAGE}/`;
    if (!source.startsWith(prefix))
        return undefined;
    const [bucket, ...rest] = source.slice(prefix.length).split('/');
    if (!bucket || rest.length === 0)
        return undefined;
    return { bucket, object: rest.map(decodeURIComponent).join('/') };
}
function trimSlash(url) {
    return url.replace(/\/+$/, '');
}

;// CONCATENATED MODULE: ./src/gcp/image-family.ts



/** The family-wide image calls retention and rollback need: list, getFromFamily, deprecate. */
class ImageFamily {
    rest;
    project;
    family;
    constructor(rest, project, family) {
        this.rest = rest;
        this.project = project;
        this.family = family;
    }
    get base() {
        return `/projects/${this.project}/global/images`;
    }
    /** Every image of the family, whatever its state or labels (all pages). */
    async list() {
        return listAllPages((pageToken) => this.rest.call({
            method: 'GET',
            path: this.base,
            query: { filter: `family = "${this.family}"`, maxResults: 500, pageToken },
            what: `listing the images of family "${this.family}"`,
        }), (res) => res.items ?? []);
    }
    /** The newest non-deprecated image of the family, as instances following the family get it. */
    newest() {
        return this.rest.call({
            method: 'GET',
            path: `${this.base}/family/${this.family}`,
            what: `reading the newest image of family "${this.family}"`,
            allowNotFound: true,
        });
    }
    /** Marks an image DEPRECATED in favour of `replacement` (a self link). Google calls this irreversible. */
    deprecate(name, replacement, timeoutMs) {
        return this.setDeprecation(name, { state: 'DEPRECATED', replacement }, `deprecating image "${name}"`, timeoutMs);
    }
    /**
     * Marks a deprecated image ACTIVE again. Google's current docs call deprecation irreversible while gcloud
     * and older docs offer `state=ACTIVE`; it is used only on the user's explicit `allow-rolled-back`.
     */
    reactivate(name, timeoutMs) {
        return this.setDeprecation(name, { state: 'ACTIVE' }, `marking image "${name}" ACTIVE again`, timeoutMs);
    }
    async setDeprecation(name, body, what, timeoutMs) {
        const op = await this.rest.call({
            method: 'POST',
            path: `${this.base}/${name}/deprecate`,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            body,
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
}

;// CONCATENATED MODULE: ./src/gcp/images.ts



/** The state an image is in, as far as re-publishing goes. */
function deprecationState(image) {
    return image.deprecated?.state ?? 'ACTIVE';
}
/** READY and not deprecated: an image the family can give out. */
function isCurrent(image) {
    return image?.status === 'READY' && deprecationState(image) === 'ACTIVE';
}
/** For messages: "deleted", the status while not READY, else the deprecation state. */
function describeState(image) {
    if (!image)
        return 'deleted';
    return image.status === 'READY' ? deprecationState(image) : image.status;
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
        // The caller learns the operation at once: an interrupted run names it as going on in Google Cloud.
        onPoll?.(op);
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what, onPoll });
        const created = await this.get(image.name);
        if (!created)
            throw new Error(`${what}: the operation finished but the image does not exist`);
        return created;
    }
    async delete(name, timeoutMs) {
        const what = `deleting image "${name}"`;
        const op = await this.rest.call({
            method: 'DELETE',
            path: `${this.base}/${name}`,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
    /**
     * Replaces the image's labels, guarded by the fingerprint they were read with: Google answers 412 when
     * someone changed them since. The method takes no requestId.
     */
    async setLabels(name, labels, labelFingerprint, timeoutMs) {
        const what = `setting the labels of image "${name}"`;
        const op = await this.rest.call({
            method: 'POST',
            path: `${this.base}/${name}/setLabels`,
            body: { labels, labelFingerprint },
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
    /** Polls a PENDING image (someone else's insert, or our own from an interrupted run) until it settles. */
    async waitUntilSettled(name, timeoutMs, pollMs = 3000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const image = await this.get(name);
            if (image?.status !== 'PENDING')
                return image;
            if (Date.now() > deadline)
                return image;
            await sleep(pollMs, this.rest.signal);
        }
    }
}

// EXTERNAL MODULE: ./node_modules/@google-cloud/storage/build/esm/src/index.js + 27 modules
var esm_src = __webpack_require__(3923);
// EXTERNAL MODULE: ./node_modules/hash-wasm/dist/crc32.umd.min.js
var crc32_umd_min = __webpack_require__(6261);
var crc32_umd_min_default = /*#__PURE__*/__webpack_require__.n(crc32_umd_min);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
;// CONCATENATED MODULE: ./src/read-pieces.ts


/** Size of the one reused buffer a whole-file pass reads into. */
const PIECE_BYTES = 4 * 1024 * 1024;
/**
 * Reads a whole file in order through one reused buffer, handing each piece to `consume`, which must be
 * done with it when it returns (a hash update is). A fresh buffer per read, as `createReadStream` gives,
 * leaves garbage the GC finds late: tens of MB of peak RSS over a multi-GiB image.
 */
async function readPieces(path, consume, signal) {
    const file = await (0,promises_.open)(path, 'r');
    try {
        const buffer = Buffer.allocUnsafeSlow(PIECE_BYTES);
        for (let position = 0;;) {
            signal?.throwIfAborted();
            const { bytesRead } = await file.read(buffer, 0, PIECE_BYTES, position);
            if (bytesRead === 0)
                return;
            consume(buffer.subarray(0, bytesRead));
            position += bytesRead;
        }
    }
    finally {
        await file.close();
    }
}
/** Read-ahead for a consumer that takes pieces asynchronously: this many reused buffers of this size. */
const AHEAD_BUFFERS = 4;
const AHEAD_BYTES = 1024 * 1024;
/**
 * Reads `file` in order from `from` to `to` (or to its end) through AHEAD_BUFFERS reused buffers, handing
 * each piece and its position to `take`. `take` returns a promise that settles once the piece's buffer
 * may be read into again (the consumer is done with it), so reads run ahead of a consumer that works
 * elsewhere (zlib's thread pool, a socket). `stopped` is asked before each read. Returns the position
 * reached: short of `to` only when the file ended early or the reader stopped.
 */
async function readAhead(file, range, take, stopped) {
    const to = range.to ?? Number.POSITIVE_INFINITY;
    const buffers = Array.from({ length: AHEAD_BUFFERS }, () => Buffer.allocUnsafeSlow(AHEAD_BYTES));
    const free = buffers.map(() => Promise.resolve());
    let at = range.from;
    for (let i = 0; at < to; i++) {
        const slot = i % AHEAD_BUFFERS;
        await free[slot];
        if (stopped())
            break;
        const buffer = buffers[slot];
        const { bytesRead } = await file.read(buffer, 0, Math.min(AHEAD_BYTES, to - at), at);
        if (bytesRead === 0)
            break;
        free[slot] = take(buffer.subarray(0, bytesRead), at);
        at += bytesRead;
    }
    return at;
}
/** The SHA-256 of a whole file, as hex. */
async function read_pieces_fileSha256(path, signal) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    await readPieces(path, (piece) => hash.update(piece), signal);
    return hash.digest('hex');
}

;// CONCATENATED MODULE: ./src/gcp/crc32c.ts
// hash-wasm's index carries every algorithm's WASM (~209 KiB in each bundle); ncc does not tree-shake its
// UMD build, so take the CRC32 file alone (8 KiB). Typed by the package's lib/crc32.d.ts.
// @ts-expect-error the per-algorithm UMD files ship no declarations of their own


const { createCRC32 } = (crc32_umd_min_default());
/** CRC-32C (Castagnoli) polynomial, reversed, as hash-wasm takes it. */
const CASTAGNOLI = 0x82f63b78;
/**
 * Returns a synchronous generator as the storage client expects. hash-wasm hashers are created
 * asynchronously, so a pool is prepared up front; the client asks for one validator per upload stream.
 */
async function wasmCrc32cGenerator(poolSize = 4) {
    const pool = [];
    for (let i = 0; i < poolSize; i++)
        pool.push(await createCRC32(CASTAGNOLI));
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
async function fileCrc32c(path, signal) {
    const hasher = await createCRC32(CASTAGNOLI);
    hasher.init();
    await readPieces(path, (piece) => hasher.update(piece), signal);
    return Buffer.from(hasher.digest('binary')).toString('base64');
}

;// CONCATENATED MODULE: ./src/identity.ts

/** The label (on images) and metadata key (on objects) that marks what this tool made, and its value. */
const MANAGED_BY_KEY = 'managed-by';
const MANAGED_BY = 'nix-glab-runner';
/** `/nix/store/<hash>-<name>`, with the hash in Nix's base-32 alphabet (no e, o, u, t). */
const STORE_PATH = /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-[^/]*/;
/** The 32-character hash of a store path: `/nix/store/<hash>-<name>`. */
function storePathHash(storePath) {
    return STORE_PATH.exec(storePath)?.[1];
}
/**
 * The store path holding a prebuilt file, if it is inside one. Other files under /nix/store (such as
 * /nix/store/.links/...) have no store path hash, so they are hashed by content like any other file.
 */
function storePathOf(file) {
    return STORE_PATH.exec(file)?.[0];
}
/** Hex digits of a prebuilt tarball's SHA-256 that make its identity, as long as a store path hash. */
const IDENTITY_HASH_LENGTH = 32;
/**
 * Identity of a prebuilt tarball outside the store: the first 32 hex digits of its SHA-256, so the
 * same bytes always map to the same image.
 */
function prebuiltIdentity(sha256Hex) {
    return sha256Hex.slice(0, IDENTITY_HASH_LENGTH);
}
/** `prebuiltIdentity` of a file, read on its own (a publish takes the SHA-256 from its tarball check). */
async function fileIdentityHash(path) {
    return prebuiltIdentity(await fileSha256(path));
}
/** Our labels win over nothing: user labels cannot use the reserved keys (config refuses them). */
function imageLabels({ nixHash, user, env, flakeRev }) {
    const gitSha = env.GITHUB_SHA ?? env.CI_COMMIT_SHA;
    return {
        ...user,
        [MANAGED_BY_KEY]: MANAGED_BY,
        'nix-hash': nixHash,
        ...(gitSha && /^[0-9a-f]{7,40}$/i.test(gitSha) ? { 'git-sha': gitSha.toLowerCase() } : {}),
        ...(flakeRev && /^[0-9a-f]{7,40}$/i.test(flakeRev) ? { 'flake-rev': flakeRev.toLowerCase() } : {}),
    };
}
function imageDescription(flakeRef, flakeRev, userDescription) {
    const built = `Built by nix-glab-runner from ${flakeRef}${flakeRev ? ` at ${flakeRev}` : ''}.`;
    return (userDescription ? `${userDescription} ${built}` : built).slice(0, 2048);
}

;// CONCATENATED MODULE: ./src/gcp/object-owner.ts


/**
 * Why an object is not this build's, or undefined when it is: our `managed-by` and this `nix-hash`
 * metadata, and the same CRC32C and size as the tarball. Only such an object may be reused; any other
 * is someone else's and is never replaced or deleted.
 */
function notThisBuilds(found, build) {
    const owner = notOurMetadata(found, build.metadata);
    if (owner)
        return owner;
    if (found.crc32c !== build.crc32c || Number(found.size) !== build.size) {
        return `it holds other bytes (CRC32C ${found.crc32c}, ${found.size} bytes) than this build's tarball (CRC32C ${build.crc32c}, ${build.size} bytes)`;
    }
    return undefined;
}
/** The metadata half of `notThisBuilds`, which needs no hashing of the tarball. */
function notOurMetadata(found, ours) {
    const managedBy = found.metadata?.['managed-by'];
    if (managedBy !== MANAGED_BY) {
        return managedBy === undefined
            ? 'it has no managed-by metadata, so nix-glab-runner did not upload it'
            : `its managed-by metadata is ${JSON.stringify(String(managedBy))}`;
    }
    const nixHash = found.metadata?.['nix-hash'];
    if (nixHash !== ours['nix-hash']) {
        return `its nix-hash metadata is ${JSON.stringify(String(nixHash ?? ''))}, not this build's ${ours['nix-hash']}`;
    }
    return undefined;
}
/**
 * The run stops, having written nothing: the name this build would upload to is held by an object that
 * is not this build's. Bad input (exit 2): the name comes from `object-prefix` and `image-name`.
 */
function objectNameTaken(uri, why) {
    return new errors/* UserError */.f(`${uri} already exists and is not this build's (${why}); nothing was uploaded or replaced. Choose another "object-prefix" or "image-name", or delete that object yourself if it is yours to delete.`, 'object-prefix');
}

;// CONCATENATED MODULE: ./src/gcp/storage.ts







/**
 * The Storage client and the bucket and object calls the pipeline makes, each retried until the
 * `retry-deadline`. The image upload itself is in upload.ts.
 */
/**
 * The retry policy of each client `storageClient` made. Storage calls are retried by `storageCall` on the
 * same policy as Compute's, so one `retry-deadline` bounds every Google call.
 */
const policies = new WeakMap();
async function storageClient(endpoints, credentials, projectId, retry = DEFAULT_RETRY) {
    const custom = endpoints.storage !== GOOGLE_STORAGE;
    const storage = new esm_src/* Storage */.wc({
        projectId,
        ...(custom ? { apiEndpoint: endpoints.storage } : {}),
        // The client skips auth for any custom endpoint; a private endpoint is still Google and needs it.
        ...(custom && !endpoints.loopback ? { useAuthWithCustomEndpoint: true } : {}),
        ...(credentials.auth ? { authClient: credentials.auth } : {}),
        crc32cGenerator: await wasmCrc32cGenerator(),
        // Off: we retry every call ourselves. The library's retries stop after 3 attempts whatever the
        // deadline, skip a delete pinned to a generation, and never answer at all once their totalTimeout
        // runs out while retries remain (retry-request 9 drops the callback).
        retryOptions: { autoRetry: false },
    });
    policies.set(storage, retry);
    return storage;
}
function policyOf(storage) {
    return policies.get(storage) ?? DEFAULT_RETRY;
}
/** Retries a library call on 408, 429, 5xx and broken connections; fails as "<what> failed: <Google's message>". */
async function storageCall(storage, what, call, signal) {
    try {
        // The library takes no signal: an interrupted run stops waiting for it, and the process exits.
        return await retrying(policyOf(storage), isTransientStorageError, () => abortable(call(), signal), signal, what);
    }
    catch (err) {
        // Interrupted: the signal's reason, not a storage failure.
        if (signal?.aborted)
            throw err;
        throw storageError(what, err);
    }
}
/** The HTTP status of a library error: ApiError has it as `code`, GaxiosError (upload sessions) as `status`. */
function statusOf(err) {
    const e = err;
    for (const v of [e.code, e.status, e.response?.status]) {
        if (typeof v === 'number')
            return v;
        if (typeof v === 'string' && /^\d{3}$/.test(v))
            return Number(v);
    }
    return 0;
}
/** A retryable status, or no answer at all: a system error such as ECONNRESET or ECONNREFUSED. */
function isTransientStorageError(err) {
    if (err instanceof gcp_errors/* GcpApiError */.FL)
        return err.status === 0 || (0,gcp_errors/* isRetryableStatus */.PS)(err.status);
    const status = statusOf(err);
    if (status)
        return (0,gcp_errors/* isRetryableStatus */.PS)(status);
    // fetch() puts the system error in `cause`.
    const { code, type, cause } = err;
    return ([code, cause?.code].some((c) => typeof c === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(c)) ||
        type === 'system');
}
/** One GcpApiError: what we were doing, Google's message verbatim, and how long we retried. */
function storageError(what, err) {
    const last = err instanceof GaveUp ? err.last : err;
    const note = err instanceof GaveUp ? err.note : '';
    const reason = last instanceof gcp_errors/* GcpApiError */.FL
        ? last.reason
        : last.errors?.[0]?.reason;
    const message = last instanceof Error ? (0,gcp_errors/* withCause */.wD)(last) : String(last);
    return new gcp_errors/* GcpApiError */.FL(`${what} failed: ${message}${note}`, statusOf(last), reason);
}
/** Fails with a bad-input error when the bucket is missing: a read, done before anything is built. */
async function checkBucket(storage, bucket, signal) {
    const [exists] = await storageCall(storage, `checking bucket "${bucket}"`, () => storage.bucket(bucket).exists(), signal);
    if (!exists) {
        throw new errors/* UserError */.f(`Input "bucket" names gs://${bucket}, which does not exist or is not visible to these credentials; create it or fix the name.`, 'bucket');
    }
}
async function deleteObject(storage, bucket, object, generation, signal) {
    // The generation guard keeps us from deleting an object someone replaced in the meantime, and makes a
    // retry safe: a repeated delete of a deleted generation is a 404, which counts as done.
    await storageCall(storage, `deleting gs://${bucket}/${object}`, () => storage
        .bucket(bucket)
        .file(object, { generation: Number(generation) })
        .delete({ ignoreNotFound: true }), signal);
}
/** Whether the object exists now (a read). */
async function objectExists(storage, bucket, object) {
    return (await objectMetadata(storage, storage.bucket(bucket).file(object))) !== undefined;
}
/**
 * Deletes an image object an earlier run of this build left behind (it stopped before its clean-up): only
 * when its metadata is ours and this build's (`notOurMetadata`) and the run that uploaded it meant to
 * delete it (its `keep-object` metadata is "false"), and only that generation. True when deleted.
 */
async function removeLeftoverObject(storage, bucket, object, nixHash) {
    const found = await objectMetadata(storage, storage.bucket(bucket).file(object));
    if (!found)
        return false;
    if (notOurMetadata(found, { 'nix-hash': nixHash }))
        return false;
    if (found.metadata?.['keep-object'] !== 'false')
        return false;
    await deleteObject(storage, bucket, object, found.generation);
    return true;
}
async function objectMetadata(storage, file, signal) {
    return storageCall(storage, `reading gs://${file.bucket.name}/${file.name}`, async () => {
        try {
            const [meta] = await file.getMetadata();
            return {
                crc32c: meta.crc32c,
                size: meta.size,
                generation: String(meta.generation),
                metadata: meta.metadata ?? undefined,
            };
        }
        catch (err) {
            if (statusOf(err) === 404)
                return undefined;
            throw err;
        }
    }, signal);
}

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(7067);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(4708);
;// CONCATENATED MODULE: ./src/gcp/resumable-put.ts








const IDLE_TIMEOUT_MS = 120_000;
/**
 * Streams a file into a resumable session (docs/architecture.md, "The Google client libraries") and returns
 * the object the server stored with the CRC32C we computed while sending. Hand-written on purpose
 * (bench/README.md, "lean PUT"): the library's stream pipeline allocates a buffer per 64 KiB read, which
 * costs far more CPU per byte than reading into a few reused buffers. On a broken connection or a
 * retryable status it asks the session how much it holds and continues from there, as the library would,
 * with our backoff until the retry deadline. The deadline counts from the last time the session took
 * bytes, so a long upload that breaks late still gets the whole deadline to resume.
 */
async function putSession(uri, path, size, policy, what, on) {
    const hasher = (await wasmCrc32cGenerator(1))();
    const fh = await (0,promises_.open)(path, 'r');
    let hashed = 0;
    let offset = 0;
    let sent = false;
    try {
        // Broken connections and 408/429/5xx are retried; anything else (412, 404/410 session gone) is final.
        return await retrying(policy, isTransientStorageError, async (_, progressed) => {
            if (sent) {
                // Ask the session what it holds before sending again (a status query, never a mutation).
                const status = await queryCommitted(uri, size, on.signal);
                if (status.done)
                    return { object: status.done, crc32c: await wholeFileCrc(hasher, hashed, size, path, on.signal) };
                if (status.committed > offset)
                    progressed();
                offset = status.committed;
            }
            sent = true;
            const res = await putRange(uri, fh, offset, size, on, (chunk, at) => {
                // After a resume, bytes before `hashed` were already hashed; hash each byte once, in order.
                if (at + chunk.length > hashed) {
                    hasher.update(chunk.subarray(Math.max(0, hashed - at)));
                    hashed = at + chunk.length;
                }
                on.progress(at + chunk.length);
            });
            if (res.status === 200 || res.status === 201)
                return { object: JSON.parse(res.body), crc32c: hasher.toString() };
            const { message, reason } = (0,gcp_errors/* googleErrorMessage */.L4)(res.status, res.body);
            throw new gcp_errors/* GcpApiError */.FL(message, res.status, reason);
        }, on.signal, what);
    }
    catch (err) {
        if (on.signal?.aborted)
            throw err;
        throw storageError(what, err);
    }
    finally {
        await fh.close();
    }
}
/** Finishing after a status query said "complete" is only possible when every byte was hashed. */
async function wholeFileCrc(hasher, hashed, size, path, signal) {
    return hashed === size ? hasher.toString() : fileCrc32c(path, signal);
}
/** One PUT of bytes [offset, size) through reused buffers; resolves with the response status and body. */
function putRange(uri, fh, offset, size, on, onChunk) {
    return new Promise((resolve, reject) => {
        if (on.signal?.aborted)
            return reject(on.signal.reason);
        const url = new URL(uri);
        const send = url.protocol === 'https:' ? external_node_https_.request : external_node_http_.request;
        const range = size === 0 ? 'bytes */0' : `bytes ${offset}-${size - 1}/${size}`;
        const req = send(url, {
            method: 'PUT',
            headers: { 'content-length': size - offset, 'content-range': range },
        });
        let settled = false;
        let bodySent = false;
        // An interrupted run drops the request: the session stays unfinished and no object is created.
        const onAbort = () => fail(on.signal?.reason);
        const fail = (err) => {
            if (settled)
                return;
            settled = true;
            on.signal?.removeEventListener('abort', onAbort);
            req.destroy();
            reject(err);
        };
        on.signal?.addEventListener('abort', onAbort, { once: true });
        req.on('error', fail);
        // A stalled connection counts as broken: the caller resumes from what the session holds.
        req.setTimeout(IDLE_TIMEOUT_MS, () => fail(Object.assign(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000}s`), { code: 'ETIMEDOUT' })));
        req.on('response', (res) => {
            const parts = [];
            res.on('data', (d) => parts.push(d));
            res.on('error', fail);
            res.on('end', () => {
                if (settled)
                    return;
                settled = true;
                on.signal?.removeEventListener('abort', onAbort);
                // An answer before the whole body was sent (an error, a precondition): drop the half-sent request
                // rather than leave a connection that still owes its Content-Length.
                if (!bodySent)
                    req.destroy();
                resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') });
            });
        });
        (async () => {
            // A buffer is read into again only once the socket has taken the previous write from it.
            const reached = await readAhead(fh, { from: offset, to: size }, (chunk, at) => {
                onChunk(chunk, at);
                const end = at + chunk.length;
                return new Promise((done) => req.write(chunk, (err) => {
                    if (!err)
                        on.sent(end);
                    done();
                }));
            }, () => settled);
            if (settled)
                return;
            if (reached < size)
                throw new Error(`${size - reached} bytes short of the ${size} the file had when the upload started`);
            bodySent = true;
            req.end();
        })().catch(fail);
    });
}
/** A status query (`Content-Range: bytes *\/N`): how many bytes the session holds, or the object when complete. */
async function queryCommitted(uri, size, signal) {
    const res = await fetch(uri, {
        method: 'PUT',
        headers: { 'content-range': `bytes */${size}`, 'content-length': '0' },
        signal,
    });
    const body = await res.text();
    if (res.status === 200 || res.status === 201)
        return { committed: size, done: JSON.parse(body) };
    if (res.status !== 308) {
        const { message, reason } = (0,gcp_errors/* googleErrorMessage */.L4)(res.status, body);
        throw new gcp_errors/* GcpApiError */.FL(message, res.status, reason);
    }
    const m = /bytes=0-(\d+)/.exec(res.headers.get('range') ?? '');
    return { committed: m ? Number(m[1]) + 1 : 0 };
}

;// CONCATENATED MODULE: ./src/gcp/upload.ts






/**
 * Uploads the tarball resumably, CRC32C-validated end to end. The library opens the session (auth,
 * metadata, preconditions); `putSession` streams the bytes in one request (behind an HTTP proxy the
 * library sends them). `ifGenerationMatch: 0` makes it create-only: an object already at the name is
 * reused when it is this build's and stops the run otherwise (see checkObjectName); none is ever
 * replaced. The content type is tar and there is never a gzip Content-Encoding: GCE refuses
 * gzip-encoded objects.
 */
async function uploadImageObject(storage, opts) {
    const file = storage.bucket(opts.bucket).file(opts.object);
    const size = (await (0,promises_.stat)(opts.file)).size;
    opts.onSent?.(0, size);
    const existing = opts.checked !== undefined ? opts.checked : await checkObjectName(storage, opts);
    if (existing) {
        opts.reporter.info(`gs://${opts.bucket}/${opts.object} already holds these bytes (CRC32C ${existing.crc32c}), stored by an earlier run of this build; not uploading again.`);
        return result(opts, existing.generation, existing.crc32c, size, true);
    }
    const what = `uploading to gs://${opts.bucket}/${opts.object}`;
    const failed = (err) => {
        throw err instanceof gcp_errors/* GcpApiError */.FL ? err : storageError(what, err);
    };
    const started = Date.now();
    const upload = behindProxy()
        ? storageCall(storage, what, () => libraryUpload(storage, opts, size), opts.signal)
        : leanUpload(storage, file, opts, size);
    const sent = await upload.catch(async (err) => {
        // Interrupted: the signal's reason, not an upload failure.
        if (opts.signal?.aborted)
            throw err;
        // 412: someone stored an object at this name since the check above (uploads are create-only). It
        // is used only when it is this build's; anything else stops the run, as it would have before.
        if (statusOf(err) !== 412)
            return failed(err);
        const now = await checkObjectName(storage, opts, true);
        if (!now)
            return failed(err);
        opts.reporter.info(`Another run of this build stored its bytes at gs://${opts.bucket}/${opts.object} meanwhile; using that object.`);
        return { ...now, reused: true };
    });
    if ('reused' in sent)
        return result(opts, sent.generation, sent.crc32c, size, true);
    const seconds = (Date.now() - started) / 1000;
    opts.reporter.info(`Uploaded ${(size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)}s (${(size / 2 ** 20 / Math.max(seconds, 0.001)).toFixed(0)} MiB/s), CRC32C ${sent.crc32c}.`);
    return result(opts, sent.generation, sent.crc32c, size, false);
}
/**
 * The object already at the upload's name, when it is this build's (our metadata, the tarball's CRC32C
 * and size), to be reused; undefined when there is none. Any other object stops the run with a message
 * naming it, before anything is written: it is never replaced or deleted. A read, and a hash of the
 * tarball only when the metadata says the object is ours. `meanwhile`: the object appeared after an
 * earlier check (the upload met 412), which the message says.
 */
async function checkObjectName(storage, opts, meanwhile = false) {
    const uri = `gs://${opts.bucket}/${opts.object}`;
    const taken = (why) => objectNameTaken(uri, meanwhile ? `stored by someone else meanwhile: ${why}` : why);
    const existing = await objectMetadata(storage, storage.bucket(opts.bucket).file(opts.object), opts.signal);
    if (!existing)
        return undefined;
    const owner = notOurMetadata(existing, opts.metadata);
    if (owner)
        throw taken(owner);
    const crc32c = await fileCrc32c(opts.file, opts.signal);
    const size = (await (0,promises_.stat)(opts.file)).size;
    const why = notThisBuilds(existing, { metadata: opts.metadata, crc32c, size });
    if (why)
        throw taken(why);
    return { generation: existing.generation, crc32c };
}
/** Create-only, always: an object that appears meanwhile fails the upload with 412, never is replaced. */
const CREATE_ONLY = 0;
/**
 * An HTTP(S) proxy in the environment: gaxios (the library's transport) honours it and NO_PROXY, our PUT
 * does not, so behind a proxy the library sends the bytes, slower but through the proxy.
 */
function behindProxy() {
    const env = process.env;
    return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}
/**
 * The library's own single-request resumable upload, CRC32C-validated by the library. Run inside
 * storageCall, which stops waiting for it when the run is interrupted (the library takes no signal).
 */
async function libraryUpload(storage, opts, size) {
    const [uploaded] = await storage.bucket(opts.bucket).upload(opts.file, {
        destination: opts.object,
        resumable: true,
        validation: 'crc32c',
        gzip: false,
        preconditionOpts: { ifGenerationMatch: CREATE_ONLY },
        metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
        onUploadProgress: (e) => {
            opts.onSent?.(e.bytesWritten, size);
            opts.reporter.progress('upload', e.bytesWritten, size);
        },
    });
    return { generation: String(uploaded.metadata.generation), crc32c: String(uploaded.metadata.crc32c) };
}
/** The library opens the session; `putSession` sends the bytes; the stored CRC32C and size are checked. */
async function leanUpload(storage, file, opts, size) {
    const target = `gs://${opts.bucket}/${opts.object}`;
    // A new session per attempt is harmless: an unused one expires; the precondition keeps it create-only.
    const [uri] = await storageCall(storage, `starting the upload to ${target}`, () => file.createResumableUpload({
        preconditionOpts: { ifGenerationMatch: CREATE_ONLY },
        metadata: { contentType: 'application/x-tar', metadata: opts.metadata },
    }), opts.signal);
    const sent = await putSession(uri, opts.file, size, policyOf(storage), `uploading to ${target}`, {
        progress: (done) => opts.reporter.progress('upload', done, size),
        sent: (done) => opts.onSent?.(done, size),
        signal: opts.signal,
    });
    if (sent.object.crc32c !== sent.crc32c || Number(sent.object.size) !== size) {
        // As the library does on a mismatch: remove the bad object, then fail.
        await deleteObject(storage, opts.bucket, opts.object, String(sent.object.generation)).catch(() => undefined);
        throw new gcp_errors/* GcpApiError */.FL(`uploading to ${target} failed: the stored object has CRC32C ${sent.object.crc32c} and ${sent.object.size} bytes, but the file has CRC32C ${sent.crc32c} and ${size} bytes; the object was deleted`, 0, 'FILE_NO_UPLOAD');
    }
    return { generation: String(sent.object.generation), crc32c: sent.crc32c };
}
function result(opts, generation, crc32c, size, reused) {
    return {
        bucket: opts.bucket,
        name: opts.object,
        gcsUri: `gs://${opts.bucket}/${opts.object}`,
        generation,
        crc32c,
        size,
        reused,
    };
}

// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/inputs/image-name.ts
var image_name = __webpack_require__(1722);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: ./src/inputs/module-file.ts
var module_file = __webpack_require__(5832);
// EXTERNAL MODULE: ./src/inputs/git.ts
var git = __webpack_require__(7985);
;// CONCATENATED MODULE: ./src/nix/flake-ref.ts




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
        if ((0,git/* isInside */.FK)(target, workspace) || (0,git/* isInside */.FK)(workspace, target)) {
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
    const top = (0,git/* gitTopLevel */.oB)(dir);
    if (top === undefined) {
        if ((0,git/* isInside */.FK)(dir, workspace) || (0,git/* isInside */.FK)(workspace, dir)) {
            throw new errors/* UserError */.f(`The ${input} input "${flake}" is a directory of the workspace that is not a git repository; only git-tracked files may enter the Nix store (credential files live in the workspace), so check it out with git.`, input);
        }
        return `path:${dir}`;
    }
    const sub = (0,external_node_path_.relative)(top, dir);
    if (!(0,git/* isTracked */.Xz)(top, sub === '' ? 'flake.nix' : `${sub}/flake.nix`)) {
        throw new errors/* UserError */.f(`The ${input} input "${flake}" has a flake.nix that git does not track; Nix only sees git-tracked files, so git add it.`, input);
    }
    return `git+file://${top}${sub === '' ? '' : `?dir=${encodeURIComponent(sub).replaceAll('%2F', '/')}`}`;
}

// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
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
 * Both paths from one evaluation. The keys are not drvPath/outPath: an attribute set holding `outPath`
 * prints as that string in JSON. Evaluating drvPath writes the .drv into the store, which is what the
 * build then realises.
 */
const DRV_AND_OUT = 'd: { drv = d.drvPath; out = d.outPath; }';
/** Evaluates, then builds, the image (see evaluateImage and realiseImage). */
async function buildImage(opts, reporter, signal) {
    return realiseImage(await evaluateImage(opts, reporter, signal), reporter, signal);
}
/**
 * Evaluates the image's derivation and output path without building anything: mode (a) through a
 * builder flake's `builders.<system>.gceImage`, or mode (b) from the user's flake (`flakeAttr`). Always
 * through a generated wrapper flake whose only inputs are the target flake and copies of the extra
 * module files, so the evaluation is pure and no other workspace file (such as gha-creds-*.json) can
 * reach the world-readable store. The output path is the image's identity, known before any build.
 */
async function evaluateImage(opts, reporter, signal) {
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
        const installable = `path:${wrapperDir}#image`;
        // `--` ends option parsing: nothing after it is read as an option, whatever the path holds.
        const evalCommand = [nix, ...FLAKES, 'eval', '--json', '--apply', DRV_AND_OUT, '--', installable];
        const description = describe(target, opts);
        reporter.info(`Evaluating ${description} with ${modules.length} extra module(s)`);
        const result = await run(evalCommand[0] ?? nix, evalCommand.slice(1), {
            signal,
            onStderrLine: (line) => reporter.log(line),
            tailLines: 200,
        });
        // The command a user runs to reproduce a failure: it builds from the kept wrapper flake.
        const command = [nix, ...FLAKES, 'build', '--no-link', '--print-build-logs', installable];
        if (result.code !== 0) {
            const code = wrapperErrorCode(result.stderrTail);
            if (code)
                throw wrapperError(code, target, opts);
            keepWrapper = true;
            throw await buildFailure(nix, command, result.stderrTail, signal);
        }
        const paths = parseEvalJson(result.stdout, evalCommand);
        reporter.info(`Evaluated ${paths.storePath} (${paths.drvPath})`);
        const evaluated = { ...paths, flakeRef, command, nixBin: nix, description };
        if (flakeRev !== undefined)
            evaluated.flakeRev = flakeRev;
        return evaluated;
    }
    finally {
        if (!keepWrapper)
            await (0,promises_.rm)(wrapperDir, { recursive: true, force: true });
    }
}
/**
 * Builds exactly the evaluated derivation with `nix-store --realise <drv>`, a command every Nix 2 release
 * has. Nix 2.8 refuses `nix build <drv>^out` and `<drv>!out` (checked), and newer Nix reads a bare `.drv`
 * argument of `nix build` as the derivation file itself rather than its outputs.
 */
async function realiseImage(evaluated, reporter, signal) {
    const command = [nixStoreBin(evaluated.nixBin), '--realise', evaluated.drvPath];
    reporter.info(`Building ${evaluated.description}`);
    const result = await run(command[0] ?? 'nix-store', command.slice(1), {
        signal,
        onStderrLine: (line) => reporter.log(line),
        tailLines: 200,
    });
    if (result.code !== 0)
        throw await buildFailure(evaluated.nixBin, command, result.stderrTail, signal);
    const outputs = result.stdout.split('\n').filter((l) => l.startsWith('/nix/store/'));
    if (!outputs.includes(evaluated.storePath)) {
        throw new errors/* UserError */.f(`${shellQuote(command)} built ${outputs.join(', ') || 'nothing'}, not the evaluated ${evaluated.storePath}.`, undefined, errors/* ExitCode */.y.NixFailed);
    }
    const { nixBin: _nix, description: _d, ...built } = evaluated;
    reporter.info(`Built ${built.storePath}`);
    return { ...built, command };
}
/** `nix-store` next to the `nix` in use (an installed Nix is not always on PATH). */
function nixStoreBin(nix) {
    return nix.includes('/') ? (0,external_node_path_.join)((0,external_node_path_.dirname)(nix), 'nix-store') : 'nix-store';
}
/** Checks the extra module files by the same rule as config.ts (see inputs/module-file.ts): say it clearly here too. */
async function checkModules(extraModules, workspace) {
    return extraModules.map((m) => {
        const checked = (0,module_file/* checkModuleFile */.r)(m, workspace);
        if ('broken' in checked)
            throw new errors/* UserError */.f(`Input "extra-modules" ${checked.broken} (got ${JSON.stringify(m)}).`, 'extra-modules');
        return checked.path;
    });
}
/** The flake's revision from `nix flake metadata`; also a clear early error when the flake cannot be fetched. */
async function flakeRevision(nix, flakeRef, opts, reporter, signal) {
    // Never write the lock: on a local flake without one, `flake metadata` would create and git-add it
    // in the user's checkout. The lock changes only through a reviewed commit.
    const result = await run(nix, [...FLAKES, 'flake', 'metadata', '--no-write-lock-file', '--json', '--', flakeRef], { signal });
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
        const log = await run(nix, [...FLAKES, 'log', '--', drv], { signal, tailLines: LOG_TAIL_LINES }).catch(() => undefined);
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
function parseEvalJson(stdout, command) {
    try {
        const { drv, out } = JSON.parse(stdout);
        if (typeof drv === 'string' && typeof out === 'string' && drv.endsWith('.drv'))
            return { storePath: out, drvPath: drv };
    }
    catch {
        // fall through
    }
    throw new errors/* UserError */.f(`${shellQuote(command)} printed no derivation and output path (got: ${stdout.slice(0, 200)}).`, undefined, errors/* ExitCode */.y.NixFailed);
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
 * Reads `<output>/nix-support/gce-image.json`. Without it (a prebuilt image-file, or a builder that does
 * not write it), what the inputs leave open is assumed to be X86_64 and BIOS, with a warning naming the
 * inputs that change it; a malformed file is an error, since guessing could publish an unbootable image.
 */
async function readImageFacts(outputDir, reporter, given = { guestOsFeatures: [] }) {
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
        return assumedFacts(outputDir, given, reporter);
    }
    return parseImageFacts(text, path, reporter, given.architecture);
}
function assumedFacts(outputDir, given, reporter) {
    const architecture = given.architecture ?? 'X86_64';
    // Arm images on Compute Engine boot only with UEFI.
    const efi = architecture === 'ARM64' || given.guestOsFeatures.includes('UEFI_COMPATIBLE');
    const assumed = [];
    const changes = [];
    if (given.architecture === undefined) {
        assumed.push('an X86_64 image');
        changes.push('set architecture: ARM64');
    }
    if (!efi) {
        assumed.push(assumed.length > 0 ? 'that boots with BIOS' : 'an image that boots with BIOS');
        changes.push('add UEFI_COMPATIBLE to guest-os-features');
    }
    if (assumed.length > 0) {
        const subject = given.imageFile
            ? `The image-file ${given.imageFile} comes without a ${IMAGE_FACTS_FILE} beside it`
            : `The build output ${outputDir} has no ${IMAGE_FACTS_FILE}`;
        reporter.warn(`${subject}, so it is published as ${assumed.join(' ')}; if that is wrong, ${changes.join(' or ')}.`);
    }
    return { efi, architecture, fromFile: false };
}
/**
 * Validates the file's JSON. The architecture input, when set, overrides the file's, so it also decides
 * whether the image must be UEFI.
 */
function parseImageFacts(text, path, reporter, givenArchitecture) {
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
    const fileArch = architecture;
    const arch = givenArchitecture ?? fileArch;
    // Arm images on GCE boot only through UEFI (docs/architecture.md, "The image builder's output").
    if (arch === 'ARM64' && !efi)
        reporter.warn(`The image facts file ${path} says ${fileArch} without efi${fileArch === arch ? '' : `, but the architecture input is ${arch}`}; ARM64 images are always UEFI, so UEFI_COMPATIBLE is set.`);
    const facts = { efi: efi || arch === 'ARM64', architecture: arch, fromFile: true };
    if (nixos !== undefined)
        facts.nixos = nixos;
    return facts;
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(8522);
// EXTERNAL MODULE: external "node:v8"
var external_node_v8_ = __webpack_require__(8877);
// EXTERNAL MODULE: external "node:vm"
var external_node_vm_ = __webpack_require__(714);
;// CONCATENATED MODULE: ./src/young-garbage.ts


/**
 * A minor (young-generation) garbage collection, for a loop that makes many short-lived Buffers it
 * cannot reuse, such as gunzip's output pieces. A Buffer's memory is freed only when V8 collects the
 * Buffer object, and V8 starts a collection for such memory only once about 64 MB of it has piled up:
 * that pile was a third of a whole publish's peak RSS. A minor collection of a small young generation
 * is cheap: with one every 8 MiB, the identity pass got no slower (bench/README.md, §2c).
 *
 * V8's `gc` function is taken from a fresh context with --expose-gc set only for that moment, so no
 * `gc` global appears in this process. Where V8 refuses the flag, this does nothing.
 */
function collectYoungGarbage() {
    minorGc ??= takeMinorGc();
    minorGc();
}
let minorGc;
function takeMinorGc() {
    try {
        (0,external_node_v8_.setFlagsFromString)('--expose-gc');
        const gc = (0,external_node_vm_.runInNewContext)('gc');
        if (typeof gc === 'function')
            return () => gc({ type: 'minor' });
    }
    catch {
        // Fall through: collecting early is an optimisation, never a requirement.
    }
    finally {
        (0,external_node_v8_.setFlagsFromString)('--no-expose-gc');
    }
    return () => { };
}

;// CONCATENATED MODULE: ./src/nix/tar-walk.ts

const BLOCK = 512;
/** GNU long names are short in practice; a huge one means a corrupt or hostile file. */
const MAX_LONG_NAME = 64 * 1024;
const GNU_MAGIC = 'ustar  \0';
/**
 * A streaming walk over the decompressed tar of an image tarball, judged as GCE judges it (GNU or old-GNU,
 * one member disk.raw, regular or GNU-sparse): it is fed the bytes in pieces and keeps only one 512-byte
 * block (or a long name) at a time. Member data is skipped by counting, never copied.
 */
class TarWalker {
    path;
    state = { kind: 'header' };
    block = Buffer.alloc(BLOCK);
    filled = 0;
    longName = [];
    pendingName;
    member;
    /** For a GNU-sparse member: the sum of its map's chunk sizes, which must equal its stored size. */
    sparseStored = 0;
    storedSize = 0;
    zeroBlocks = 0;
    constructor(path) {
        this.path = path;
    }
    push(chunk) {
        let at = 0;
        while (at < chunk.length) {
            const state = this.state;
            if (state.kind === 'data') {
                const take = Math.min(state.left, chunk.length - at);
                state.left -= take;
                at += take;
                if (state.left === 0)
                    this.state = { kind: 'trailer' };
                continue;
            }
            const take = Math.min(BLOCK - this.filled, chunk.length - at);
            chunk.copy(this.block, this.filled, at, at + take);
            this.filled += take;
            at += take;
            if (this.filled < BLOCK)
                return;
            this.filled = 0;
            this.onBlock(this.block);
        }
    }
    /** Called when the stream ended: the archive must be complete. */
    end() {
        const truncated = (what) => new errors/* UserError */.f(`The image tarball ${this.path} is truncated (${what}); rebuild it or copy it again.`);
        if (this.filled !== 0)
            throw truncated('it ends inside a 512-byte tar block');
        switch (this.state.kind) {
            case 'header':
                if (this.member === undefined && this.pendingName === undefined)
                    throw new errors/* UserError */.f(`The image tarball ${this.path} holds no tar member; GCE needs one member named disk.raw.`);
                throw truncated('it ends after a GNU long-name entry');
            case 'long-name':
                throw truncated('it ends inside a GNU long-name entry');
            case 'sparse-extension':
                throw truncated('it ends inside the sparse map of disk.raw');
            case 'data':
                throw truncated(`${this.state.left} bytes of disk.raw are missing`);
            case 'trailer':
                if (this.zeroBlocks < 2)
                    throw truncated('the two zero blocks that end a tar archive are missing');
                return this.member;
        }
    }
    onBlock(block) {
        const state = this.state;
        switch (state.kind) {
            case 'trailer':
                if (!isZero(block))
                    throw this.secondMember(block);
                this.zeroBlocks++;
                return;
            case 'long-name':
                this.longName.push(Buffer.from(block.subarray(0, Math.min(BLOCK, state.left))));
                state.left -= Math.min(BLOCK, state.left);
                if (state.left === 0) {
                    if (state.typeflag === 'L')
                        this.pendingName = cString(Buffer.concat(this.longName));
                    this.longName = [];
                    this.state = { kind: 'header' };
                }
                return;
            case 'sparse-extension':
                for (let i = 0; i < 21; i++)
                    this.sparseStored += readNumber(block, i * 24 + 12, 12);
                if (block[504] === 0)
                    this.startData();
                return;
            case 'header':
                this.onHeader(block);
                return;
            case 'data':
                return; // push() skips data without calling here
        }
    }
    onHeader(header) {
        const path = this.path;
        if (isZero(header)) {
            if (this.pendingName !== undefined)
                throw new errors/* UserError */.f(`The image tarball ${path} is truncated (a GNU long name without its member).`);
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
            this.state = size === 0 ? { kind: 'header' } : { kind: 'long-name', typeflag, left: size };
            return;
        }
        const member = this.pendingName ?? cString(header.subarray(0, 100));
        this.pendingName = undefined;
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
        // For a GNU-sparse member the size field is what the archive stores (the map's chunks); the real
        // size of the disk is in the old-GNU header's realsize field.
        this.storedSize = readNumber(header, 124, 12);
        const size = type === 'gnu-sparse' ? readNumber(header, 483, 12) : this.storedSize;
        this.member = { member, format, type, size };
        if (type === 'gnu-sparse') {
            for (let i = 0; i < 4; i++)
                this.sparseStored += readNumber(header, 386 + i * 24 + 12, 12);
            if (header[482] !== 0) {
                this.state = { kind: 'sparse-extension' };
                return;
            }
        }
        this.startData();
    }
    startData() {
        if (this.member?.type === 'gnu-sparse' && this.sparseStored !== this.storedSize) {
            throw new errors/* UserError */.f(`The image tarball ${this.path} has a corrupt sparse map for disk.raw (its chunks add up to ${this.sparseStored} bytes, the header says ${this.storedSize}).`);
        }
        const padded = Math.ceil(this.storedSize / BLOCK) * BLOCK;
        this.state = padded === 0 ? { kind: 'trailer' } : { kind: 'data', left: padded };
    }
    /** A non-zero block after disk.raw: a second member (named when its header is one), or garbage. */
    secondMember(block) {
        const looksLikeHeader = headerChecksumOk(block);
        const what = looksLikeHeader
            ? `a second member "${cString(block.subarray(0, 100))}"`
            : this.zeroBlocks === 0
                ? 'data after disk.raw that is not a tar header (a corrupt header, or disk.raw longer than its header says)'
                : 'data after the end of the archive';
        return new errors/* UserError */.f(`The image tarball ${this.path} holds ${what}; GCE needs disk.raw as the only member. Rebuild the tarball with disk.raw alone.`);
    }
}
function isZero(block) {
    for (let i = 0; i < block.length; i++)
        if (block[i] !== 0)
            return false;
    return true;
}
function checkHeaderChecksum(path, header) {
    if (!headerChecksumOk(header))
        throw new errors/* UserError */.f(`The image tarball ${path} has a corrupt tar header (checksum mismatch).`);
}
/** The header checksum, summed over unsigned bytes (or signed, as some old tars did) with the field as spaces. */
function headerChecksumOk(header) {
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
        const byte = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
        unsigned += byte;
        signed += byte > 127 ? byte - 256 : byte;
    }
    const stored = readNumber(header, 148, 8);
    return stored === unsigned || stored === signed;
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

;// CONCATENATED MODULE: ./src/nix/image-file.ts









const TARBALL_SUFFIX = '.raw.tar.gz';
/** How deep below the output directory to look (nixpkgs puts it at the top; some builders nest it). */
const SEARCH_DEPTH = 2;
/**
 * Finds the single `*.raw.tar.gz` in a build output. The name is globbed, never parsed: it includes
 * `google-compute` since NixOS 24.11 (docs/architecture.md, "The NixOS runner image").
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
/**
 * Size of gunzip's output pieces. Each piece is a round trip to the thread pool: at Node's default of
 * 16 KiB the pass took several times as long as at 1 MiB (bench/README.md, §2c).
 */
const INFLATE_CHUNK = 1024 * 1024;
/**
 * gunzip makes a fresh buffer for every output piece; a minor collection after each this many inflated
 * bytes frees them, where V8 on its own waits for about 64 MB of them (bench/README.md, §2).
 */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
/**
 * Checks the whole image tarball against what GCE accepts: gzip, then a GNU or
 * old-GNU tar whose only member is `disk.raw` (regular or GNU-sparse, after any GNU long-name entry),
 * every header checksum right, the member's data complete, and the two zero end blocks with nothing but
 * zeros after them. One read of the file; `sha256` hashes the same bytes on the way, so the identity of
 * a prebuilt tarball costs no second pass. A wrong first header fails at once, without reading on.
 */
async function inspectImageTarball(path, opts = {}) {
    const magic = await readFirstBytes(path, 2);
    if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
        throw new errors/* UserError */.f(`The image tarball ${path} is not gzip-compressed; GCE needs a gzip'd GNU tar holding disk.raw.`);
    }
    const hash = opts.sha256 ? (0,external_node_crypto_.createHash)('sha256') : undefined;
    const walker = new TarWalker(path);
    try {
        await readThroughGunzip(path, hash, walker, opts.signal);
    }
    catch (err) {
        if (err instanceof errors/* UserError */.f)
            throw err;
        if (err.name === 'AbortError')
            throw err;
        const code = err.code ?? '';
        if (code.startsWith('Z_'))
            throw new errors/* UserError */.f(`The image tarball ${path} is not valid gzip data or is truncated (${err.message}).`);
        throw new errors/* UserError */.f(`Cannot read the image tarball ${path}: ${err.message}.`);
    }
    const check = walker.end();
    return hash ? { check, sha256: hash.digest('hex') } : { check };
}
/**
 * The one read: the file goes through readAhead's reused buffers (a fresh buffer per read would leave
 * garbage that the GC collects late, which showed as tens of MB of peak RSS), each hashed and handed to
 * gunzip; a buffer is read into again only once zlib has consumed it. zlib inflates on the thread pool
 * while the next buffer is read and hashed here.
 */
async function readThroughGunzip(path, hash, walker, signal) {
    const file = await (0,promises_.open)(path, 'r');
    const gunzip = (0,external_node_zlib_.createGunzip)({ chunkSize: INFLATE_CHUNK });
    let failure;
    const fail = (err) => {
        failure ??= err;
        gunzip.destroy();
    };
    let inflatedSinceCollect = 0;
    gunzip.on('data', (chunk) => {
        inflatedSinceCollect += chunk.length;
        if (inflatedSinceCollect >= COLLECT_EVERY_BYTES) {
            inflatedSinceCollect = 0;
            collectYoungGarbage();
        }
        if (failure === undefined) {
            try {
                walker.push(chunk);
            }
            catch (err) {
                fail(err);
            }
        }
    });
    gunzip.on('error', fail);
    const closed = new Promise((resolve) => gunzip.once('close', resolve));
    try {
        await readAhead(file, { from: 0 }, (piece) => {
            hash?.update(piece);
            // A gunzip that failed and closed never calls back: the close frees the buffer then.
            return Promise.race([new Promise((resolve) => gunzip.write(piece, resolve)), closed]);
        }, () => {
            if (failure !== undefined)
                return true;
            signal?.throwIfAborted();
            return false;
        });
        if (failure === undefined)
            gunzip.end();
        await closed;
    }
    finally {
        gunzip.destroy();
        await file.close();
    }
    if (failure !== undefined)
        throw failure;
}
/** The check alone (see inspectImageTarball). */
async function verifyImageTarball(path, signal) {
    return (await inspectImageTarball(path, { signal })).check;
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

// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
;// CONCATENATED MODULE: ./src/nix/installer-cache.ts





/**
 * Where downloaded Nix release tarballs are kept between runs. The installer runs as root, so the cache
 * must be one only this user can write: a tarball in it is still hashed before every use, and a directory
 * anyone else could write to is not used at all.
 */
function installerCacheDir(env) {
    const base = env.RUNNER_TOOL_CACHE || env.XDG_CACHE_HOME || (0,external_node_path_.join)(env.HOME || (0,external_node_os_.homedir)(), '.cache');
    return (0,external_node_path_.join)(base, 'nix-glab-runner');
}
/**
 * Makes `dir` a private directory: creates it 0700, or accepts an existing real directory (never a symlink)
 * owned by this user that neither group nor others can write, narrowing its mode to 0700. Returns why
 * not otherwise; the caller then works without a cache.
 */
async function privateDir(dir) {
    try {
        await (0,promises_.mkdir)(dir, { recursive: true, mode: 0o700 });
    }
    catch (err) {
        return `it cannot be created (${err.message})`;
    }
    const info = await (0,promises_.lstat)(dir);
    if (info.isSymbolicLink())
        return 'it is a symbolic link';
    if (!info.isDirectory())
        return 'it is not a directory';
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid)
        return `it belongs to user ${info.uid}, not to us (${uid})`;
    if ((info.mode & 0o022) !== 0) {
        return `group or others may write to it (mode ${(info.mode & 0o777).toString(8)}), so anything in it may be planted`;
    }
    if ((info.mode & 0o777) !== 0o700)
        await (0,promises_.chmod)(dir, 0o700);
    return undefined;
}
/**
 * Copies the cached tarball, if there is one, into `dest` without following a symlink. The copy, which
 * nobody else can change, is what the caller verifies and unpacks. False when there is none.
 */
async function copyCached(cacheDir, name, dest) {
    const handle = await (0,promises_.open)((0,external_node_path_.join)(cacheDir, name), external_node_fs_.constants.O_RDONLY | external_node_fs_.constants.O_NOFOLLOW).catch(() => undefined);
    if (!handle)
        return false;
    try {
        if (!(await handle.stat()).isFile())
            return false;
        await (0,external_node_stream_promises_.pipeline)(handle.createReadStream({ autoClose: false }), (0,external_node_fs_.createWriteStream)(dest, { mode: 0o600 }));
        return true;
    }
    finally {
        await handle.close();
    }
}
/** Stores a verified tarball in the cache: written beside its final name, then renamed into place. */
async function storeInCache(cacheDir, file, reporter) {
    const name = (0,external_node_path_.basename)(file);
    const partial = (0,external_node_path_.join)(cacheDir, `.${name}.${process.pid}.partial`);
    try {
        const handle = await (0,promises_.open)(file, external_node_fs_.constants.O_RDONLY);
        try {
            await (0,external_node_stream_promises_.pipeline)(handle.createReadStream({ autoClose: false }), (0,external_node_fs_.createWriteStream)(partial, { mode: 0o600 }));
        }
        finally {
            await handle.close();
        }
        await (0,promises_.rename)(partial, (0,external_node_path_.join)(cacheDir, name));
    }
    catch (err) {
        await (0,promises_.rm)(partial, { force: true });
        reporter.debug(`Could not cache ${name} in ${cacheDir}: ${err.message}`);
    }
}
/** Removes a cached tarball that failed verification, so the next run does not try it again. */
async function dropCached(cacheDir, name) {
    await (0,promises_.rm)((0,external_node_path_.join)(cacheDir, name), { force: true });
}

// EXTERNAL MODULE: ./src/nix/releases.ts
var releases = __webpack_require__(6757);
;// CONCATENATED MODULE: ./src/nix/install.ts









/** Nix 2.4 introduced flakes and the `extra-` setting prefix this stage relies on. */
const MIN_NIX = [2, 4];
/**
 * Makes a working, flake-enabled `nix` available. Uses an existing one unless `installNix` is
 * `always`; installs a pinned release only in CI (`auto`) or when asked (`always`), never on a laptop.
 * Configuration reaches our nix child processes through NIX_CONFIG (set on process.env). The nix.conf the
 * installer writes is world-readable, so access tokens (the GitHub token, and any in extra-nix-config) go
 * only to NIX_CONFIG, which only this user's processes can read.
 */
async function ensureNix(opts, reporter) {
    const onPath = await findOnPath('nix');
    const found = onPath ? await probeNix(onPath) : undefined;
    const action = decideInstall(opts.installNix, opts.ci, found);
    // Bad input stops the run before anything is downloaded or changed.
    const release = action === 'install'
        ? (0,releases/* nixRelease */.NW)(opts.nixVersion, (0,releases/* hostNixSystem */.N3)(), opts.nixSha256, opts.releasesUrl)
        : undefined;
    let nixBin = onPath ?? 'nix';
    let version = found?.version ?? '';
    // Before installing: the daemon enables the kvm system feature only if /dev/kvm is usable at start.
    const kvm = await ensureKvm(opts.ci, reporter);
    if (release) {
        nixBin = await installNix(opts.nixVersion, release, withoutAccessTokens(nixConfigText({ ...opts, githubToken: undefined, kvm })), reporter);
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
 * the user's extra config, and the GitHub token against API rate limits (docs/architecture.md, "GitHub Actions").
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
/** nix.conf text without access-tokens settings, for a file others can read. */
function withoutAccessTokens(text) {
    return text.replace(ACCESS_TOKENS_LINE, '');
}
const ACCESS_TOKENS_LINE = /^[ \t]*(?:extra-)?access-tokens[ \t]*=.*(?:\n|$)/gm;
/** NIX_CONFIG text safe to log: access tokens are replaced. */
function redactNixConfig(text) {
    return (text ?? '').replace(/^(\s*(?:extra-)?access-tokens\s*=).*$/gm, '$1 ***');
}
/** Streams a file through SHA-256 and compares with the expected hex digest. */
async function verifySha256(file, expected, what = file) {
    const want = expected.trim().toLowerCase();
    if (!(0,releases/* isSha256Hex */.P4)(want))
        throw new errors/* UserError */.f(`The expected SHA-256 for ${what} is not 64 hex digits: "${expected}".`, 'nix-version', errors/* ExitCode */.y.NixFailed);
    const got = await read_pieces_fileSha256(file);
    if (got !== want) {
        throw new errors/* UserError */.f(`${what} has SHA-256 ${got}, not the expected ${want}; refusing to install it.`, 'nix-version', errors/* ExitCode */.y.NixFailed);
    }
}
/**
 * Runs the release's installer, from a private copy of the tarball whose SHA-256 was checked just before:
 * from the cache when it holds the right file, else downloaded (with retries) and then cached.
 */
async function installNix(version, release, confText, reporter) {
    const tc = await __webpack_require__.e(/* import() */ 991).then(__webpack_require__.bind(__webpack_require__, 5991));
    // tool-cache needs it; GitLab CI and laptops do not set it. mkdtemp makes our work directory 0700.
    process.env.RUNNER_TEMP ||= (0,external_node_os_.tmpdir)();
    const work = await (0,promises_.mkdtemp)((0,external_node_path_.join)(process.env.RUNNER_TEMP, 'nix-glab-runner-install-'));
    const tarball = await verifiedTarball(release, work, reporter, (url, dest) => withRetries(3, () => tc.downloadTool(url, dest), reporter));
    const extracted = await tc.extractTar(tarball, (0,external_node_path_.join)(work, 'unpacked'), 'xJ');
    // The tarball holds one directory, nix-<version>-<system>, with the installer in it.
    const top = (await (0,promises_.readdir)(extracted)).find((e) => e.startsWith('nix-'));
    if (!top)
        throw new errors/* UserError */.f(`The Nix ${version} tarball from ${release.url} holds no nix-* directory.`, 'nix-version', errors/* ExitCode */.y.NixFailed);
    const dir = (0,external_node_path_.join)(extracted, top);
    // Multi-user where systemd runs (GitHub runners); single-user in containers (GitLab docker executors),
    // where build users and the namespace sandbox are usually unavailable.
    const daemon = await exists('/run/systemd/system');
    const confFile = (0,external_node_path_.join)(work, 'nix.conf');
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
/** A copy of the release tarball in `work` with the expected SHA-256: the cached one if good, else downloaded. */
async function verifiedTarball(release, work, reporter, download) {
    const name = (0,external_node_path_.basename)(release.url);
    const cacheDir = installerCacheDir(process.env);
    const unsafe = await privateDir(cacheDir);
    if (unsafe)
        reporter.warn(`Not using ${cacheDir} to cache the Nix installer: ${unsafe}.`);
    const copy = (0,external_node_path_.join)(work, name);
    if (!unsafe && (await copyCached(cacheDir, name, copy))) {
        try {
            await verifySha256(copy, release.sha256, `The cached ${(0,external_node_path_.join)(cacheDir, name)}`);
            reporter.info(`Using the cached ${name} (SHA-256 checked)`);
            return copy;
        }
        catch (err) {
            reporter.warn(`${err.message} Downloading it again.`);
            await dropCached(cacheDir, name);
            await (0,promises_.rm)(copy, { force: true });
        }
    }
    reporter.info(`Downloading ${release.url}`);
    await download(release.url, copy);
    await verifySha256(copy, release.sha256, `The download of ${release.url}`);
    if (!unsafe)
        await storeInCache(cacheDir, copy, reporter);
    return copy;
}
async function withRetries(attempts, fn, reporter) {
    for (let i = 1;; i++) {
        try {
            return await fn();
        }
        catch (err) {
            // A 404 or 403 will not change on a retry; a reset, a 5xx, 408 or 429 may.
            const status = err.httpStatusCode;
            const final = status !== undefined && status < 500 && status !== 408 && status !== 429;
            if (i >= attempts || final)
                throw new errors/* UserError */.f(`Downloading Nix failed after ${i} attempt${i === 1 ? '' : 's'}: ${err.message}.`, 'install-nix', errors/* ExitCode */.y.NixFailed);
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

;// CONCATENATED MODULE: ./src/image-source.ts
/**
 * The image of a publish before it is uploaded: its identity first (a prebuilt tarball checked and hashed in
 * one read, or a Nix image evaluated), then, only when needed, the build and the check of its tarball.
 */







/**
 * The image's identity. A prebuilt tarball is checked and, outside the store, hashed in one read; a Nix
 * image is only evaluated: its output path is its identity, so an unchanged build is found before it
 * is built.
 */
async function identifyImage(config, reporter, run, steps) {
    if (config.imageFile) {
        const tarball = config.imageFile;
        const storePath = storePathOf(tarball);
        steps.push({ stage: 'build', result: `prebuilt ${tarball}` });
        return reporter.group('Verify tarball', async () => {
            const pass = await inspectImageTarball(tarball, { sha256: !storePath, signal: run.signal });
            reportCheck(reporter, tarball, pass.check);
            const facts = await readImageFacts(storePath ?? (0,external_node_path_.dirname)(tarball), reporter, {
                imageFile: config.imageFile,
                architecture: config.architecture,
                guestOsFeatures: config.guestOsFeatures,
            });
            const nixHash = storePath
                ? storePathHash(storePath)
                : prebuiltIdentity(pass.sha256);
            return { nixHash, storePath, flakeRef: `file ${tarball}`, prepared: { tarball, facts } };
        });
    }
    const nix = await reporter.group('Ensure Nix', () => ensureNix({
        installNix: config.installNix,
        nixVersion: config.nixVersion,
        nixSha256: config.nixSha256,
        extraNixConfig: config.extraNixConfig,
        githubToken: config.githubToken,
        ci: run.env.CI === 'true',
    }, reporter));
    run.state?.building();
    const evaluated = await reporter.group('Evaluate image with Nix', () => evaluateImage({
        flake: config.flake,
        flakeAttr: config.flakeAttr,
        extraModules: config.extraModules,
        workspace: config.workspace,
        system: run.system ?? 'x86_64-linux',
        nixBin: nix.nixBin,
    }, reporter, run.signal));
    return {
        nixHash: storePathHash(evaluated.storePath),
        storePath: evaluated.storePath,
        flakeRef: evaluated.flakeRef,
        flakeRev: evaluated.flakeRev,
        evaluated,
    };
}
/** Builds exactly the evaluated derivation, then checks its tarball and reads its facts. */
async function buildAndCheck(source, config, reporter, run, steps) {
    const evaluated = source.evaluated;
    run.state?.building();
    const built = await reporter.group('Build image with Nix', () => realiseImage(evaluated, reporter, run.signal));
    steps.push({ stage: 'build', result: built.storePath });
    return reporter.group('Verify tarball', async () => {
        const tarball = await locateImageTarball(built.storePath);
        // The whole archive, before any upload: a bad one must leave nothing behind in the bucket.
        reportCheck(reporter, tarball, await verifyImageTarball(tarball, run.signal));
        const given = { architecture: config.architecture, guestOsFeatures: config.guestOsFeatures };
        return { tarball, facts: await readImageFacts(built.storePath, reporter, given) };
    });
}
function reportCheck(reporter, tarball, check) {
    reporter.info(`${tarball}: member ${check.member} alone, ${check.format} tar, ${check.type}, archive complete.`);
}
function imageName(config, nixHash, facts) {
    return (0,image_name/* renderImageName */.$X)(config.imageName ?? image_name/* DEFAULT_IMAGE_NAME */.Sz, {
        family: config.family,
        hash: nixHash,
        date: new Date().toISOString().slice(0, 10).replaceAll('-', ''),
        nixos: facts?.nixos ?? '',
    });
}

;// CONCATENATED MODULE: ./src/gcp/templates.ts




/** `projects/P/global/instanceTemplates/N` or `projects/P/regions/R/instanceTemplates/N`. */
const TEMPLATE_PATH = /^projects\/[^/]+\/(global|regions\/[^/]+)\/instanceTemplates\/[^/]+$/;
/** The scope part of a template path: `global` or `regions/R`. */
function templateScope(path) {
    const m = /^projects\/[^/]+\/(global|regions\/[^/]+)\//.exec(resourcePath(path));
    return m?.[1] ?? 'global';
}
/** The gcloud command that deletes the template at `path`; a regional one needs its --region. */
function deleteTemplateCommand(path) {
    const scope = templateScope(path);
    const region = scope.startsWith('regions/') ? ` --region ${lastSegment(scope)}` : '';
    return `gcloud compute instance-templates delete ${lastSegment(resourcePath(path))}${region}`;
}
/** Global and regional instance templates: read, create, delete, and list every one in the project. */
class Templates {
    rest;
    project;
    constructor(rest, project) {
        this.rest = rest;
        this.project = project;
    }
    get(ref) {
        const path = resourcePath(ref);
        if (!TEMPLATE_PATH.test(path))
            throw new Error(`"${ref}" is not an instance template path`);
        return this.rest.call({
            method: 'GET',
            path: `/${path}`,
            what: `reading instance template "${path}"`,
            allowNotFound: true,
        });
    }
    /** Creates a template in `scope` (`global` or `regions/R`) and waits until the operation is done. */
    async insert(scope, body, timeoutMs) {
        const what = `creating instance template "${body.name}"`;
        const op = await this.rest.call({
            method: 'POST',
            path: `/projects/${this.project}/${scope}/instanceTemplates`,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            body,
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
        const created = await this.get(`projects/${this.project}/${scope}/instanceTemplates/${body.name}`);
        if (!created)
            throw new Error(`${what}: the operation finished but the template does not exist`);
        return created;
    }
    async delete(ref, timeoutMs) {
        const path = resourcePath(ref);
        const what = `deleting instance template "${path}"`;
        const op = await this.rest.call({
            method: 'DELETE',
            path: `/${path}`,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
    /** Every template of the project, global and regional (aggregatedList, all pages). */
    async listAll() {
        return listAllPages((pageToken) => this.rest.call({
            method: 'GET',
            path: `/projects/${this.project}/aggregated/instanceTemplates`,
            query: { maxResults: 500, pageToken },
            what: `listing the instance templates of project "${this.project}"`,
        }), (res) => Object.values(res.items ?? {}).flatMap((scoped) => scoped.instanceTemplates ?? []));
    }
}
/** The boot disk's source image of a template, as given (URL, path or family). */
function bootImage(template) {
    const boot = (template.properties.disks ?? []).find((d) => d.boot === true) ?? template.properties.disks?.[0];
    return boot?.initializeParams?.sourceImage;
}
/** Whether the template boots `image`; a reference without a project names an image of `project`. */
function bootsImage(project, template, image) {
    const boot = bootImage(template);
    return boot !== undefined && imagePath(project, boot) === imagePath(project, image);
}

;// CONCATENATED MODULE: ./src/lifecycle/retention.ts
/**
 * Retention: keep the newest `keep` managed images of the family ACTIVE, deprecate or delete older ones.
 * Only images we labelled (managed-by=nix-glab-runner), READY and ACTIVE are counted or touched, so a
 * deprecated image is never undeprecated or counted, and an unmanaged one is never touched. An image in use
 * by any instance template of the project or of the projects in `retention-check-projects`, or by a disk of
 * the target group's instances, is kept.
 */






function isManaged(image) {
    return image.labels?.[MANAGED_BY_KEY] === MANAGED_BY;
}
/** Managed, READY, ACTIVE images of a family, newest first: the ones retention counts. */
function activeManaged(images) {
    return images
        .filter((i) => isManaged(i) && isCurrent(i))
        .sort((a, b) => Date.parse(b.creationTimestamp) - Date.parse(a.creationTimestamp) || (a.name < b.name ? 1 : -1));
}
/**
 * What retention does to each counted image. Pure: `inUse` maps image names to what uses them. The newest
 * `keep` stay, so the family always keeps an ACTIVE image (keep ≥ 1).
 */
function decideRetention(images, inUse, policy, nowMs) {
    const counted = activeManaged(images);
    return counted.map((image, index) => {
        if (index < policy.keep)
            return { image: image.name, action: 'keep', reason: `among the newest ${policy.keep}` };
        const user = inUse.get(image.name);
        if (user)
            return { image: image.name, action: 'keep', reason: `in use by ${user}` };
        const ageSeconds = (nowMs - Date.parse(image.creationTimestamp)) / 1000;
        if (policy.minAge !== undefined && ageSeconds < policy.minAge) {
            return {
                image: image.name,
                action: 'keep',
                reason: `younger than min-age (${Math.floor(ageSeconds)}s old)`,
            };
        }
        return { image: image.name, action: policy.retention, reason: `older than the newest ${policy.keep}` };
    });
}
/**
 * Images of the project in use: by any instance template of the project or of the other projects named in
 * `retention-check-projects` (global or regional; a family reference counts as its newest image), and by
 * the boot disks of the target group's instances. Name → what uses it.
 */
async function imagesInUse(clients, group) {
    const used = new Map();
    const ours = `projects/${clients.project}/global/images/`;
    const families = new Map();
    const templates = [];
    for (const source of [clients.templates, ...clients.otherProjectTemplates]) {
        for (const template of await source.listAll())
            templates.push({ template, project: source.project });
    }
    for (const { template, project } of templates) {
        const source = bootImage(template);
        if (!source)
            continue;
        // A reference without a project names an image of the template's own project.
        const path = imagePath(project, source);
        if (!path.startsWith(ours))
            continue;
        let name = path.slice(ours.length);
        if (name.startsWith('family/')) {
            const family = name.slice('family/'.length);
            if (!families.has(family)) {
                const newest = family === clients.family.family ? await clients.family.newest() : undefined;
                families.set(family, newest?.name);
            }
            const resolved = families.get(family);
            if (!resolved)
                continue;
            name = resolved;
        }
        const of = project === clients.project ? '' : ` of project ${project}`;
        if (!used.has(name))
            used.set(name, `instance template ${template.name}${of}`);
    }
    if (group) {
        for (const member of await clients.groups.listManaged(group)) {
            const { zone, name } = instanceLocation(member);
            const instance = await clients.instances.get(zone, name);
            const boot = instance?.disks?.find((d) => d.boot) ?? instance?.disks?.[0];
            if (!boot?.source)
                continue;
            const disk = await clients.instances.getDisk(zone, lastSegment(resourcePath(boot.source)));
            if (!disk?.sourceImage)
                continue;
            const path = resourcePath(disk.sourceImage);
            if (path.startsWith(ours) && !used.has(lastSegment(path)))
                used.set(lastSegment(path), `the disk of instance ${name}`);
        }
    }
    return used;
}
/** Applies retention to the family (or, with dryRun, only plans it). */
async function prune(clients, opts, reporter) {
    const images = await clients.family.list();
    if (opts.pending && opts.dryRun) {
        images.push({
            name: opts.pending,
            selfLink: imagePath(clients.project, opts.pending),
            status: 'READY',
            creationTimestamp: new Date(opts.nowMs ?? Date.now()).toISOString(),
            labels: { [MANAGED_BY_KEY]: MANAGED_BY },
        });
    }
    const counted = activeManaged(images);
    const result = { deprecated: [], deleted: [], plan: [] };
    if (counted.length <= opts.keep) {
        reporter.info(`Family ${clients.family.family} has ${counted.length} managed ACTIVE image(s), keep is ${opts.keep}: nothing to prune.`);
        result.plan.push({
            action: 'nothing',
            resource: clients.family.family,
            detail: `${counted.length} managed ACTIVE image(s), keep ${opts.keep}`,
        });
        return result;
    }
    const inUse = await imagesInUse(clients, opts.group);
    const decisions = decideRetention(images, inUse, opts, opts.nowMs ?? Date.now());
    const newest = counted[0];
    for (const d of decisions) {
        if (d.image === opts.pending)
            continue;
        result.plan.push({
            action: d.action,
            resource: d.image,
            detail: d.action === 'deprecate' ? `${d.reason}; replacement ${newest.name}` : d.reason,
        });
        if (d.action === 'keep' || opts.dryRun)
            continue;
        // The family may have changed since the list (another prune, a rollback, someone by hand): look again
        // at the image kept as newest and at this one right before writing.
        await assertStillNewest(clients, newest.name, result);
        const gone = `Skipped ${d.image}: someone else deleted it meanwhile.`;
        const image = await clients.images.get(d.image);
        const changed = !image ? gone : changedMeanwhile(image);
        if (changed) {
            reporter.info(changed);
            continue;
        }
        try {
            if (d.action === 'deprecate')
                await clients.family.deprecate(d.image, newest.selfLink, opts.operationTimeoutMs);
            else
                await clients.images.delete(d.image, opts.operationTimeoutMs);
        }
        catch (err) {
            // Deleted by someone else between our look and our write: what we wanted, or more.
            if (!(err instanceof gcp_errors/* GcpApiError */.FL && err.status === 404))
                throw err;
            reporter.info(gone);
            continue;
        }
        if (d.action === 'deprecate') {
            result.deprecated.push(d.image);
            reporter.info(`Deprecated ${d.image} (${d.reason}); replacement ${newest.name}.`);
        }
        else {
            result.deleted.push(d.image);
            reporter.info(`Deleted ${d.image} (${d.reason}).`);
        }
    }
    const skipped = decisions.filter((d) => d.action === 'keep' && d.reason.startsWith('in use'));
    for (const d of skipped)
        reporter.info(`Kept ${d.image}: ${d.reason}.`);
    return result;
}
/** Why an image counted at the list is no longer ours to touch, or undefined when it still is. */
function changedMeanwhile(image) {
    if (image.status !== 'READY')
        return `Skipped ${image.name}: it is ${image.status} now (someone else is changing it); left as it is.`;
    if (deprecationState(image) !== 'ACTIVE')
        return `Skipped ${image.name}: someone else made it ${deprecationState(image)} meanwhile; left as it is.`;
    if (!isManaged(image))
        return `Skipped ${image.name}: it no longer carries ${MANAGED_BY_KEY}=${MANAGED_BY}; left as it is.`;
    return undefined;
}
/** The image kept as newest must still be READY and ACTIVE, or pruning could leave the family with none. */
async function assertStillNewest(clients, name, result) {
    const now = await clients.images.get(name);
    if (isCurrent(now))
        return;
    const state = describeState(now);
    const done = [...result.deprecated, ...result.deleted];
    throw new gcp_errors/* ConflictError */.fK(`Family ${clients.family.family} changed during prune: ${name}, the newest image it keeps, is ${state} now (someone else changed it), so prune stopped ${done.length ? `after pruning ${done.join(', ')}` : 'before changing anything'}; run prune again.`);
}

;// CONCATENATED MODULE: ./src/lifecycle/rolled-back.ts
/**
 * The mark rollback leaves on the image it deprecates. Retention deprecates old images too, so a deprecated
 * image alone does not say the build was rolled back. An image label does: rollback sets it with
 * `images.setLabels` before it deprecates, retention never sets it, it survives deprecation, and anyone can
 * see it (`gcloud compute images describe`). Only a build carrying it stops a publish with exit code 5.
 */

/** Label on an image rollback deprecated; its value is the rollback's UTC time, `20261204t182900z`. */
const ROLLED_BACK_LABEL = 'nix-glab-runner-rolled-back';
function isRolledBack(image) {
    return image.labels?.[ROLLED_BACK_LABEL] !== undefined;
}
/** Label values take lowercase letters, digits, `-` and `_` only. */
function rolledBackValue(nowMs = Date.now()) {
    return new Date(nowMs)
        .toISOString()
        .replace(/\.\d+Z$/, 'z')
        .replace(/[-:]/g, '')
        .toLowerCase();
}
/** Marks the image rolled back (keeping an earlier mark); false when the image is gone. */
function markRolledBack(images, name, timeoutMs) {
    return changeLabels(images, name, timeoutMs, (labels) => {
        labels[ROLLED_BACK_LABEL] ??= rolledBackValue();
    });
}
/** Takes the mark off: the build was made current again on purpose. */
function unmarkRolledBack(images, name, timeoutMs) {
    return changeLabels(images, name, timeoutMs, (labels) => {
        delete labels[ROLLED_BACK_LABEL];
    });
}
/**
 * Read, change, write with the fingerprint read: someone else's label change in between (412) makes it read
 * again, so their labels are kept. A retried write that Google had already applied also ends in a 412 and a
 * read that finds the change made.
 */
async function changeLabels(images, name, timeoutMs, change) {
    for (let attempt = 0;; attempt++) {
        const image = await images.get(name);
        if (!image)
            return false;
        const labels = { ...(image.labels ?? {}) };
        change(labels);
        if (sameLabels(labels, image.labels ?? {}))
            return true;
        try {
            await images.setLabels(name, labels, image.labelFingerprint ?? '', timeoutMs);
            return true;
        }
        catch (err) {
            if (!(err instanceof gcp_errors/* GcpApiError */.FL && err.status === 412) || attempt >= 2)
                throw err;
        }
    }
}
function sameLabels(a, b) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

;// CONCATENATED MODULE: ./src/lifecycle/make-current.ts



/** The managed ACTIVE images newer than `image`: the ones that must give way for it to be current. */
async function newerThan(family, image) {
    const created = Date.parse(image.creationTimestamp);
    return activeManaged(await family.list()).filter((i) => i.name !== image.name && Date.parse(i.creationTimestamp) >= created);
}
/**
 * Marks `image` ACTIVE again (its rolled-back mark taken off first), then deprecates the newer managed
 * images in its favour. In that order the family always has an ACTIVE image. Returns what it deprecated.
 */
async function makeCurrent(images, family, image, timeoutMs, reporter) {
    if (isRolledBack(image))
        await unmarkRolledBack(images, image.name, timeoutMs);
    if (deprecationState(image) !== 'ACTIVE')
        await family.reactivate(image.name, timeoutMs);
    const deprecated = [];
    for (const newer of await newerThan(family, image)) {
        await family.deprecate(newer.name, image.selfLink, timeoutMs);
        deprecated.push(newer.name);
        reporter.info(`Deprecated ${newer.name} in favour of ${image.name}, so the family gives this build.`);
    }
    return deprecated;
}

;// CONCATENATED MODULE: ./src/pipeline.ts
















const BASE_GUEST_OS_FEATURES = ['GVNIC', 'VIRTIO_SCSI_MULTIQUEUE'];
/** Runs one publish: ensure Nix, build, verify, upload, create the image. Nothing else is touched. */
async function publish(config, reporter, run) {
    const steps = [];
    const endpoints = resolveEndpoints(config.storageEndpoint, config.computeEndpoint);
    const credentials = credentialsFor(endpoints);
    const retry = retryPolicy(config.retryDeadline, reporter);
    // Reads only: fail on a wrong project or bucket before spending minutes on a build.
    const { project, storage } = await reporter.group('Check Google Cloud target', async () => {
        // Mint a token first: without one the storage client would send unauthenticated requests and fail late.
        await credentials.headers();
        const project = await resolveProject(config.project, credentials);
        const storage = await storageClient(endpoints, credentials, project, retry);
        await checkBucket(storage, config.bucket, run.signal);
        reporter.info(`Project ${project}, bucket gs://${config.bucket}, family ${config.family}.`);
        return { project, storage };
    });
    // The identity comes first, before any build: a Nix image's output path is known after evaluation.
    const source = await identifyImage(config, reporter, run, steps);
    const rest = new RestClient(endpoints.compute, credentials, retry, run.signal);
    const images = new Images(rest, project);
    const outputs = {
        'image-name': '',
        'image-self-link': '',
        'image-family': config.family,
        'gcs-uri': '',
        'store-path': source.storePath ?? '',
        'nix-hash': source.nixHash,
        skipped: 'false',
    };
    const existing = await reporter.group('Look for an existing image', () => existingImage(images, config, source.nixHash, reporter));
    if (existing && deprecationState(existing) !== 'ACTIVE') {
        const family = new ImageFamily(rest, project, config.family);
        return reactivate(images, family, existing, config, reporter, outputs, steps);
    }
    if (existing) {
        reporter.info(`Image ${existing.name} of this build is already READY in family ${config.family}; nothing to ${source.evaluated ? 'build or ' : ''}publish.`);
        return alreadyPublished(existing, config, storage, source.nixHash, reporter, outputs, steps);
    }
    if (config.dryRun && source.evaluated)
        return planWithoutBuild(config, source, reporter, outputs, steps);
    const artifact = source.prepared ?? (await buildAndCheck(source, config, reporter, run, steps));
    const identity = { nixHash: source.nixHash, name: imageName(config, source.nixHash, artifact.facts) };
    reporter.info(`Image ${identity.name} (nix-hash ${identity.nixHash}).`);
    outputs['image-name'] = identity.name;
    const guestOsFeatures = guestFeatures(artifact.facts, config);
    // The facts already take the architecture input over the builder's file (readImageFacts).
    const architecture = artifact.facts.architecture;
    const objectName = `${config.objectPrefix}${identity.name}.raw.tar.gz`;
    const objectMetadata = {
        'nix-hash': identity.nixHash,
        'managed-by': MANAGED_BY,
        // Read by a rerun that finds the image: a tarball this run meant to delete may be deleted then.
        'keep-object': String(config.keepObject),
    };
    // Reads only, before anything is written: a name another build holds stops the run here.
    const { atName, checkedObject } = await reporter.group('Check the image and object names', async () => {
        const ours = await imageOfThisBuild(images, identity.name, identity.nixHash, reporter, {
            timeoutMs: config.operationTimeout * 1000,
            deleteFailed: false,
        });
        if (ours)
            return { atName: ours, checkedObject: null };
        const found = await checkObjectName(storage, {
            bucket: config.bucket,
            object: objectName,
            file: artifact.tarball,
            metadata: objectMetadata,
            signal: run.signal,
        });
        return { atName: undefined, checkedObject: found ?? null };
    });
    if (atName) {
        reporter.info(`Image ${atName.name} of this build already exists; nothing to publish.`);
        return alreadyPublished(atName, config, storage, source.nixHash, reporter, outputs, steps);
    }
    const objectUri = `gs://${config.bucket}/${objectName}`;
    if (config.dryRun) {
        reporter.info(`Dry run: would upload ${artifact.tarball} to ${objectUri} and create image ${identity.name} (${architecture}, ${guestOsFeatures.join(', ')}).`);
        steps.push({ stage: 'dry-run', result: `would create ${identity.name}` });
        return { outputs: { ...outputs, 'gcs-uri': objectUri }, steps, made: 'created', gaveWay: [] };
    }
    const newImage = {
        name: identity.name,
        family: config.family,
        description: imageDescription(source.flakeRef, source.flakeRev, config.description),
        labels: imageLabels({
            nixHash: identity.nixHash,
            user: config.labels,
            env: run.env,
            flakeRev: source.flakeRev,
        }),
        source: rawDiskSource(config.bucket, objectName),
        guestOsFeatures,
        architecture,
        storageLocation: config.storageLocation,
    };
    const upload = async (checked) => {
        run.state?.uploading(objectUri);
        const sent = await reporter.group('Upload to Cloud Storage', () => uploadImageObject(storage, {
            bucket: config.bucket,
            object: objectName,
            file: artifact.tarball,
            metadata: objectMetadata,
            checked,
            reporter,
            signal: run.signal,
            onSent: (done, size) => run.state?.sent(done, size),
        }));
        steps.push({ stage: 'upload', result: `${sent.reused ? 'reused' : 'uploaded'} ${sent.gcsUri}` });
        return sent;
    };
    const insert = () => {
        run.state?.inserting(identity.name, objectUri);
        return reporter.group('Create image', () => createImage(images, config, reporter, run.state, newImage));
    };
    // What the name check found is reused; a second upload (the object was deleted meanwhile) looks again.
    let uploaded = await upload(checkedObject);
    let inserted;
    try {
        inserted = await insert();
    }
    catch (err) {
        // Someone else deleted the object between our upload and the insert: send it once more.
        if (!(isSourceNotFound(err) && !(await objectExists(storage, config.bucket, objectName))))
            throw await withObjectFate(err, storage, config.bucket, objectName);
        reporter.warn(`gs://${config.bucket}/${objectName} was deleted by someone else before image ${identity.name} could read it; uploading it again.`);
        uploaded = await upload();
        inserted = await insert().catch(async (again) => {
            throw await withObjectFate(again, storage, config.bucket, objectName);
        });
    }
    const { image, created } = inserted;
    if (!created) {
        // Another run of this very build made the image while we uploaded; it owns the object's cleanup too.
        steps.push({ stage: 'image', result: `published meanwhile by another run as ${image.name}` });
        return {
            outputs: { ...outputs, 'image-self-link': image.selfLink, 'gcs-uri': uploaded.gcsUri, skipped: 'true' },
            steps,
            made: 'reused',
            gaveWay: [],
        };
    }
    steps.push({ stage: 'image', result: `created ${image.name} (${image.status})` });
    if (!config.keepObject) {
        run.state?.removingObject(image.name, objectUri);
        await deleteObject(storage, config.bucket, objectName, uploaded.generation, run.signal);
        reporter.info(`Deleted gs://${config.bucket}/${objectName}; the image holds its own copy (keep-object keeps it).`);
    }
    return {
        outputs: { ...outputs, 'image-self-link': image.selfLink, 'gcs-uri': uploaded.gcsUri },
        steps,
        made: 'created',
        gaveWay: [],
    };
}
/** The outputs of a publish that found this build already an image; an earlier run's tarball goes now. */
async function alreadyPublished(image, config, storage, nixHash, reporter, outputs, steps) {
    steps.push({ stage: 'image', result: `already published as ${image.name}` });
    if (!config.keepObject && !config.dryRun)
        await removeLeftover(storage, image, nixHash, reporter, steps);
    return {
        outputs: { ...outputs, 'image-name': image.name, 'image-self-link': image.selfLink, skipped: 'true' },
        steps,
        made: 'reused',
        gaveWay: [],
    };
}
/** --dry-run of a Nix image that is not published yet: the plan, without building it. */
function planWithoutBuild(config, source, reporter, outputs, steps) {
    // {nixos} comes from the built image's facts file, so a name using it is known only after the build.
    const template = config.imageName ?? image_name/* DEFAULT_IMAGE_NAME */.Sz;
    const name = template.includes('{nixos}') ? '' : imageName(config, source.nixHash, undefined);
    const objectName = `${config.objectPrefix}${name || `<image-name>`}.raw.tar.gz`;
    reporter.info(`Dry run: would build ${source.evaluated?.drvPath} (output ${source.storePath}), upload its tarball to gs://${config.bucket}/${objectName} and create image ${name || `${template} (its {nixos} part is read from the build)`}; nothing was built.`);
    steps.push({ stage: 'dry-run', result: `would build ${source.storePath} and create ${name || template}` });
    return {
        outputs: { ...outputs, 'image-name': name, 'gcs-uri': name ? `gs://${config.bucket}/${objectName}` : '' },
        steps,
        made: 'created',
        gaveWay: [],
    };
}
/**
 * The image of this build that makes publishing unnecessary, if any: READY, or PENDING and then READY.
 * One a rollback deprecated (it carries the rolled-back mark) is refused unless "allow-rolled-back" asks for
 * it again; a deprecated one is returned and the caller makes it current again. A FAILED one is left to
 * createImage, which deletes it for a retry.
 */
async function existingImage(images, config, nixHash, reporter) {
    // Only images we made: a nix-hash label copied onto someone else's image neither skips nor reactivates.
    const found = (await images.findByNixHash(config.family, nixHash)).filter(isManaged);
    const deprecated = found.find((i) => i.status === 'READY' && deprecationState(i) !== 'ACTIVE');
    const rolledBack = deprecated && isRolledBack(deprecated) ? deprecated : undefined;
    if (rolledBack && !config.allowRolledBack) {
        throw new errors/* UserError */.f(`This build was published as ${rolledBack.name} and later rolled back (${deprecationState(rolledBack)}); set "allow-rolled-back" to make it current again on purpose.`, 'allow-rolled-back', errors/* ExitCode */.y.RolledBack);
    }
    if (deprecated)
        return deprecated;
    const ready = found.find((i) => i.status === 'READY');
    if (ready)
        return ready;
    const pending = found.find((i) => i.status === 'PENDING');
    if (pending) {
        reporter.info(`Image ${pending.name} of this build is PENDING (another run, or an interrupted one); waiting for it.`);
        const settled = await images.waitUntilSettled(pending.name, config.operationTimeout * 1000);
        if (settled?.status === 'READY')
            return settled;
    }
    return undefined;
}
/**
 * The build is already an image, deprecated by retention (or by a rollback, with allow-rolled-back): it is
 * made the family's current image again rather than uploaded twice (lifecycle/make-current.ts).
 */
async function reactivate(images, family, image, config, reporter, outputs, steps) {
    const done = { ...outputs, 'image-name': image.name, 'image-self-link': image.selfLink };
    const why = isRolledBack(image) ? 'rolled-back image, as allow-rolled-back asked' : 'deprecated image';
    if (config.dryRun) {
        const newer = (await newerThan(family, image)).map((i) => i.name);
        const giving = newer.length ? ` and deprecate ${newer.join(', ')} in its favour` : '';
        reporter.info(`Dry run: would mark the ${why} ${image.name} ACTIVE again${giving}.`);
        steps.push({ stage: 'dry-run', result: `would make ${image.name} current again` });
        return { outputs: done, steps, made: 'reactivated', gaveWay: newer };
    }
    const gaveWay = await makeCurrent(images, family, image, config.operationTimeout * 1000, reporter);
    const say = `Marked the ${why} ${image.name} ACTIVE again; it is this build, and the family gives it.`;
    if (isRolledBack(image))
        reporter.warn(say);
    else
        reporter.info(say);
    steps.push({ stage: 'image', result: `made ${image.name} current again` });
    return { outputs: done, steps, made: 'reactivated', gaveWay };
}
/** The image insert failed because its source object is missing (at the insert, or while GCE read it). */
function isSourceNotFound(err) {
    return (err instanceof gcp_errors/* GcpApiError */.FL &&
        (err.status === 404 || err.reason === 'RESOURCE_NOT_FOUND') &&
        /Google Cloud Storage object/.test(err.message));
}
/** Adds what became of the uploaded object to a failed insert's message: the next run relies on it. */
async function withObjectFate(err, storage, bucket, object) {
    if (!(err instanceof gcp_errors/* GcpApiError */.FL))
        return err;
    const kept = await objectExists(storage, bucket, object).catch(() => undefined);
    if (kept === undefined)
        return err;
    const fate = kept
        ? `gs://${bucket}/${object} is kept until an image of this build is READY: the next run uses it rather than uploading again, and deletes it then`
        : `gs://${bucket}/${object} no longer exists, so the next run uploads again`;
    return new gcp_errors/* GcpApiError */.FL(`${err.message}; ${fate}.`, err.status, err.reason);
}
/** On an unchanged rerun: the object an interrupted or timed-out earlier run left behind goes now. */
async function removeLeftover(storage, image, nixHash, reporter, steps) {
    const source = image.rawDisk?.source ? parseRawDiskSource(image.rawDisk.source) : undefined;
    if (!source)
        return;
    if (!(await removeLeftoverObject(storage, source.bucket, source.object, nixHash)))
        return;
    reporter.info(`Deleted gs://${source.bucket}/${source.object}, left by an earlier run of this build that stopped before its clean-up.`);
    steps.push({ stage: 'clean-up', result: `deleted leftover gs://${source.bucket}/${source.object}` });
}
/**
 * Inserts the image. A name already taken by an image of this same build (another run, or an interrupted
 * one) is waited for instead: `created` is false then. A FAILED one is deleted and tried again.
 */
async function createImage(images, config, reporter, state, image) {
    const timeoutMs = config.operationTimeout * 1000;
    const ownership = { timeoutMs, deleteFailed: true };
    const nixHash = image.labels['nix-hash'] ?? '';
    const theirs = await imageOfThisBuild(images, image.name, nixHash, reporter, ownership);
    if (theirs)
        return { image: theirs, created: false };
    let last = '';
    try {
        const created = await images.insert(image, timeoutMs, (op) => {
            state?.operation(op.name);
            const line = `operation ${op.name}: ${op.status}`;
            if (line !== last)
                reporter.debug(line);
            last = line;
        });
        return { image: created, created: true };
    }
    catch (err) {
        // Lost a race to insert the same name since the check above.
        if (!(err instanceof gcp_errors/* GcpApiError */.FL && err.status === 409))
            throw err;
        const winner = await imageOfThisBuild(images, image.name, nixHash, reporter, ownership);
        if (winner)
            return { image: winner, created: false };
        throw err;
    }
}
/**
 * The image already holding this name, when it is this build's (our managed-by label and this nix-hash):
 * a READY one, or a PENDING one once it is READY. A FAILED one of ours is deleted for a retry when
 * `deleteFailed` (never in the read-only check before the upload). An image that is not this build's
 * stops the run: it is never replaced or deleted.
 */
async function imageOfThisBuild(images, name, nixHash, reporter, opts) {
    const previous = await images.get(name);
    if (!previous)
        return undefined;
    if (previous.labels?.['managed-by'] !== MANAGED_BY || previous.labels['nix-hash'] !== nixHash) {
        const labels = `managed-by=${previous.labels?.['managed-by'] ?? '(none)'}, nix-hash=${previous.labels?.['nix-hash'] ?? '(none)'}`;
        throw new errors/* UserError */.f(`Image name "${name}" is already taken by an image that is not this build's (${previous.status}, labels ${labels}; this build's nix-hash is ${nixHash}); nothing was uploaded or created. Choose another "image-name".`, 'image-name');
    }
    if (previous.status === 'FAILED') {
        if (!opts.deleteFailed)
            return undefined;
        reporter.warn(`A FAILED image named ${name} is in the way; deleting it and trying again.`);
        await images.delete(name, opts.timeoutMs);
        return undefined;
    }
    if (previous.status === 'READY')
        return previous;
    reporter.info(`Image ${name} of this build is being created by another run; waiting for it.`);
    const settled = previous.status === 'PENDING' ? await images.waitUntilSettled(name, opts.timeoutMs) : previous;
    if (settled?.status === 'READY')
        return settled;
    throw new gcp_errors/* GcpApiError */.FL(`creating image "${name}" failed: another run's image of this build ended ${settled?.status ?? 'deleted'}`, 409, 'alreadyExists');
}
function guestFeatures(facts, config) {
    const features = [
        ...BASE_GUEST_OS_FEATURES,
        ...(facts.efi ? ['UEFI_COMPATIBLE'] : []),
        ...config.guestOsFeatures,
    ];
    return [...new Set(features)];
}

;// CONCATENATED MODULE: ./src/gcp/instances.ts


/** Instances and their disks: metadata, guest attributes, boot images. */
class Instances {
    rest;
    project;
    constructor(rest, project) {
        this.rest = rest;
        this.project = project;
    }
    path(zone, name) {
        return `/projects/${this.project}/zones/${zone}/instances/${name}`;
    }
    get(zone, name) {
        return this.rest.call({
            method: 'GET',
            path: this.path(zone, name),
            what: `reading instance "${name}" in ${zone}`,
            allowNotFound: true,
        });
    }
    /** Replaces the instance's metadata; `fingerprint` must be the one just read (412 when stale). */
    async setMetadata(zone, name, fingerprint, items, timeoutMs) {
        const what = `setting metadata of instance "${name}" in ${zone}`;
        const op = await this.rest.call({
            method: 'POST',
            path: `${this.path(zone, name)}/setMetadata`,
            query: { requestId: (0,external_node_crypto_.randomUUID)() },
            body: { fingerprint, items },
            what,
        });
        await waitForOperation(this.rest, this.project, op, { timeoutMs, what });
    }
    /** Guest attributes under `namespace/` as key → value; empty when there are none (404) or they are off. */
    async guestAttributes(zone, name, namespace) {
        const res = await this.rest.call({
            method: 'GET',
            path: `${this.path(zone, name)}/getGuestAttributes`,
            query: { queryPath: `${namespace}/` },
            what: `reading guest attributes of instance "${name}" in ${zone}`,
            allowNotFound: true,
        });
        const out = {};
        for (const item of res?.queryValue?.items ?? [])
            if (item.key !== undefined)
                out[item.key] = item.value ?? '';
        return out;
    }
    /** Project-wide metadata (`commonInstanceMetadata`), which instance metadata overrides key by key. */
    async projectMetadata() {
        const project = await this.rest.call({
            method: 'GET',
            path: `/projects/${this.project}`,
            what: `reading the metadata of project "${this.project}"`,
        });
        return project.commonInstanceMetadata?.items ?? [];
    }
    getDisk(zone, name) {
        return this.rest.call({
            method: 'GET',
            path: `/projects/${this.project}/zones/${zone}/disks/${name}`,
            what: `reading disk "${name}" in ${zone}`,
            allowNotFound: true,
        });
    }
}

;// CONCATENATED MODULE: ./src/lifecycle/clients.ts









/**
 * Compute clients for prune, roll and rollback. These commands never touch Cloud Storage, so whether
 * credentials are needed depends on the Compute endpoint alone (the loopback emulator takes none).
 */
async function lifecycleClients(config, signal, reporter) {
    const endpoints = resolveEndpoints(config.storageEndpoint, config.computeEndpoint);
    const credentials = credentialsFor({ ...endpoints, loopback: isLoopback(endpoints.compute) });
    const project = await resolveProject(config.project, credentials);
    const rest = new RestClient(endpoints.compute, credentials, retryPolicy(config.retryDeadline, reporter), signal);
    return {
        project,
        images: new Images(rest, project),
        family: new ImageFamily(rest, project, config.family),
        templates: new Templates(rest, project),
        otherProjectTemplates: [...new Set(config.retentionCheckProjects)]
            .filter((other) => other !== project)
            .map((other) => new Templates(rest, other)),
        groups: new Groups(rest, project),
        instances: new Instances(rest, project),
    };
}

;// CONCATENATED MODULE: ./src/lifecycle/drain.ts
/**
 * The rollout side of the drain protocol (docs/architecture.md, "The drain protocol"): signal a drain
 * through instance metadata, then read the guest's answer from guest attributes.
 */

/** Metadata key whose value is the RFC 3339 UTC drain deadline. */
const DRAIN_KEY = 'nix-glab-runner-drain';
/** Guest attribute namespace the runner's drain service writes. */
const GUEST_NAMESPACE = 'nix-glab-runner';
/** Metadata that lets a guest write guest attributes at all. */
const GUEST_ATTRIBUTES_KEY = 'enable-guest-attributes';
/** RFC 3339 UTC without fractional seconds, as the guest parses it. */
function rfc3339(ms) {
    return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
/** Whether a guest may write guest attributes: the instance's value, else the project's (as on GCE). */
function guestAttributesEnabled(items, projectItems = []) {
    const value = items.find((i) => i.key === GUEST_ATTRIBUTES_KEY)?.value ??
        projectItems.find((i) => i.key === GUEST_ATTRIBUTES_KEY)?.value;
    return (value ?? '').toUpperCase() === 'TRUE';
}
/**
 * Sets the drain deadline on an instance, keeping an earlier one already set (a second roll must not
 * extend a drain in progress). Read-modify-write on the metadata fingerprint, retried when it goes stale.
 * Undefined when the instance is gone, or is no longer the incarnation listed (`id`): it was replaced
 * meanwhile, and its successor must not start drained.
 */
async function signalDrain(instances, zone, name, deadlineMs, operationTimeoutMs, 
/** Project metadata, read once per roll, for instances that do not set the key themselves. */
projectItems = [], id) {
    for (let attempt = 0;; attempt++) {
        const instance = await instances.get(zone, name);
        if (!instance || (id !== undefined && instance.id !== undefined && instance.id !== id))
            return undefined;
        const items = instance.metadata?.items ?? [];
        const canAnswer = guestAttributesEnabled(items, projectItems);
        const existing = Date.parse(items.find((i) => i.key === DRAIN_KEY)?.value ?? '');
        if (!Number.isNaN(existing) && existing <= deadlineMs)
            return { deadlineMs: existing, canAnswer };
        const next = [
            ...items.filter((i) => i.key !== DRAIN_KEY),
            { key: DRAIN_KEY, value: rfc3339(deadlineMs) },
        ];
        try {
            await instances.setMetadata(zone, name, instance.metadata?.fingerprint ?? '', next, operationTimeoutMs);
            return { deadlineMs: Date.parse(rfc3339(deadlineMs)), canAnswer };
        }
        catch (err) {
            // 412: someone changed the metadata between our read and write; read again.
            if (!(err instanceof gcp_errors/* GcpApiError */.FL && err.status === 412) || attempt >= 4)
                throw err;
        }
    }
}
/** What the guest reports under the `nix-glab-runner` namespace. */
async function readGuestDrain(instances, zone, name) {
    const attrs = await instances.guestAttributes(zone, name, GUEST_NAMESPACE);
    const state = attrs['drain-state'];
    const jobs = Number.parseInt(attrs['running-jobs'] ?? '', 10);
    return {
        ...(state === 'draining' || state === 'drained' || state === 'timeout' ? { state } : {}),
        ...(Number.isNaN(jobs) ? {} : { runningJobs: jobs }),
        ...(attrs['drain-started'] ? { started: attrs['drain-started'] } : {}),
        ...(attrs['drain-finished'] ? { finished: attrs['drain-finished'] } : {}),
    };
}

;// CONCATENATED MODULE: ./src/lifecycle/template-for-image.ts
/**
 * The instance template a roll creates: the group's current template with only the boot image, an image
 * label and `enable-guest-attributes=TRUE` changed. Templates are immutable, so a new image needs a new one.
 */



/** Label on templates we create, naming the image they boot. */
const IMAGE_LABEL = 'nix-glab-runner-image';
/** Suffix of templates we create: `-ngr-` plus 10 hex digits of the hash. */
const OUR_SUFFIX = /-ngr-[0-9a-f]{10}$/;
const MAX_NAME = 63;
/**
 * A template this tool made: our name suffix and our image label. Either alone can be someone else's (a
 * copy of ours keeps the label, a name can be chosen by anyone).
 */
function madeByUs(template) {
    return OUR_SUFFIX.test(template.name) && template.properties.labels?.[IMAGE_LABEL] !== undefined;
}
/**
 * Deterministic from the source template and the image: the same roll always names the same template, so
 * a rerun after an interruption finds it instead of creating another. The source's own suffix is dropped
 * first, so rolling one of our templates does not grow the name.
 */
function templateName(sourceSelfLink, imagePath) {
    const hash = (0,external_node_crypto_.createHash)('sha256')
        .update(`${resourcePath(sourceSelfLink)}\n${resourcePath(imagePath)}`)
        .digest('hex')
        .slice(0, 10);
    const suffix = `-ngr-${hash}`;
    const base = lastSegment(resourcePath(sourceSelfLink)).replace(OUR_SUFFIX, '');
    return `${base.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}
/** The new template's body: a copy of the source with the three changes, and nothing the API sets itself. */
function templateForImage(source, name, image) {
    const properties = structuredClone(source.properties);
    const disks = properties.disks ?? [];
    const boot = disks.find((d) => d.boot === true) ?? disks[0];
    if (!boot)
        throw new Error(`instance template ${source.name} has no disks`);
    boot.initializeParams = { ...(boot.initializeParams ?? {}), sourceImage: image.path };
    properties.labels = { ...(properties.labels ?? {}), [IMAGE_LABEL]: image.name };
    // A drain key copied into a template would start every new instance drained.
    const items = (properties.metadata?.items ?? []).filter((i) => i.key !== GUEST_ATTRIBUTES_KEY && i.key !== DRAIN_KEY);
    items.push({ key: GUEST_ATTRIBUTES_KEY, value: 'TRUE' });
    properties.metadata = { items };
    return {
        name,
        description: `nix-glab-runner: ${source.name} with image ${image.name}.`,
        properties,
    };
}

;// CONCATENATED MODULE: ./src/lifecycle/roll-conflicts.ts





/** How to keep two runs apart, for the messages. */
const SERIALIZE = 'the GitLab component holds resource_group nix-glab-runner-<family> for this, and a GitHub workflow needs a `concurrency:` group';
/** The template of a group that runs exactly one version, as a path; undefined for a canary. */
function singleTemplate(group) {
    const versions = groupVersions(group);
    return versions.length === 1 ? resourcePath(versions[0]?.instanceTemplate ?? '') : undefined;
}
/** The image a rollout onto `template` is bringing, when it is our template and it has not finished. */
function unfinishedRollout(project, group, template) {
    const boot = bootImage(template);
    if (!madeByUs(template) || !boot || group.status?.versionTarget?.isReached !== false)
        return undefined;
    return lastSegment(imagePath(project, boot));
}
async function groupChange(clients, group, sourcePath, targetPath) {
    const now = singleTemplate(group);
    if (now === sourcePath)
        return { kind: 'unrelated' };
    if (now === targetPath)
        return { kind: 'ours' };
    const template = now ? await clients.templates.get(now) : undefined;
    const image = template && unfinishedRollout(clients.project, group, template);
    return now && image ? { kind: 'rolling', template: now, image } : { kind: 'other' };
}
/** Another roll has the group: the run that comes second stops before it changes anything. */
function rollInProgress(ref, templatePath, image, members, leftover = '') {
    const on = members.filter((m) => runsTemplate(m, templatePath)).length;
    return new gcp_errors/* ConflictError */.fK(`Instance group ${ref.path} is being rolled onto image ${image} (template ${lastSegment(templatePath)}, ${on} of ${members.length} instances on it) by another run, so this roll changed nothing${leftover}: wait for that run to finish and run this one again, or, if it was stopped, roll image ${image} again to finish it first (${SERIALIZE}).`);
}
/** The group was moved off the version this roll set, by someone else, while the roll drove it. */
function movedAway(ref, targetPath, now) {
    const where = now ? `template ${lastSegment(now)}` : 'two versions';
    return new gcp_errors/* ConflictError */.fK(`Instance group ${ref.path} was moved from template ${lastSegment(targetPath)} to ${where} by someone else during this roll, so this roll stopped and leaves the group to that change: find out who else rolls it (${SERIALIZE}) before running it again.`);
}
/** The group's version changed between our read and our patch, to something that is not a roll of ours. */
function roll_conflicts_changedMeanwhile(ref, google, now, leftover) {
    const where = now ? `template ${lastSegment(now)}` : 'two versions';
    return new gcp_errors/* ConflictError */.fK(`${google}; instance group ${ref.path} was changed by someone else meanwhile and now runs ${where}, so this roll changed nothing${leftover}; run it again once that change is done.`);
}
/** Whether the group's update policy already has every field the roll would set. */
function policyMatches(current, wanted) {
    if (!current)
        return false;
    for (const [key, value] of Object.entries(wanted)) {
        const have = current[key];
        if (typeof value === 'object' && value !== null) {
            const fixed = value.fixed;
            if (have?.fixed !== fixed)
                return false;
        }
        else if (have !== value)
            return false;
    }
    return true;
}
/**
 * A template under the name this roll would create or reuse is not the one it would make (another image,
 * no label of ours, other content): someone else made it, and it is neither used nor deleted.
 */
function templateTaken(ref, template, why, source) {
    return new gcp_errors/* ConflictError */.fK(`Instance template ${template.name} already exists but ${why}, so someone else made a template under the name this roll uses; group ${ref.path} is unchanged on template ${lastSegment(source)}: delete that template (${deleteTemplateCommand(template.selfLink)}) and run again.`);
}

;// CONCATENATED MODULE: ./src/lifecycle/replacement.ts
/**
 * The replacement phase of a roll, once the group targets the new template. With drain, the drain loop
 * (`driveWithDrain`) signals old instances within the `max-unavailable` window and hands each one to the
 * group once its guest reported `drained` or its deadline passed. Without drain, `waitForGroup` waits for
 * the group's own PROACTIVE replacement to settle.
 */






const DEFAULT_POLL_MS = 5000;
/** How many instances may be draining or in replacement at once: max-unavailable, else 1. */
function windowOf(group) {
    const up = group?.updatePolicy;
    const unavailable = up?.maxUnavailable?.calculated ?? up?.maxUnavailable?.fixed ?? 1;
    return Math.max(1, unavailable);
}
/** A member that runs the target template and has nothing left to do. */
function settledOn(m, targetPath) {
    return runsTemplate(m, targetPath) && m.currentAction === 'NONE';
}
/**
 * One look at the group and its members, as both loops poll them; a group gone, or moved off the target by
 * someone else, ends the roll.
 */
async function observeGroup(clients, ref, targetPath) {
    const [group, members] = await Promise.all([clients.groups.get(ref), clients.groups.listManaged(ref)]);
    if (!group)
        throw new gcp_errors/* GcpApiError */.FL(`instance group "${ref.path}" disappeared during the roll`, 404, 'notFound');
    if (singleTemplate(group) !== targetPath)
        throw movedAway(ref, targetPath, singleTemplate(group));
    return { group, members };
}
/** The drain loop: signal within the window, replace each instance once drained or past its deadline. */
async function driveWithDrain(clients, ref, targetPath, opts, reporter, result, started) {
    const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
    const progress = progressPrinter(reporter);
    // Guest attributes may be enabled project-wide rather than per instance.
    const projectItems = await clients.instances.projectMetadata();
    const draining = new Map();
    const handedOver = new Set();
    for (;;) {
        const { group, members } = await observeGroup(clients, ref, targetPath);
        const total = group.targetSize;
        const updated = members.filter((m) => settledOn(m, targetPath)).length;
        progress(updated, total);
        const record = (handing = []) => opts.state?.rollProgress(rollProgress(members, targetPath, total, draining, handing));
        // In name order, so that two runs of one rollout drain the same instances first and share the window.
        const old = members
            .filter((m) => !runsTemplate(m, targetPath) && !handedOver.has(instanceLocation(m).name))
            .sort((a, b) => (instanceLocation(a).name < instanceLocation(b).name ? -1 : 1));
        // A drain that needs us no more: the instance left the group (scale-in), or another run of this rollout
        // handed it over already (it is being replaced, runs the target, or is a new incarnation).
        const byName = new Map(members.map((m) => [instanceLocation(m).name, m]));
        for (const [name, d] of draining) {
            const m = byName.get(name);
            if (!m || runsTemplate(m, targetPath) || m.currentAction !== 'NONE' || m.id !== d.member.id)
                draining.delete(name);
        }
        if (old.length === 0 && draining.size === 0 && groupSettled(group)) {
            reporter.info(`Group ${ref.path}: ${updated}/${total} instances on ${lastSegment(targetPath)}.`);
            return;
        }
        if (Date.now() - started > opts.rollTimeoutMs)
            throw rollTimeout(ref, targetPath, members, draining, opts, total);
        // Start draining old instances while the window has room; a replacement in progress takes room too.
        const busy = () => draining.size + members.filter((m) => m.currentAction !== 'NONE').length;
        for (const m of old) {
            if (busy() >= windowOf(group))
                break;
            const { zone, name } = instanceLocation(m);
            if (draining.has(name) || m.currentAction !== 'NONE')
                continue;
            const signal = await signalDrain(clients.instances, zone, name, Date.now() + opts.drainTimeoutMs, opts.operationTimeoutMs, projectItems, m.id);
            // Replaced or gone since the listing (another run of this rollout): nothing to drain.
            if (!signal)
                continue;
            draining.set(name, { member: m, zone, name, ...signal });
            reporter.info(`Draining ${name} (${zone}) until ${rfc3339(signal.deadlineMs)}.`);
            if (!signal.canAnswer) {
                reporter.warn(`Instance ${name} does not have enable-guest-attributes=TRUE (in its own or the project's metadata), so its runner cannot report drained; waiting until the deadline ${rfc3339(signal.deadlineMs)}.`);
            }
        }
        record();
        // Hand drained (or overdue) instances to the group for replacement.
        const ready = [];
        for (const d of draining.values()) {
            const guest = await readGuestDrain(clients.instances, d.zone, d.name);
            if (guest.state && guest.state !== d.lastState) {
                reporter.debug(`${d.name}: drain-state ${guest.state}${guest.runningJobs !== undefined ? `, ${guest.runningJobs} running job(s)` : ''}.`);
                d.lastState = guest.state;
            }
            if (guest.state === 'drained') {
                result.drained.push(d.name);
                ready.push(d);
            }
            else if (guest.state === 'timeout' || Date.now() >= d.deadlineMs) {
                const why = guest.state === 'timeout'
                    ? 'reported timeout'
                    : `did not report drained (${guest.state ?? 'no answer'})`;
                const jobs = guest.runningJobs ? ` with ${guest.runningJobs} job(s) still running` : '';
                reporter.warn(`Instance ${d.name} ${why} by its drain deadline ${rfc3339(d.deadlineMs)}; replacing it anyway${jobs}.`);
                result.drainTimeouts.push(d.name);
                ready.push(d);
            }
        }
        if (ready.length > 0) {
            record(ready);
            try {
                await clients.groups.replace(ref, ready.map((d) => d.member.instance), opts.operationTimeoutMs);
            }
            catch (err) {
                if (!(err instanceof gcp_errors/* GcpApiError */.FL))
                    throw err;
                const done = members.filter((m) => runsTemplate(m, targetPath)).length;
                throw new gcp_errors/* GcpApiError */.FL(`${err.message}; group ${ref.path} targets template ${lastSegment(targetPath)} and ${done} of ${total} instances run it; drained instances ${ready.map((d) => d.name).join(', ')} wait for replacement: run roll again to finish, or rollback`, err.status, err.reason);
            }
            for (const d of ready) {
                draining.delete(d.name);
                handedOver.add(d.name);
                result.replaced.push(d.name);
                reporter.info(`Replacing ${d.name}.`);
            }
            continue;
        }
        await sleep(pollMs, opts.signal);
    }
}
/** Without drain: the group replaces on its own; wait for it to be stable on the version. */
async function waitForGroup(clients, ref, targetPath, opts, reporter, started) {
    const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
    const progress = progressPrinter(reporter);
    for (;;) {
        const { group, members } = await observeGroup(clients, ref, targetPath);
        const updated = members.filter((m) => settledOn(m, targetPath)).length;
        progress(updated, group.targetSize);
        opts.state?.rollProgress(rollProgress(members, targetPath, group.targetSize, new Map()));
        if (groupSettled(group)) {
            reporter.info(`Group ${ref.path}: ${updated}/${group.targetSize} instances on ${lastSegment(targetPath)}.`);
            return;
        }
        if (Date.now() - started > opts.rollTimeoutMs)
            throw rollTimeout(ref, targetPath, members, new Map(), opts, group.targetSize);
        await sleep(pollMs, opts.signal);
    }
}
/** Where the roll stands, for the message of an interrupted run; `handing` are being handed to the group. */
function rollProgress(members, targetPath, total, draining, handing = []) {
    const handed = new Set(handing.map((d) => d.name));
    return {
        updated: members.filter((m) => settledOn(m, targetPath)).length,
        total,
        draining: [...draining.keys()].filter((name) => !handed.has(name)),
        replacing: [
            ...handed,
            ...members.filter((m) => m.currentAction !== 'NONE').map((m) => instanceLocation(m).name),
        ],
    };
}
/**
 * Prints "updated/total" when it changes. Reporter.progress is for bytes (it prints MiB and MiB/s), so the
 * roll reports instance counts as plain lines.
 */
function progressPrinter(reporter) {
    let last = '';
    return (updated, total) => {
        const line = `${updated}/${total}`;
        if (line !== last)
            reporter.info(`Roll progress: ${line} instances updated.`);
        last = line;
    };
}
function rollTimeout(ref, targetPath, members, draining, opts, total) {
    const stuck = members
        .filter((m) => !settledOn(m, targetPath))
        .map((m) => {
        const { name } = instanceLocation(m);
        const d = draining.get(name);
        const state = [
            m.currentAction,
            m.instanceStatus,
            d ? `drain ${d.lastState ?? 'signalled'} until ${rfc3339(d.deadlineMs)}` : undefined,
            runsTemplate(m, targetPath) ? undefined : 'old template',
        ]
            .filter(Boolean)
            .join(', ');
        return `${name} (${state})`;
    });
    const done = members.filter((m) => settledOn(m, targetPath)).length;
    return new gcp_errors/* GcpApiError */.FL(`Roll of group ${ref.path} did not finish within ${Math.round(opts.rollTimeoutMs / 1000)}s (roll-timeout): ${done}/${total} instances on ${lastSegment(targetPath)}; stuck: ${stuck.join('; ') || 'none, but the group is not stable'}. The group targets ${lastSegment(targetPath)}; run roll again to finish, or rollback.`, 504, 'timeout');
}

;// CONCATENATED MODULE: ./src/lifecycle/template-match.ts
/**
 * Whether a template under the name a roll uses is exactly the one this roll would create. Anyone allowed to
 * create templates could plant one under that name with an extra startup-script; only the template equal
 * to `templateForImage` (our label included) may be reused, so nothing we did not make is rolled out.
 */



/** Fields Google sets itself on a template, at the top level. */
const SET_BY_GOOGLE = new Set(['kind', 'id', 'creationTimestamp', 'selfLink', 'region']);
/** Fields Google adds to nested objects on read (`compute#metadata`, the metadata fingerprint). */
const SET_BY_GOOGLE_NESTED = new Set(['kind', 'fingerprint']);
/**
 * Why `existing` is not the template `wanted` describes, in words for a message, or undefined when it is.
 * The source of `wanted` was read from Google too, so defaults Google adds on read are on both sides.
 */
function whyNotOurs(project, existing, wanted, image) {
    if (!bootsImage(project, existing, image.path)) {
        const boots = bootImage(existing);
        return `boots ${boots ? lastSegment(boots) : 'no image'}, not ${image.name}`;
    }
    if (existing.properties.labels?.[IMAGE_LABEL] !== image.name)
        return `does not carry the label ${IMAGE_LABEL}=${image.name}`;
    const differs = firstDifference(topLevel(existing), topLevel(wanted), '');
    return differs === undefined
        ? undefined
        : `is not the template this roll would make (${differs || 'the template'} differs)`;
}
function topLevel(template) {
    return Object.fromEntries(Object.entries(template).filter(([k]) => !SET_BY_GOOGLE.has(k)));
}
/** A full URL and a partial path to the same resource compare equal (`https://…/projects/p/…`). */
function normalize(value) {
    return /^https?:\/\/\S*?\/projects\//.test(value) ? value.slice(value.indexOf('projects/')) : value;
}
/** The path of the first field where the two differ ('' for the values themselves), or undefined. */
function firstDifference(a, b, path) {
    if (typeof a === 'string' && typeof b === 'string')
        return normalize(a) === normalize(b) ? undefined : path;
    if (Array.isArray(a) || Array.isArray(b)) {
        if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length)
            return path;
        for (const [i, item] of a.entries()) {
            const d = firstDifference(item, b[i], path);
            if (d !== undefined)
                return d;
        }
        return undefined;
    }
    if (isObject(a) && isObject(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !SET_BY_GOOGLE_NESTED.has(k)));
        for (const key of [...keys].sort()) {
            const d = firstDifference(a[key], b[key], path ? `${path}.${key}` : key);
            if (d !== undefined)
                return d;
        }
        return undefined;
    }
    return a === b ? undefined : path;
}
function isObject(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

;// CONCATENATED MODULE: ./src/lifecycle/roll-template.ts
/**
 * The writes of the template a roll makes: create it (or use the identical one another run made), and
 * remove it again when the roll fails before the group uses it.
 */






/**
 * Creates the template; if Google rejects it, makes sure none is left behind, or names it. A 409 means
 * someone made a template under that name since our read: it is used only when it is exactly the one this
 * roll would make (another run of the same roll), and never deleted. True when this run created it.
 */
async function createTemplate(clients, scope, source, name, image, ref, timeoutMs) {
    const wanted = templateForImage(source, name, image);
    try {
        await clients.templates.insert(scope, wanted, timeoutMs);
        return true;
    }
    catch (err) {
        if (!(err instanceof gcp_errors/* GcpApiError */.FL))
            throw err;
        if (err.status === 409) {
            const theirs = await clients.templates.get(`projects/${clients.project}/${scope}/instanceTemplates/${name}`);
            const why = theirs && whyNotOurs(clients.project, theirs, wanted, image);
            if (theirs && !why)
                return false;
            if (theirs && why)
                throw templateTaken(ref, theirs, why, source.selfLink);
        }
        const leftover = await removeTemplate(clients, `projects/${clients.project}/${scope}/instanceTemplates/${name}`, timeoutMs);
        throw new gcp_errors/* GcpApiError */.FL(`${err.message}; group ${ref.path} is unchanged on template ${source.name}${leftover}`, err.status, err.reason);
    }
}
/** Deletes a template this run created and no group uses; returns a note for the error message. */
async function removeTemplate(clients, path, timeoutMs) {
    try {
        if (!(await clients.templates.get(path)))
            return '';
        await clients.templates.delete(path, timeoutMs);
        return `; the new template ${lastSegment(path)} was removed`;
    }
    catch {
        return `; remove the unused template with: ${deleteTemplateCommand(path)}`;
    }
}

;// CONCATENATED MODULE: ./src/lifecycle/rollout.ts
/**
 * Rolls a managed instance group onto an image: a new template from the group's current one
 * (roll-template.ts), the group's version set to it, then the replacement (replacement.ts). With drain (the
 * default) the group's policy is OPPORTUNISTIC and the rollout replaces each old instance itself, only
 * after its guest reported `drained` or its drain deadline passed, at most `max-unavailable` at a time
 * (docs/architecture.md, "The drain protocol"). Without drain it is a plain PROACTIVE rolling replace on the
 * group's own schedule.
 */










/** The "instance-group" input names no group: a typo, or the wrong project. */
function groupNotFound(ref) {
    return new errors/* UserError */.f(`Instance group "${ref.path}" was not found; check "instance-group" and "project".`, 'instance-group');
}
async function roll(clients, ref, opts, reporter) {
    const group = await clients.groups.get(ref);
    if (!group)
        throw groupNotFound(ref);
    const currentRef = singleTemplate(group);
    if (!currentRef) {
        throw new errors/* UserError */.f(`Instance group "${ref.path}" runs ${groupVersions(group).length} versions (a canary update?); finish or undo it before rolling, so the roll starts from one template.`, 'instance-group');
    }
    if (!opts.drain && isStateful(group)) {
        throw new errors/* UserError */.f(`Instance group "${ref.path}" is stateful, and Google refuses a PROACTIVE update on stateful groups; roll with drain (the default), which replaces instance by instance under an OPPORTUNISTIC policy.`, 'drain');
    }
    const current = await clients.templates.get(currentRef);
    if (!current)
        throw new errors/* UserError */.f(`Instance template "${currentRef}" of group "${ref.path}" was not found.`, 'instance-group');
    const found = await clients.images.get(opts.image);
    const image = found ?? (opts.dryRun && opts.pendingImage ? { name: opts.image, status: 'READY' } : undefined);
    if (image?.status !== 'READY') {
        throw new errors/* UserError */.f(`Image "${opts.image}" is not READY in project ${clients.project} (${image?.status ?? 'not found'}); nothing was rolled.`, 'image');
    }
    const targetImage = imagePath(clients.project, image.name);
    // Another roll of this group onto another image has not finished: it keeps the group.
    const unfinished = unfinishedRollout(clients.project, group, current);
    if (unfinished && unfinished !== image.name) {
        if (opts.supersede !== unfinished)
            throw rollInProgress(ref, currentRef, unfinished, await clients.groups.listManaged(ref));
        reporter.warn(`Group ${ref.path} is still being rolled onto ${unfinished}, the image rolled back; this roll takes it over.`);
    }
    const result = {
        group: ref.path,
        template: currentRef,
        templateCreated: false,
        replaced: [],
        drained: [],
        drainTimeouts: [],
        noop: false,
        plan: [],
    };
    // The target template: the current one when it already boots the image (a resumed roll), else ours.
    const onImage = bootsImage(clients.project, current, targetImage);
    const scope = templateScope(currentRef);
    const name = templateName(currentRef, targetImage);
    const targetPath = onImage ? currentRef : `projects/${clients.project}/${scope}/instanceTemplates/${name}`;
    if (!opts.dryRun)
        opts.state?.rolling({ group: ref.path, image: image.name, from: currentRef, template: targetPath });
    if (!onImage) {
        const target = await clients.templates.get(targetPath);
        const imageRef = { name: image.name, path: targetImage };
        const why = target && whyNotOurs(clients.project, target, templateForImage(current, name, imageRef), imageRef);
        if (target && why)
            throw templateTaken(ref, target, why, currentRef);
        if (target)
            result.plan.push({
                action: 'reuse',
                resource: targetPath,
                detail: `template for ${image.name}, made by an earlier run`,
            });
        else {
            result.plan.push({
                action: 'create',
                resource: targetPath,
                detail: `${current.name} with image ${image.name}`,
            });
            if (!opts.dryRun) {
                result.templateCreated = await createTemplate(clients, scope, current, name, { name: image.name, path: targetImage }, ref, opts.operationTimeoutMs);
                if (!result.templateCreated)
                    reporter.info(`Template ${name} was made by another run meanwhile; using it.`);
            }
        }
    }
    result.template = targetPath;
    if (onImage && groupSettled(group)) {
        reporter.info(`Group ${ref.path} already runs image ${image.name} (template ${current.name}); nothing to roll.`);
        result.noop = true;
        result.plan.push({ action: 'nothing', resource: ref.path, detail: `already on ${image.name}` });
        return result;
    }
    if (opts.dryRun) {
        const members = await clients.groups.listManaged(ref);
        const old = members.filter((m) => !runsTemplate(m, targetPath));
        result.plan.push({
            action: 'patch',
            resource: ref.path,
            detail: `version ${lastSegment(targetPath)}, ${opts.drain ? 'OPPORTUNISTIC' : 'PROACTIVE'} update policy`,
        });
        for (const m of old) {
            const { name } = instanceLocation(m);
            if (opts.drain)
                result.plan.push({
                    action: 'drain',
                    resource: name,
                    detail: `stops taking jobs, up to ${Math.round(opts.drainTimeoutMs / 1000)}s to finish them`,
                });
            result.plan.push({
                action: 'replace',
                resource: name,
                detail: opts.drain ? 'after drained or its deadline' : `by the group (${opts.replacementMethod})`,
            });
        }
        return result;
    }
    // Without drain the group replaces on its own; note who is outdated now, to report them afterwards.
    const outdated = opts.drain
        ? []
        : (await clients.groups.listManaged(ref))
            .filter((m) => !runsTemplate(m, targetPath))
            .map((m) => instanceLocation(m).name);
    if (opts.drain && opts.rollTimeoutMs <= opts.drainTimeoutMs) {
        reporter.warn(`roll-timeout (${opts.rollTimeoutMs / 1000}s) is not longer than drain-timeout (${opts.drainTimeoutMs / 1000}s): a runner that drains slowly will time the roll out before its deadline.`);
    }
    opts.state?.retargeted(false);
    const patched = await patchGroup(clients, ref, group, currentRef, targetPath, opts, result);
    opts.state?.retargeted(true);
    reporter.info(patched
        ? `Group ${ref.path} now targets template ${lastSegment(targetPath)} (image ${image.name}).`
        : `Group ${ref.path} already targets template ${lastSegment(targetPath)} (image ${image.name}); carrying on with that rollout, which another run may be driving too.`);
    const started = Date.now();
    if (opts.drain)
        await driveWithDrain(clients, ref, targetPath, opts, reporter, result, started);
    else {
        await waitForGroup(clients, ref, targetPath, opts, reporter, started);
        result.replaced.push(...outdated);
    }
    return result;
}
/**
 * Google may have taken the update though its operation's wait failed: then the group already runs on the
 * new template, which must stay, and the error says so instead of "unchanged".
 */
async function throwIfTakenAnyway(clients, ref, targetPath, err) {
    const now = await clients.groups.get(ref).catch(() => null);
    if (now !== null && (now === undefined || singleTemplate(now) !== targetPath))
        return;
    const state = now === null
        ? `whether group ${ref.path} took template ${lastSegment(targetPath)} is unknown`
        : `group ${ref.path} targets template ${lastSegment(targetPath)} all the same`;
    throw new gcp_errors/* GcpApiError */.FL(`${err.message}; ${state}: run roll again to finish, or rollback`, err.status, err.reason);
}
/**
 * Sets the group's version and update policy, guarded by the fingerprint read at the start. A 412 means
 * someone changed the group since: it is read again, and patched once more when it still runs the template
 * the roll started from (an unrelated edit, such as a resize) or already runs ours (a second roll onto the
 * same image). Any other change wins, and the template this roll made is removed. False when the group was
 * already set as wanted, so nothing was written.
 */
async function patchGroup(clients, ref, group, sourcePath, targetPath, opts, result) {
    const updatePolicy = {
        type: opts.drain ? 'OPPORTUNISTIC' : 'PROACTIVE',
        minimalAction: 'REPLACE',
        replacementMethod: opts.replacementMethod,
    };
    // RECREATE keeps names and so needs maxSurge 0, whatever the group had.
    const maxSurge = opts.replacementMethod === 'RECREATE' ? (opts.maxSurge ?? 0) : opts.maxSurge;
    if (maxSurge !== undefined)
        updatePolicy.maxSurge = { fixed: maxSurge };
    if (opts.maxUnavailable !== undefined)
        updatePolicy.maxUnavailable = { fixed: opts.maxUnavailable };
    // Already set (a resumed roll, or a second roll onto the same image): writing it again changes nothing.
    if (singleTemplate(group) === targetPath && policyMatches(group.updatePolicy, updatePolicy))
        return false;
    let fingerprint = group.fingerprint;
    for (let attempt = 0;; attempt++) {
        try {
            await clients.groups.patch(ref, { versions: [{ instanceTemplate: targetPath }], updatePolicy, fingerprint }, opts.operationTimeoutMs);
            return true;
        }
        catch (err) {
            if (!(err instanceof gcp_errors/* GcpApiError */.FL))
                throw err;
            if (err.status !== 412)
                await throwIfTakenAnyway(clients, ref, targetPath, err);
            // 412: someone changed the group since our read; look at what they did.
            const fresh = err.status === 412 ? await clients.groups.get(ref) : undefined;
            const change = fresh && (await groupChange(clients, fresh, sourcePath, targetPath));
            if (change?.kind === 'ours' && policyMatches(fresh?.updatePolicy, updatePolicy))
                return false;
            const retry = change?.kind === 'unrelated' ||
                change?.kind === 'ours' ||
                (change?.kind === 'rolling' && change.image === opts.supersede);
            if (fresh && retry && attempt === 0) {
                fingerprint = fresh.fingerprint;
                continue;
            }
            const templateGone = err.status === 404 && !(await clients.templates.get(targetPath));
            const leftover = result.templateCreated
                ? await removeTemplate(clients, targetPath, opts.operationTimeoutMs)
                : '';
            if (change?.kind === 'rolling')
                throw rollInProgress(ref, change.template, change.image, await clients.groups.listManaged(ref), leftover);
            if (change)
                throw roll_conflicts_changedMeanwhile(ref, err.message, fresh && singleTemplate(fresh), leftover);
            const still = lastSegment(sourcePath);
            if (templateGone)
                throw new gcp_errors/* ConflictError */.fK(`${err.message}; the new template ${lastSegment(targetPath)} was deleted by someone else before the group used it, so group ${ref.path} is unchanged on template ${still}: run roll again.`);
            throw new gcp_errors/* GcpApiError */.FL(`${err.message}; group ${ref.path} is unchanged on template ${still}${leftover}`, err.status, err.reason);
        }
    }
}

;// CONCATENATED MODULE: ./src/lifecycle/rollback.ts
/**
 * Rollback: mark the newest managed image rolled back and deprecate it, so the family points at the previous
 * one again, then roll the group back onto that image. `getFromFamily` gives only non-deprecated images
 * (docs/architecture.md, "Families and deprecation"), so it needs an older ACTIVE managed image to fall back
 * to before touching anything.
 */






async function rollback(clients, group, opts, reporter) {
    const counted = activeManaged(await clients.family.list());
    const [newest, previous] = counted;
    if (!newest || !previous) {
        throw new errors/* UserError */.f(`Family ${clients.family.family} has ${counted.length} managed ACTIVE image(s); rollback needs an older one to go back to, so nothing was deprecated.`, 'family');
    }
    const result = { from: newest.name, to: previous.name, deprecated: [], plan: [] };
    result.plan.push({ action: 'deprecate', resource: newest.name, detail: `replacement ${previous.name}` });
    if (!opts.dryRun) {
        opts.state?.rollingBack(newest.name, previous.name);
        if (await deprecateNewest(clients, newest.name, previous, opts.operationTimeoutMs, reporter, group))
            result.deprecated.push(newest.name);
    }
    if (!group) {
        reporter.info('No instance-group given: only the family was rolled back.');
        return result;
    }
    try {
        result.roll = await roll(clients, group, { ...opts, image: previous.name, supersede: newest.name }, reporter);
    }
    catch (err) {
        // The family is already rolled back; say so, so the next step is clear.
        if (err instanceof Error && result.deprecated.length > 0) {
            err.message += ` (image ${newest.name} is already deprecated and the family gives ${previous.name}; run "roll" to move the group onto ${previous.name})`;
        }
        throw err;
    }
    result.plan.push(...result.roll.plan);
    return result;
}
/**
 * Deprecates the newest image in favour of the previous one, looking at both again first: the family may
 * have changed since the list. The previous image gone or no longer ACTIVE stops the rollback before any
 * change; the newest one already deprecated or deleted by someone else is what a rollback wants. True when
 * this run deprecated it.
 */
async function deprecateNewest(clients, newest, previous, timeoutMs, reporter, group) {
    const family = clients.family.family;
    const [now, back] = await Promise.all([clients.images.get(newest), clients.images.get(previous.name)]);
    if (!isCurrent(back)) {
        const state = describeState(back);
        throw new gcp_errors/* ConflictError */.fK(`Family ${family} changed during rollback: ${previous.name}, the image to go back to, is ${state} now (someone else changed it), so nothing was deprecated; run rollback again.`);
    }
    const state = now ? deprecationState(now) : 'deleted';
    // Marked before the deprecation, so a deprecated image without the mark is never one a rollback meant
    // (rolled-back.ts); and only while ACTIVE: one someone else deprecated was not rolled back by us.
    const marked = state === 'ACTIVE' && (await markRolledBack(clients.images, newest, timeoutMs));
    if (!marked) {
        const was = state === 'ACTIVE' ? 'deleted' : state;
        reporter.info(`${newest} was already ${was} by someone else; family ${family} gives ${previous.name}.`);
        return false;
    }
    try {
        await clients.family.deprecate(newest, previous.selfLink, timeoutMs);
    }
    catch (err) {
        if (!(err instanceof gcp_errors/* GcpApiError */.FL && err.status === 404))
            throw await deprecationOutcome(clients, err, newest, previous.name, group, timeoutMs);
        reporter.info(`${newest} was deleted by someone else meanwhile; family ${family} gives ${previous.name}.`);
        return false;
    }
    reporter.info(`Deprecated ${newest}; family ${family} now gives ${previous.name}.`);
    return true;
}
/**
 * A deprecation that failed may have happened all the same (its operation's wait gave up). Rollback again
 * would then deprecate the image before it, so the message says what to run instead.
 */
async function deprecationOutcome(clients, err, newest, previous, group, timeoutMs) {
    if (!(err instanceof Error))
        return err;
    const now = await clients.images.get(newest).catch(() => undefined);
    // Not rolled back after all: the mark goes, or a later retention would make the build look rolled back.
    if (now && deprecationState(now) === 'ACTIVE')
        await unmarkRolledBack(clients.images, newest, timeoutMs).catch(() => false);
    if (!now || deprecationState(now) === 'ACTIVE')
        return err;
    err.message += group
        ? ` (image ${newest} is deprecated all the same and the family gives ${previous}; run "roll" to move the group onto ${previous})`
        : ` (image ${newest} is deprecated all the same and the family gives ${previous}; do not run rollback again)`;
    return err;
}

;// CONCATENATED MODULE: ./src/lifecycle/template-cleanup.ts
/**
 * The templates a roll creates would pile up, one per roll, and each keeps its image pinned against
 * retention. After a roll or a rollback, the templates this tool made (our name suffix and our image label)
 * that no group of the project uses are deleted, except:
 * - those booting the image a rollback would now go back to (the family's second-newest managed ACTIVE
 *   image): keeping one keeps that image from retention;
 * - a template created after this command started: it may be another roll's, about to be used by its group.
 * A template we did not make is never touched, whatever its name.
 */






/** The image a rollback would go back to now: the second-newest managed ACTIVE image of the family. */
async function rollbackTarget(clients, opts) {
    const names = activeManaged(await clients.family.list())
        .map((i) => i.name)
        .filter((name) => name !== opts.deprecating && name !== opts.pendingImage);
    if (opts.pendingImage)
        names.unshift(opts.pendingImage);
    return names[1];
}
/** Deletes (or, in a dry run, plans to delete) our templates no group uses; returns the plan steps. */
async function removeUnusedTemplates(clients, opts, reporter) {
    const used = new Set([resourcePath(opts.rolled.template)]);
    for (const group of await clients.groups.listAll()) {
        // In a dry run the rolled group still runs its old template; it counts as on its new one.
        if (resourcePath(group.selfLink) === resourcePath(opts.rolled.group))
            continue;
        if (group.instanceTemplate)
            used.add(resourcePath(group.instanceTemplate));
        for (const v of groupVersions(group))
            used.add(resourcePath(v.instanceTemplate));
    }
    const target = await rollbackTarget(clients, opts);
    const pinned = target && imagePath(clients.project, target);
    const plan = [];
    for (const template of await clients.templates.listAll()) {
        const path = resourcePath(template.selfLink);
        if (!madeByUs(template) || used.has(path))
            continue;
        if (pinned && bootsImage(clients.project, template, pinned))
            continue;
        const created = Date.parse(String(template.creationTimestamp ?? ''));
        if (!(created < opts.startedMs))
            continue;
        plan.push({
            action: 'delete',
            resource: path,
            detail: 'template made by nix-glab-runner that no group uses',
        });
        if (opts.dryRun)
            continue;
        try {
            await clients.templates.delete(path, opts.operationTimeoutMs);
            reporter.info(`Removed instance template ${template.name}: made by nix-glab-runner, used by no group.`);
        }
        catch (err) {
            // Google refuses (400) when a group took it up since our list, or it is gone (404): not ours to force.
            if (!(err instanceof gcp_errors/* GcpApiError */.FL && (err.status === 400 || err.status === 404)))
                throw err;
            reporter.warn(`Left instance template ${lastSegment(path)} in place: ${err.message}`);
        }
    }
    return plan;
}

;// CONCATENATED MODULE: ./src/lifecycle/commands.ts
/**
 * Runs one command (publish, roll, prune or rollback) and gathers its outputs, steps and plan. Publish
 * prunes after it created an image (one that found or reactivated its image prunes nothing) and rolls with
 * `roll: mig`.
 */










async function runCommand(config, reporter, run) {
    const started = Date.now();
    const result = {
        command: config.command,
        dryRun: config.dryRun,
        outputs: Object.fromEntries(src_config/* OUTPUTS */.py.map((o) => [o.name, ''])),
        steps: [],
        plan: [],
    };
    let cached;
    const clients = () => (cached ??= lifecycleClients(config, run.signal, reporter));
    switch (config.command) {
        case 'publish': {
            const published = await publish(config, reporter, run);
            Object.assign(result.outputs, published.outputs);
            result.steps.push(...published.steps);
            const image = published.outputs['image-name'];
            const created = published.made === 'created';
            if (config.dryRun && created) {
                result.plan.push({
                    action: 'upload',
                    resource: published.outputs['gcs-uri'],
                    detail: 'image tarball',
                });
                result.plan.push({ action: 'create', resource: image, detail: `image in family ${config.family}` });
            }
            if (published.made === 'reactivated') {
                // The newer images gave way to it, not to retention: prune has nothing more to count.
                if (config.dryRun) {
                    result.plan.push({
                        action: 'reactivate',
                        resource: image,
                        detail: 'deprecated image of this build, made ACTIVE again',
                    });
                    for (const newer of published.gaveWay)
                        result.plan.push({ action: 'deprecate', resource: newer, detail: `newer; replacement ${image}` });
                }
                else
                    result.outputs['images-deprecated'] = published.gaveWay.join(',');
            }
            if (created && !config.dryRun)
                run.state?.published(image);
            // A publish that created no image stays cheap: it prunes nothing.
            if (created)
                await runPrune(config, await clients(), reporter, result, run, config.dryRun ? image : undefined);
            if (config.roll === 'mig')
                await runRoll(config, await clients(), reporter, result, image, run, started, config.dryRun && created);
            break;
        }
        case 'prune':
            await runPrune(config, await clients(), reporter, result, run);
            break;
        case 'roll': {
            const c = await clients();
            const image = config.image ?? (await c.family.newest())?.name;
            if (!image)
                throw new errors/* UserError */.f(`Family ${config.family} has no ACTIVE image to roll onto; publish one or pass "image".`, 'image');
            await runRoll(config, c, reporter, result, image, run, started);
            break;
        }
        case 'rollback': {
            const c = await clients();
            const group = config.instanceGroup ? groupRef(c.project, config.instanceGroup) : undefined;
            const done = await reporter.group('Roll back', () => rollback(c, group, rollOptions(config, run), reporter));
            result.plan.push(...done.plan);
            result.outputs['image-name'] = done.to;
            result.outputs['image-family'] = config.family;
            result.outputs['images-deprecated'] = done.deprecated.join(',');
            result.steps.push({
                stage: 'rollback',
                result: `${config.dryRun ? 'would deprecate' : 'deprecated'} ${done.from}; family gives ${done.to}`,
            });
            if (done.roll) {
                rollOutputs(result, done.roll, config.dryRun);
                // Rollback run again would go back one image more; a roll onto the same image is a no-op that cleans up.
                const again = `the rollback itself finished (group ${done.roll.group} targets template ${lastSegment(done.roll.template)}); do not run rollback again, which would go back one image more, but roll onto ${done.to} (run "roll" to move the group onto ${done.to}), which removes the templates no group uses`;
                await cleanUpTemplates(config, c, reporter, result, done.roll, started, again, {
                    deprecating: done.from,
                });
            }
            break;
        }
    }
    result.outputs.duration = String(Math.round((Date.now() - started) / 1000));
    if (config.dryRun)
        result.outputs.plan = JSON.stringify(result.plan);
    return result;
}
function rollOptions(config, run) {
    return {
        drain: config.drain,
        drainTimeoutMs: config.drainTimeout * 1000,
        ...(config.maxSurge !== undefined ? { maxSurge: config.maxSurge } : {}),
        ...(config.maxUnavailable !== undefined ? { maxUnavailable: config.maxUnavailable } : {}),
        replacementMethod: config.replacementMethod,
        rollTimeoutMs: config.rollTimeout * 1000,
        operationTimeoutMs: config.operationTimeout * 1000,
        dryRun: config.dryRun,
        ...(run.pollMs !== undefined ? { pollMs: run.pollMs } : {}),
        ...(run.signal ? { signal: run.signal } : {}),
        ...(run.state ? { state: run.state } : {}),
    };
}
async function runPrune(config, clients, reporter, result, run, pending) {
    if (!config.dryRun)
        run.state?.pruning();
    const group = config.instanceGroup ? groupRef(clients.project, config.instanceGroup) : undefined;
    // A mistyped group would otherwise pass unnoticed whenever there is nothing to prune.
    if (group && !(await clients.groups.get(group)))
        throw groupNotFound(group);
    const pruned = await reporter.group('Retention', () => prune(clients, {
        keep: config.keep,
        retention: config.retention,
        ...(config.minAge !== undefined ? { minAge: config.minAge } : {}),
        ...(group ? { group } : {}),
        dryRun: config.dryRun,
        operationTimeoutMs: config.operationTimeout * 1000,
        ...(pending ? { pending } : {}),
    }, reporter));
    result.plan.push(...pruned.plan);
    result.outputs['image-family'] = config.family;
    result.outputs['images-deprecated'] = pruned.deprecated.join(',');
    result.outputs['images-deleted'] = pruned.deleted.join(',');
    const changed = pruned.plan.filter((p) => p.action === 'deprecate' || p.action === 'delete');
    const verb = config.dryRun ? 'would ' : '';
    result.steps.push({
        stage: 'retention',
        result: changed.length === 0
            ? 'nothing to prune'
            : changed.map((p) => `${verb}${p.action} ${p.resource}`).join(', '),
    });
}
async function runRoll(config, clients, reporter, result, image, run, startedMs, pendingImage = false) {
    const ref = groupRef(clients.project, config.instanceGroup);
    const rolled = await reporter.group(`Roll ${ref.path}`, () => roll(clients, ref, { ...rollOptions(config, run), image, pendingImage }, reporter));
    result.plan.push(...rolled.plan);
    result.outputs['image-name'] ||= image;
    rollOutputs(result, rolled, config.dryRun);
    await cleanUpTemplates(config, clients, reporter, result, rolled, startedMs, `the roll itself finished: group ${rolled.group} targets template ${lastSegment(rolled.template)}; run roll again to remove the templates no group uses`, pendingImage ? { pendingImage: image } : {});
}
/**
 * After a roll or rollback: our templates no group uses any more are removed (template-cleanup.ts). The
 * roll itself is done by then, so a failure here says so, and how to finish.
 */
async function cleanUpTemplates(config, clients, reporter, result, rolled, startedMs, 
/** What a failure here says about the command's own work, and how to finish. */
again, family) {
    const plan = await reporter.group('Unused templates', async () => {
        try {
            return await removeUnusedTemplates(clients, {
                rolled: { group: rolled.group, template: rolled.template },
                ...family,
                startedMs,
                dryRun: config.dryRun,
                operationTimeoutMs: config.operationTimeout * 1000,
            }, reporter);
        }
        catch (err) {
            if (err instanceof Error && !config.dryRun)
                err.message += `; ${again}`;
            throw err;
        }
    });
    result.plan.push(...plan);
    if (plan.length > 0)
        result.steps.push({
            stage: 'templates',
            result: `${config.dryRun ? 'would remove' : 'removed'} ${plan.map((p) => lastSegment(p.resource)).join(', ')}`,
        });
}
function rollOutputs(result, rolled, dryRun) {
    result.outputs['instance-group'] = rolled.group;
    result.outputs['instance-template'] = rolled.template;
    result.outputs['instances-replaced'] = String(rolled.replaced.length);
    result.outputs['instances-drained'] = String(rolled.drained.length);
    result.outputs['drain-timeouts'] = rolled.drainTimeouts.join(',');
    const what = rolled.noop
        ? 'already on the image'
        : dryRun
            ? `would move to ${rolled.template}`
            : `${rolled.replaced.length} replaced (${rolled.drained.length} drained, ${rolled.drainTimeouts.length} drain timeouts) onto ${rolled.template}`;
    result.steps.push({ stage: 'roll', result: what });
}


/***/ })

};
