/**
 * The workflow commands the GitHub Actions runner would act on in a step's output. The runner cannot run
 * here, so this follows its documented rules, erring towards finding more: `::name k=v,…::data` and the
 * older `##[name k=v;…]data` are taken anywhere in a line (the runner takes the first only at the start of
 * a line), and after a line `::stop-commands::<token>` no command is processed until a line `::<token>::`.
 */
export interface RunnerCommand {
  name: string;
  data: string;
  line: string;
}

export function runnerCommands(output: string): RunnerCommand[] {
  const found: RunnerCommand[] = [];
  let stopToken: string | undefined;
  for (const line of output.split('\n')) {
    const text = line.replace(/\r$/, '').trimStart();
    if (stopToken !== undefined) {
      if (text.trimEnd() === `::${stopToken}::`) stopToken = undefined;
      continue;
    }
    const stop = /^::stop-commands::(.+)$/.exec(text.trimEnd());
    if (stop) {
      stopToken = stop[1];
      continue;
    }
    const v2 = /::([A-Za-z][\w-]*)(?: [^:]*)?::(.*)$/.exec(text);
    if (v2) {
      found.push({ name: v2[1] ?? '', data: v2[2] ?? '', line });
      continue;
    }
    const v1 = /##\[([A-Za-z][\w-]*)(?: [^\]]*)?\](.*)$/.exec(text);
    if (v1) found.push({ name: v1[1] ?? '', data: v1[2] ?? '', line });
  }
  return found;
}
