import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { consoleReporter } from '../../src/report/console.ts';

/** A reporter writing into a string, with a clock the test moves. */
function capture(tty: boolean) {
  let text = '';
  let clock = 1_000;
  const out = new Writable({
    write(chunk, _enc, done) {
      text += chunk;
      done();
    },
  });
  const reporter = consoleReporter({ out, verbose: false, tty, now: () => clock });
  return { reporter, text: () => text, tick: (ms: number) => (clock += ms) };
}

const MiB = 2 ** 20;

describe('console progress', () => {
  it('prints a log line per 10% with MiB/s, not per update', async () => {
    const { reporter, text, tick } = capture(false);
    await reporter.group('Upload', async () => {
      for (let done = 0; done <= 100 * MiB; done += MiB) {
        reporter.progress('upload', done, 100 * MiB);
        tick(10);
      }
    });
    const lines = text()
      .split('\n')
      .filter((l) => l.startsWith('upload:'));
    expect(lines).toHaveLength(11); // 0%, 10%, …, 100%
    expect(lines.at(-1)).toBe('upload: 100% 100/100 MiB (100 MiB/s)');
  });

  it('prints at least every 10 s when the total is unknown', async () => {
    const { reporter, text, tick } = capture(false);
    for (let i = 0; i < 30; i++) {
      reporter.progress('build', i * MiB, undefined);
      tick(1_000);
    }
    expect(
      text()
        .split('\n')
        .filter((l) => l.startsWith('build:')),
    ).toHaveLength(3);
  });

  it('redraws one terminal line and ends it when the stage ends', async () => {
    const { reporter, text, tick } = capture(true);
    await reporter.group('Upload', async () => {
      for (let done = 0; done <= 10 * MiB; done += MiB) {
        reporter.progress('upload', done, 10 * MiB);
        tick(200);
      }
    });
    const out = text();
    expect(out.split('\n')).toHaveLength(3); // group title, the bar, the final newline
    expect(out).toContain('\rupload [##############################] 100% 10/10 MiB');
  });
});
