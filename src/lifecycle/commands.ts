/**
 * Runs one command (publish, roll, prune or rollback) and gathers its outputs, steps and plan. Publish
 * prunes after it created an image (one that found or reactivated its image prunes nothing) and rolls with
 * `roll: mig`.
 */
import { type Command, type Config, OUTPUTS } from '../config.ts';
import { UserError } from '../errors.ts';
import { groupRef } from '../gcp/groups.ts';
import { lastSegment } from '../gcp/resource-path.ts';
import { type PublishEnvironment, publish } from '../pipeline.ts';
import type { Reporter } from '../report/events.ts';
import { type Clients, lifecycleClients } from './clients.ts';
import type { PlanStep } from './plan.ts';
import { prune } from './retention.ts';
import { rollback } from './rollback.ts';
import { groupNotFound, type RollOptions, type RollResult, roll } from './rollout.ts';
import { removeUnusedTemplates } from './template-cleanup.ts';

export type Outputs = Record<string, string>;

export interface CommandResult {
  command: Command;
  dryRun: boolean;
  /** Every output of the schema, '' when it does not apply. */
  outputs: Outputs;
  steps: { stage: string; result: string }[];
  plan: PlanStep[];
}

export interface RunEnvironment extends PublishEnvironment {
  /** How often a roll polls the group and the guests (default 5 s). */
  pollMs?: number;
}

export async function runCommand(
  config: Config,
  reporter: Reporter,
  run: RunEnvironment,
): Promise<CommandResult> {
  const started = Date.now();
  const result: CommandResult = {
    command: config.command,
    dryRun: config.dryRun,
    outputs: Object.fromEntries(OUTPUTS.map((o) => [o.name, ''])),
    steps: [],
    plan: [],
  };
  let cached: Promise<Clients> | undefined;
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
        } else result.outputs['images-deprecated'] = published.gaveWay.join(',');
      }
      if (created && !config.dryRun) run.state?.published(image);
      // A publish that created no image stays cheap: it prunes nothing.
      if (created)
        await runPrune(config, await clients(), reporter, result, run, config.dryRun ? image : undefined);
      if (config.roll === 'mig')
        await runRoll(
          config,
          await clients(),
          reporter,
          result,
          image,
          run,
          started,
          config.dryRun && created,
        );
      break;
    }
    case 'prune':
      await runPrune(config, await clients(), reporter, result, run);
      break;
    case 'roll': {
      const c = await clients();
      const image = config.image ?? (await c.family.newest())?.name;
      if (!image)
        throw new UserError(
          `Family ${config.family} has no ACTIVE image to roll onto; publish one or pass "image".`,
          'image',
        );
      await runRoll(config, c, reporter, result, image, run, started);
      break;
    }
    case 'rollback': {
      const c = await clients();
      const group = config.instanceGroup ? groupRef(c.project, config.instanceGroup) : undefined;
      const done = await reporter.group('Roll back', () =>
        rollback(c, group, rollOptions(config, run), reporter),
      );
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
  if (config.dryRun) result.outputs.plan = JSON.stringify(result.plan);
  return result;
}

function rollOptions(config: Config, run: RunEnvironment): Omit<RollOptions, 'image'> {
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

async function runPrune(
  config: Config,
  clients: Clients,
  reporter: Reporter,
  result: CommandResult,
  run: RunEnvironment,
  pending?: string,
): Promise<void> {
  if (!config.dryRun) run.state?.pruning();
  const group = config.instanceGroup ? groupRef(clients.project, config.instanceGroup) : undefined;
  // A mistyped group would otherwise pass unnoticed whenever there is nothing to prune.
  if (group && !(await clients.groups.get(group))) throw groupNotFound(group);
  const pruned = await reporter.group('Retention', () =>
    prune(
      clients,
      {
        keep: config.keep,
        retention: config.retention,
        ...(config.minAge !== undefined ? { minAge: config.minAge } : {}),
        ...(group ? { group } : {}),
        dryRun: config.dryRun,
        operationTimeoutMs: config.operationTimeout * 1000,
        ...(pending ? { pending } : {}),
      },
      reporter,
    ),
  );
  result.plan.push(...pruned.plan);
  result.outputs['image-family'] = config.family;
  result.outputs['images-deprecated'] = pruned.deprecated.join(',');
  result.outputs['images-deleted'] = pruned.deleted.join(',');
  const changed = pruned.plan.filter((p) => p.action === 'deprecate' || p.action === 'delete');
  const verb = config.dryRun ? 'would ' : '';
  result.steps.push({
    stage: 'retention',
    result:
      changed.length === 0
        ? 'nothing to prune'
        : changed.map((p) => `${verb}${p.action} ${p.resource}`).join(', '),
  });
}

async function runRoll(
  config: Config,
  clients: Clients,
  reporter: Reporter,
  result: CommandResult,
  image: string,
  run: RunEnvironment,
  startedMs: number,
  pendingImage = false,
): Promise<void> {
  const ref = groupRef(clients.project, config.instanceGroup as string);
  const rolled = await reporter.group(`Roll ${ref.path}`, () =>
    roll(clients, ref, { ...rollOptions(config, run), image, pendingImage }, reporter),
  );
  result.plan.push(...rolled.plan);
  result.outputs['image-name'] ||= image;
  rollOutputs(result, rolled, config.dryRun);
  await cleanUpTemplates(
    config,
    clients,
    reporter,
    result,
    rolled,
    startedMs,
    `the roll itself finished: group ${rolled.group} targets template ${lastSegment(rolled.template)}; run roll again to remove the templates no group uses`,
    pendingImage ? { pendingImage: image } : {},
  );
}

/**
 * After a roll or rollback: our templates no group uses any more are removed (template-cleanup.ts). The
 * roll itself is done by then, so a failure here says so, and how to finish.
 */
async function cleanUpTemplates(
  config: Config,
  clients: Clients,
  reporter: Reporter,
  result: CommandResult,
  rolled: RollResult,
  startedMs: number,
  /** What a failure here says about the command's own work, and how to finish. */
  again: string,
  family: { pendingImage?: string; deprecating?: string },
): Promise<void> {
  const plan = await reporter.group('Unused templates', async () => {
    try {
      return await removeUnusedTemplates(
        clients,
        {
          rolled: { group: rolled.group, template: rolled.template },
          ...family,
          startedMs,
          dryRun: config.dryRun,
          operationTimeoutMs: config.operationTimeout * 1000,
        },
        reporter,
      );
    } catch (err) {
      if (err instanceof Error && !config.dryRun) err.message += `; ${again}`;
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

function rollOutputs(result: CommandResult, rolled: RollResult, dryRun: boolean): void {
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
