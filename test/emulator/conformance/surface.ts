import { ApiError } from '../http.ts';
import { SYSTEM_PARAMETERS } from './system-parameters.ts';

/** One method of a Google REST API as the emulator checks requests against it. */
export interface SurfaceMethod {
  /** The discovery-style id, e.g. `compute.images.insert`, `storage.objects.get`. */
  id: string;
  httpMethod: string;
  /** The URL path template split on `/`; `{x}` segments match any one segment, `{x*}` the rest. */
  segments: string[];
  /** The query parameters the method defines. */
  query: ReadonlySet<string>;
  /** The first body field the method does not define, if any; absent when the method takes no JSON body. */
  unknownBodyField?: (body: unknown) => UnknownField | undefined;
}

export interface UnknownField {
  name: string;
  /** Where it sits, as Google names the place (`image_resource.raw_disk`); absent at the top. */
  at?: string;
}

/** The methods of one API, found by HTTP method and path. */
export class Surface {
  private readonly byShape = new Map<string, SurfaceMethod[]>();

  constructor(methods: Iterable<SurfaceMethod>) {
    for (const m of methods) {
      const key = `${m.httpMethod} ${m.segments.length}`;
      const list = this.byShape.get(key) ?? [];
      list.push(m);
      this.byShape.set(key, list);
    }
    // Where two templates match one path, the one with more fixed segments is the method (images/family/F).
    for (const list of this.byShape.values()) list.sort((a, b) => literals(b) - literals(a));
  }

  get size(): number {
    let n = 0;
    for (const list of this.byShape.values()) n += list.length;
    return n;
  }

  match(httpMethod: string, pathname: string): SurfaceMethod | undefined {
    const parts = pathname.split('/').filter(Boolean);
    const candidates = this.byShape.get(`${httpMethod} ${parts.length}`) ?? [];
    return candidates.find((m) => m.segments.every((s, i) => s.startsWith('{') || s === parts[i]));
  }
}

function literals(m: SurfaceMethod): number {
  return m.segments.filter((s) => !s.startsWith('{')).length;
}

/** The query parameter names of a request that neither the method nor the platform defines. */
export function unknownQueryParameters(method: SurfaceMethod, url: URL): string[] {
  return [...new Set(url.searchParams.keys())].filter(
    (k) => !method.query.has(k) && !SYSTEM_PARAMETERS.has(k),
  );
}

/**
 * Google's answer to a name it cannot bind: 400 INVALID_ARGUMENT with a BadRequest field violation, in the
 * wording of Google's API front end ("Invalid JSON payload received. Unknown name …").
 */
export function unknownNameError(message: string, field?: string): ApiError {
  const err = new ApiError(400, message, 'invalid', {
    status: 'INVALID_ARGUMENT',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ ...(field ? { field } : {}), description: message }],
      },
    ],
  });
  refusals.add(err);
  return err;
}

const refusals = new WeakSet<Error>();

/** Whether an error is the emulator refusing a name the API does not define (for the request log). */
export function isUnknownNameRefusal(err: unknown): err is ApiError {
  return err instanceof Error && refusals.has(err);
}

export function unknownQueryError(name: string): ApiError {
  return unknownNameError(
    `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`,
  );
}

export function unknownBodyError({ name, at }: UnknownField): ApiError {
  const where = at ? ` at '${at}'` : '';
  return unknownNameError(
    `Invalid JSON payload received. Unknown name "${name}"${where}: Cannot find field.`,
    at,
  );
}
