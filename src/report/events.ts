/**
 * The stages report through this interface only. Entry points supply an implementation that renders
 * GitHub log groups, a TTY display or plain CI lines; the stages know nothing about which.
 */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** Debug detail, shown only when the user asks for verbose output. */
  debug(message: string): void;
  /** Runs `fn` as one folded section named after a stage. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Progress of long work. Implementations throttle; callers may call this often. */
  progress(stage: string, done: number, total: number | undefined): void;
  /** A raw line of a child process's output (the build log); folded by the current group. */
  log(line: string): void;
}

/** A reporter that drops everything: for tests and library use. */
export const silentReporter: Reporter = {
  info() {},
  warn() {},
  debug() {},
  group: (_title, fn) => fn(),
  progress() {},
  log() {},
};

/** A reporter that records what it saw, for tests to assert on. */
export function recordingReporter(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info: ${m}`),
    warn: (m) => void lines.push(`warn: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
    group: (title, fn) => {
      lines.push(`group: ${title}`);
      return fn();
    },
    progress: (stage, done, total) => void lines.push(`progress: ${stage} ${done}/${total ?? '?'}`),
    log: (l) => void lines.push(`log: ${l}`),
  };
}
