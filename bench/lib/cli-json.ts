/** What `publish --json` prints on success: the step outputs, with `skipped` a boolean. */
export interface PublishOutputs {
  skipped: boolean;
  'store-path': string;
  'image-name': string;
}

/** The CLI's `--json` line, checked: a bench figure of a publish that did something else would be wrong. */
export function publishOutputs(stdout: string, expectSkipped: boolean, what: string): PublishOutputs {
  let outputs: PublishOutputs;
  try {
    outputs = JSON.parse(stdout) as PublishOutputs;
  } catch {
    throw new Error(`${what}: publish --json printed no JSON: ${stdout.slice(0, 500)}`);
  }
  if (typeof outputs.skipped !== 'boolean')
    throw new Error(`${what}: "skipped" is not a boolean in ${stdout.slice(0, 500)}`);
  if (outputs.skipped !== expectSkipped)
    throw new Error(
      `${what}: expected a ${expectSkipped ? 'no-op' : 'publish'}, got ${stdout.slice(0, 500)}`,
    );
  return outputs;
}

/**
 * The CLI's publish command line against the emulator (both endpoints at `url`), printing --json; `build`
 * says what to publish (--flake …, or --image-file …).
 */
export function publishArgs(
  cli: string,
  url: string,
  target: { project: string; bucket: string; family: string },
  build: string[],
): string[] {
  return [
    cli,
    'publish',
    ...build,
    '--project',
    target.project,
    '--bucket',
    target.bucket,
    '--family',
    target.family,
    '--storage-endpoint',
    url,
    '--compute-endpoint',
    url,
    '--json',
  ];
}
