/**
 * Scripted runner guests for the emulator, following the guest side of the drain protocol
 * (docs/architecture.md, "The drain protocol"): on the drain key they report draining with running jobs, then drained after `drainMs`.
 */
import type { Emulator } from '../emulator/index.ts';

export const DRAIN_STATE = 'nix-glab-runner/drain-state';

export function drainingGuests(emu: Emulator, opts: { drainMs: number; silent?: RegExp }): () => void {
  return emu.compute.scriptGuest(
    () => true,
    (event, api) => {
      if (event.type !== 'metadata' || !event.changed.includes('nix-glab-runner-drain')) return;
      if (!event.metadata['nix-glab-runner-drain']) return;
      if (opts.silent?.test(event.instance)) return;
      api.setGuestAttribute('nix-glab-runner/drain-started', new Date().toISOString());
      api.setGuestAttribute('nix-glab-runner/running-jobs', '2');
      api.setGuestAttribute(DRAIN_STATE, 'draining');
      api.after(opts.drainMs, () => {
        api.setGuestAttribute('nix-glab-runner/running-jobs', '0');
        api.setGuestAttribute('nix-glab-runner/drain-finished', new Date().toISOString());
        api.setGuestAttribute(DRAIN_STATE, 'drained');
      });
    },
  );
}

/**
 * Checks the instance event log: every instance that existed before the roll was deleted or recreated
 * only after its guest reported drained, or after its drain deadline. Returns a problem per violation.
 */
export function replacementsBeforeDrain(
  emu: Emulator,
  oldInstances: readonly string[],
  sinceMs: number,
): string[] {
  const problems: string[] = [];
  const events = emu.compute.instanceEvents.filter((e) => e.ms >= sinceMs);
  for (const name of oldInstances) {
    const mine = events.filter((e) => e.instance === name);
    const replaced = mine.find((e) => e.event === 'deleted' || e.event === 'recreated');
    if (!replaced) {
      problems.push(`${name} was never replaced`);
      continue;
    }
    const drained = mine.find(
      (e) => e.event === 'guest-attribute' && e.detail?.path === DRAIN_STATE && e.detail?.value === 'drained',
    );
    const seen = mine.find((e) => e.event === 'draining-seen');
    const deadline = Date.parse(String(seen?.detail?.deadline ?? ''));
    const drainedFirst = drained !== undefined && drained.ms <= replaced.ms;
    const pastDeadline = !Number.isNaN(deadline) && replaced.ms >= deadline;
    if (!drainedFirst && !pastDeadline)
      problems.push(`${name} was ${replaced.event} at ${replaced.time} before drained or its deadline`);
  }
  return problems;
}
