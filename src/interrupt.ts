/**
 * SIGINT and SIGTERM, the same for the CLI and the action. The first signal aborts the run's AbortSignal:
 * every wait (Nix, upload, operations, roll polls) stops and the run unwinds to its entry point, which
 * prints what was left behind. A second signal exits at once with that message: GitHub cancels a step with
 * SIGINT, then SIGTERM about 7.5 s later, then SIGKILL, and a user may press Ctrl-C twice.
 */
import { ExitCode } from './errors.ts';
import { RunState } from './run-state.ts';

export interface Interruption {
  /** Aborted by the first signal; hand it to everything that waits. */
  readonly signal: AbortSignal;
  /** What the run has under way; the stages record into it. */
  readonly state: RunState;
  /** The signal that interrupted the run, once one arrived. */
  readonly received: NodeJS.Signals | undefined;
  /** The message for the user: the stage that was stopped and what it left behind. */
  message(): string;
  /**
   * The run is over. Without a signal the handlers go; after one they stay, so that a signal arriving while
   * the process exits ends it with the same exit code rather than printing the message twice.
   */
  dispose(): void;
}

export interface InterruptHandlers {
  /** The first signal: say the run is stopping. */
  stopping(signal: NodeJS.Signals): void;
  /** The second signal: report `message` as the run's failure; the process exits right after. */
  exitNow(message: string): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export function handleInterrupts(handlers: InterruptHandlers): Interruption {
  const abort = new AbortController();
  const state = new RunState();
  let received: NodeJS.Signals | undefined;
  let reported = false;
  const message = () => state.message(received ?? 'a signal');
  const onSignal = (signal: NodeJS.Signals) => {
    if (reported) process.exit(ExitCode.Interrupted);
    if (received) {
      handlers.exitNow(message());
      process.exit(ExitCode.Interrupted);
    }
    received = signal;
    handlers.stopping(signal);
    abort.abort(Object.assign(new Error(`Interrupted by ${signal}`), { name: 'AbortError' }));
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    signal: abort.signal,
    state,
    get received() {
      return received;
    },
    message,
    dispose: () => {
      if (received) reported = true;
      else for (const s of SIGNALS) process.off(s, onSignal);
    },
  };
}
