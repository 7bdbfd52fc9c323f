/**
 * An error the user can fix. Its message is one sentence that names the input (when there is one)
 * and the rule it broke. Entry points print it without a stack trace and exit with `exitCode`.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly input?: string,
    readonly exitCode: number = ExitCode.BadInput,
  ) {
    super(message);
  }
}

/** Exit codes shared by the CLI and the action; documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** Unexpected failure: a bug or an unclassified API error. */
  Failed: 1,
  /** Bad input, or a name another build holds: nothing was uploaded or created (nor built, for bad input). */
  BadInput: 2,
  /** The Nix stage failed (install or build). */
  NixFailed: 3,
  /** A Google Cloud call failed after retries. */
  CloudFailed: 4,
  /** The build was rolled back earlier; republishing needs an explicit override. */
  RolledBack: 5,
  /** Interrupted by SIGINT or SIGTERM. */
  Interrupted: 130,
} as const;
