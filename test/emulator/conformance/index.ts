import { computeMethods } from './compute.ts';
import { storageMethods } from './storage.ts';
import { Surface } from './surface.ts';

export { isUnknownNameRefusal, unknownQueryError, unknownQueryParameters } from './surface.ts';

let surface: Surface | undefined;

/** Every method of the APIs the emulator serves, as Google defines them. */
export function apiSurface(): Surface {
  surface ??= new Surface([...computeMethods(), ...storageMethods()]);
  return surface;
}
