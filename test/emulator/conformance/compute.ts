import { createRequire } from 'node:module';
import type { SurfaceMethod, UnknownField } from './surface.ts';

/**
 * Compute Engine v1 as `@google-cloud/compute` ships it: the protos compiled to JSON, whose
 * `google.api.http` annotations give each method's HTTP method, path template and body field, and whose
 * request messages give the rest: every field not bound to the path or the body is a query parameter.
 * Body fields are checked at every depth against the messages, as Google's JSON parser does.
 */

interface ProtoField {
  type: string;
  rule?: string;
  keyType?: string;
}
interface ProtoType {
  fields?: Record<string, ProtoField>;
  methods?: Record<string, { requestType: string; options?: Record<string, string> }>;
  values?: Record<string, number>;
  nested?: Record<string, ProtoType>;
}

let loaded: { types: Record<string, ProtoType>; methods: SurfaceMethod[] } | undefined;

function v1(): { types: Record<string, ProtoType>; methods: SurfaceMethod[] } {
  if (loaded) return loaded;
  const protos = createRequire(import.meta.url)('@google-cloud/compute/build/protos/protos.json');
  const types = protos.nested.google.nested.cloud.nested.compute.nested.v1.nested as Record<
    string,
    ProtoType
  >;
  const methods: SurfaceMethod[] = [];
  for (const [serviceName, service] of Object.entries(types)) {
    for (const [methodName, method] of Object.entries(service.methods ?? {})) {
      const options = method.options ?? {};
      const verb = ['get', 'post', 'patch', 'put', 'delete'].find((v) => options[`(google.api.http).${v}`]);
      if (!verb) continue;
      const template = options[`(google.api.http).${verb}`] as string;
      const request = types[method.requestType]?.fields ?? {};
      const pathFields = new Set([...template.matchAll(/\{([^}=]+)/g)].map((m) => camel(m[1] as string)));
      const bodyField = options['(google.api.http).body'];
      const bodyName = bodyField ? camel(bodyField) : undefined;
      const query = new Set<string>();
      for (const name of Object.keys(request))
        if (!pathFields.has(name) && name !== bodyName) query.add(name).add(snake(name));
      const bodyType = bodyName ? request[bodyName]?.type : undefined;
      methods.push({
        id: `compute.${lowerFirst(serviceName)}.${lowerFirst(methodName)}`,
        httpMethod: verb.toUpperCase(),
        segments: template.split('/').filter(Boolean),
        query,
        ...(bodyType && bodyField
          ? { unknownBodyField: (body: unknown) => unknownField(types, bodyType, body, bodyField) }
          : {}),
      });
    }
  }
  loaded = { types, methods };
  return loaded;
}

/** Every Compute v1 method with an HTTP binding. */
export function computeMethods(): SurfaceMethod[] {
  return v1().methods;
}

/** The names of an enum nested in a message, e.g. `GuestOsFeature.Type`. */
export function computeEnum(message: string, name: string): string[] {
  return Object.keys(v1().types[message]?.nested?.[name]?.values ?? {});
}

/** The first field of `value` (JSON for message `type`) the message does not define, depth first. */
function unknownField(
  types: Record<string, ProtoType>,
  type: string,
  value: unknown,
  at: string,
): UnknownField | undefined {
  const fields = types[type]?.fields;
  if (!fields || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const field = fields[key] ?? fields[camel(key)];
    if (!field) return { name: key, at };
    const place = `${at}.${snake(camel(key))}`;
    if (!types[field.type]?.fields) continue;
    const items: [string, unknown][] =
      field.keyType !== undefined && typeof child === 'object' && child !== null
        ? Object.entries(child).map(([k, v]) => [`${place}[${k}]`, v])
        : field.rule === 'repeated' && Array.isArray(child)
          ? child.map((v, i) => [`${place}[${i}]`, v])
          : [[place, child]];
    for (const [where, item] of items) {
      const found = unknownField(types, field.type, item, where);
      if (found) return found;
    }
  }
  return undefined;
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The proto field name behind a JSON name, which Google's JSON parser accepts too. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
