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

/**
 * Exit codes shared by the CLI and the action. What each means is written once, in EXIT_CODE_MEANINGS
 * (src/cli/args.ts), which `--help` prints; the README documents them too.
 */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  BadInput: 2,
  NixFailed: 3,
  CloudFailed: 4,
  RolledBack: 5,
  Interrupted: 130,
} as const;
