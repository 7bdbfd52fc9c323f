import type { EmulatorContext, EmulatorService } from '../context.ts';

// Placeholder: replaced by the Compute Engine implementation.
export interface ComputeService extends EmulatorService {}
export function createComputeService(_ctx: EmulatorContext): ComputeService {
  return {};
}
