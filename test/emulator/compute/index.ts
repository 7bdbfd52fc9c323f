import type { EmulatorContext, EmulatorService } from '../context.ts';
import { Images } from './images.ts';
import { addOperationRoutes } from './operation-routes.ts';
import { Operations } from './operations.ts';
import { ComputeState } from './state.ts';
import type { Core } from './core.ts';

/** The Compute Engine half of the emulator. */
export interface ComputeService extends EmulatorService {
  readonly images: Images;
}

export function createComputeService(ctx: EmulatorContext): ComputeService {
  const state = new ComputeState(ctx.options.dataDir);
  const ops = new Operations(state, ctx);
  const core: Core = { ctx, state, ops };
  addOperationRoutes(core);
  const images = new Images(core);
  images.resume();
  ops.resume();
  return {
    images,
    close() {
      ops.close();
      state.save();
    },
  };
}
