import { ExitCode, UserError } from './errors.ts';
import { GcpApiError } from './gcp/errors.ts';
import type { Interruption } from './interrupt.ts';
import { visibleLine } from './report/visible-line.ts';

/**
 * One line for the user and the exit code, for any error a run can end with. Once a signal interrupted
 * the run, whatever error the stopped stage threw is a consequence of it: the message is then what the
 * interruption left behind. Messages quote text we did not write (Nix's errors, its build log), so each
 * line's control characters are shown in caret notation.
 */
export function describeFailure(
  err: unknown,
  interruption?: Pick<Interruption, 'received' | 'message'>,
): { message: string; exitCode: number } {
  const { message, exitCode } = failure(err, interruption);
  return { message: message.split('\n').map(visibleLine).join('\n'), exitCode };
}

function failure(
  err: unknown,
  interruption?: Pick<Interruption, 'received' | 'message'>,
): { message: string; exitCode: number } {
  if (interruption?.received) return { message: interruption.message(), exitCode: ExitCode.Interrupted };
  if (err instanceof UserError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof GcpApiError) return { message: err.message, exitCode: ExitCode.CloudFailed };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `Unexpected failure: ${message}`, exitCode: ExitCode.Failed };
}
