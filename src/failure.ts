import { ExitCode, UserError } from './errors.ts';
import { GcpApiError } from './gcp/errors.ts';

/** One line for the user and the exit code, for any error a run can end with. */
export function describeFailure(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UserError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof GcpApiError) return { message: err.message, exitCode: ExitCode.CloudFailed };
  if ((err as Error)?.name === 'AbortError')
    return { message: 'Interrupted.', exitCode: ExitCode.Interrupted };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `Unexpected failure: ${message}`, exitCode: ExitCode.Failed };
}
