import surface from './storage-surface.json' with { type: 'json' };
import type { SurfaceMethod } from './surface.ts';

/**
 * Cloud Storage JSON API v1, from storage-surface.json (scripts/gen-storage-surface.ts writes it from the
 * client the Google Cloud SDK generates from the API's discovery document). Bodies are checked at the top
 * level only: the nested parts of a Storage resource are small and the emulator reads none of them.
 */
export function storageMethods(): SurfaceMethod[] {
  return surface.methods.map((m) => {
    const body = 'body' in m && m.body ? new Set(m.body) : undefined;
    return {
      id: m.id,
      httpMethod: m.httpMethod,
      segments: m.path.split('/').filter(Boolean),
      query: new Set(m.query),
      ...(body
        ? {
            unknownBodyField: (value: unknown) => {
              if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
              const name = Object.keys(value).find((k) => !body.has(k));
              return name === undefined ? undefined : { name };
            },
          }
        : {}),
    };
  });
}
