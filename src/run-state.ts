/**
 * What a run has under way, recorded by the stages as they go, so that an interrupted run can say in one
 * message what it left behind and what the next run does about it (README "Interrupting a run").
 */

/** The stage in flight and the facts an interruption message needs about it. */
type Stage =
  | { kind: 'prepare' }
  | { kind: 'build' }
  | { kind: 'upload'; uri: string; size: number; sent: number }
  | { kind: 'insert'; image: string; object: string; operation?: string }
  | { kind: 'remove-object'; image: string; object: string }
  | { kind: 'prune' }
  | { kind: 'rollback'; from: string; to: string }
  | {
      kind: 'roll';
      group: string;
      image: string;
      from: string;
      template: string;
      /** Whether the group's new version was sent, and whether Google confirmed it. */
      retarget: 'none' | 'sent' | 'done';
      progress?: RollProgress;
    };

export interface RollProgress {
  /** Instances that run the target template, settled. */
  updated: number;
  total: number;
  /** Old instances told to drain, not yet handed to the group. */
  draining: string[];
  /** Instances handed to the group for replacement, not yet settled on the target. */
  replacing: string[];
}

const MiB = 2 ** 20;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const last = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export class RunState {
  private stage: Stage = { kind: 'prepare' };
  /** Work finished earlier in the run that the message must not let the user forget. */
  private readonly finished: string[] = [];

  building(): void {
    this.stage = { kind: 'build' };
  }

  uploading(uri: string): void {
    this.stage = { kind: 'upload', uri, size: 0, sent: 0 };
  }

  /** How far into the file the bytes sent to the session reach (handed to the socket), of `size`. */
  sent(bytes: number, size: number): void {
    if (this.stage.kind !== 'upload') return;
    this.stage.sent = Math.max(this.stage.sent, bytes);
    this.stage.size = size;
  }

  inserting(image: string, object: string): void {
    this.stage = { kind: 'insert', image, object };
  }

  /** The insert was accepted: Google runs it as this operation, with or without us. */
  operation(name: string): void {
    if (this.stage.kind === 'insert') this.stage.operation = name;
  }

  removingObject(image: string, object: string): void {
    this.stage = { kind: 'remove-object', image, object };
  }

  published(image: string): void {
    this.finished.push(`image ${image} is published`);
    this.stage = { kind: 'prepare' };
  }

  pruning(): void {
    this.stage = { kind: 'prune' };
  }

  /** Rollback is about to deprecate `from`, after which the family gives `to`. */
  rollingBack(from: string, to: string): void {
    this.stage = { kind: 'rollback', from, to };
  }

  /** A roll of `group` from template `from` onto `image` through `template` (made or reused). */
  rolling(roll: { group: string; image: string; from: string; template: string }): void {
    // Rollback rolls only once its deprecation is done.
    if (this.stage.kind === 'rollback')
      this.finished.push(
        `image ${this.stage.from} is deprecated and the family gives ${this.stage.to} (do not run rollback again: it would deprecate ${this.stage.to} too)`,
      );
    // A resumed roll starts on the target template already.
    this.stage = { kind: 'roll', ...roll, retarget: roll.from === roll.template ? 'done' : 'none' };
  }

  /** The group's new version is sent (`done` false), or in force (`done` true). */
  retargeted(done: boolean): void {
    if (this.stage.kind === 'roll') this.stage.retarget = done ? 'done' : 'sent';
  }

  rollProgress(progress: RollProgress): void {
    if (this.stage.kind === 'roll') this.stage.progress = progress;
  }

  /** One line: which stage the signal stopped, what it left behind, and what the next run does. */
  message(signal: string): string {
    const done = this.finished.length > 0 ? `${this.finished.join('; ')}; ` : '';
    const s = this.stage;
    switch (s.kind) {
      case 'prepare':
        return done
          ? `Interrupted by ${signal}: ${done}nothing else was changed.`
          : `Interrupted by ${signal} before anything was uploaded or created; run it again.`;
      case 'build':
        return `Interrupted by ${signal} during the Nix build: nothing was uploaded or created; the next run builds again, reusing what Nix finished in /nix/store.`;
      case 'upload':
        if (s.sent === 0)
          return `Interrupted by ${signal} during upload: ${s.uri} was not written and no bytes were sent; the next run uploads from the start.`;
        return s.sent < s.size
          ? `Interrupted by ${signal} during upload: ${s.uri} was not written; ${mib(s.sent)} of ${mib(s.size)} MiB were sent to an unfinished resumable session, which is abandoned (Google discards it within a week); the next run uploads from the start.`
          : `Interrupted by ${signal} during upload: all ${mib(s.size)} MiB were sent but Google's answer did not arrive, so ${s.uri} may or may not exist; the next run reuses it if it holds these bytes, else uploads from the start.`;
      case 'insert':
        return s.operation
          ? `Interrupted by ${signal} during image insert: the insert of image ${s.image} (operation ${s.operation}) goes on in Google Cloud; ${s.object} is kept until the image is READY; the next run waits for the image and creates no duplicate.`
          : `Interrupted by ${signal} during image insert: the insert of image ${s.image} may have reached Google Cloud; ${s.object} is kept; the next run finds the image if it was created, waits for it and creates no duplicate.`;
      case 'remove-object':
        return `Interrupted by ${signal} after image ${s.image} was created: deleting ${s.object} did not finish, so it may still exist; remove it with: gcloud storage rm ${s.object}`;
      case 'prune':
        return `Interrupted by ${signal} during retention: ${done}deprecations and deletions already sent go on in Google Cloud; the next publish or prune does the rest.`;
      case 'rollback':
        return `Interrupted by ${signal} during rollback: the deprecation of ${s.from} may have reached Google Cloud, where it goes on; if ${s.from} is DEPRECATED the family gives ${s.to}, so move the group with roll --image ${s.to} (rollback again would deprecate ${s.to} too), else run rollback again.`;
      case 'roll':
        return `Interrupted by ${signal} during roll: ${done}${rollState(s)}`;
    }
  }
}

function rollState(s: Extract<Stage, { kind: 'roll' }>): string {
  const next = `the next roll of image ${s.image} continues`;
  if (s.retarget === 'none')
    return `group ${s.group} still targets template ${last(s.from)}; ${next}, reusing template ${last(s.template)} if it was created.`;
  if (s.retarget === 'sent')
    return `the update of group ${s.group} to template ${last(s.template)} was sent and goes on in Google Cloud; ${next}.`;
  const facts = [`group ${s.group} targets template ${last(s.template)}`];
  const p = s.progress;
  if (p) {
    facts.push(`${p.updated} of ${p.total} instances run it`);
    facts.push(`being drained: ${p.draining.length > 0 ? p.draining.join(', ') : 'none'}`);
    if (p.replacing.length > 0) facts.push(`being replaced by the group: ${p.replacing.join(', ')}`);
  }
  return `${facts.join('; ')}; ${next}${p && p.draining.length > 0 ? ', keeping their drain deadlines' : ''}.`;
}
