/**
 * Rollback: mark the newest managed image rolled back and deprecate it, so the family points at the previous
 * one again, then roll the group back onto that image. `getFromFamily` gives only non-deprecated images
 * (docs/architecture.md, "Families and deprecation"), so it needs an older ACTIVE managed image to fall back
 * to before touching anything.
 */
import { UserError } from '../errors.ts';
import { ConflictError, GcpApiError } from '../gcp/errors.ts';
import type { GroupRef } from '../gcp/groups.ts';
import { deprecationState, describeState, type Image, isCurrent } from '../gcp/images.ts';
import type { Reporter } from '../report/events.ts';
import type { Clients } from './clients.ts';
import type { PlanStep } from './plan.ts';
import { activeManaged } from './retention.ts';
import { markRolledBack, unmarkRolledBack } from './rolled-back.ts';
import { type RollOptions, type RollResult, roll } from './rollout.ts';

export interface RollbackResult {
  from: string;
  to: string;
  deprecated: string[];
  roll?: RollResult;
  plan: PlanStep[];
}

export async function rollback(
  clients: Clients,
  group: GroupRef | undefined,
  opts: Omit<RollOptions, 'image'>,
  reporter: Reporter,
): Promise<RollbackResult> {
  const counted = activeManaged(await clients.family.list());
  const [newest, previous] = counted;
  if (!newest || !previous) {
    throw new UserError(
      `Family ${clients.family.family} has ${counted.length} managed ACTIVE image(s); rollback needs an older one to go back to, so nothing was deprecated.`,
      'family',
    );
  }
  const result: RollbackResult = { from: newest.name, to: previous.name, deprecated: [], plan: [] };
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
    result.roll = await roll(
      clients,
      group,
      { ...opts, image: previous.name, supersede: newest.name },
      reporter,
    );
  } catch (err) {
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
async function deprecateNewest(
  clients: Clients,
  newest: string,
  previous: Image,
  timeoutMs: number,
  reporter: Reporter,
  group: GroupRef | undefined,
): Promise<boolean> {
  const family = clients.family.family;
  const [now, back] = await Promise.all([clients.images.get(newest), clients.images.get(previous.name)]);
  if (!isCurrent(back)) {
    const state = describeState(back);
    throw new ConflictError(
      `Family ${family} changed during rollback: ${previous.name}, the image to go back to, is ${state} now (someone else changed it), so nothing was deprecated; run rollback again.`,
    );
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
  } catch (err) {
    if (!(err instanceof GcpApiError && err.status === 404))
      throw await deprecationOutcome(clients, err, newest, previous.name, group, timeoutMs);
    reporter.info(
      `${newest} was deleted by someone else meanwhile; family ${family} gives ${previous.name}.`,
    );
    return false;
  }
  reporter.info(`Deprecated ${newest}; family ${family} now gives ${previous.name}.`);
  return true;
}

/**
 * A deprecation that failed may have happened all the same (its operation's wait gave up). Rollback again
 * would then deprecate the image before it, so the message says what to run instead.
 */
async function deprecationOutcome(
  clients: Clients,
  err: unknown,
  newest: string,
  previous: string,
  group: GroupRef | undefined,
  timeoutMs: number,
): Promise<unknown> {
  if (!(err instanceof Error)) return err;
  const now = await clients.images.get(newest).catch(() => undefined);
  // Not rolled back after all: the mark goes, or a later retention would make the build look rolled back.
  if (now && deprecationState(now) === 'ACTIVE')
    await unmarkRolledBack(clients.images, newest, timeoutMs).catch(() => false);
  if (!now || deprecationState(now) === 'ACTIVE') return err;
  err.message += group
    ? ` (image ${newest} is deprecated all the same and the family gives ${previous}; run "roll" to move the group onto ${previous})`
    : ` (image ${newest} is deprecated all the same and the family gives ${previous}; do not run rollback again)`;
  return err;
}
