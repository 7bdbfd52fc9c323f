import type { EmulatorContext, EmulatorService } from '../context.ts';

// Placeholder: replaced by the Cloud Storage implementation.
export interface StorageService extends EmulatorService {}
export function createStorageService(_ctx: EmulatorContext): StorageService {
  return {};
}
