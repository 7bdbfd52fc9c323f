/** The failure line both entry points print (the CLI's `error:` line, the action's `::error::`). */
import { describe, expect, it } from 'vitest';
import { ExitCode, UserError } from '../../src/errors.ts';
import { describeFailure } from '../../src/failure.ts';

describe('describeFailure', () => {
  it('shows control characters from a tool we ran in caret notation, keeping the line breaks', () => {
    // As Nix's first error line would carry it: a colour, a GitLab section marker, a workflow command.
    const nix = '\x1b[31mbad\x1b[0m\r\x1b[0Ksection_start:1:x ::error::pwned\x07';
    const { message, exitCode } = describeFailure(
      new UserError(`The flake input cannot be fetched: ${nix}\n  tail line\r`, 'flake'),
    );
    expect(message).toBe(
      'The flake input cannot be fetched: ^[[31mbad^[[0m^M^[[0Ksection_start:1:x ::error::pwned^G\n  tail line^M',
    );
    expect(exitCode).toBe(ExitCode.BadInput);
    expect(describeFailure(new Error('\x1b]0;title\x07')).message).toBe('Unexpected failure: ^[]0;title^G');
  });
});
