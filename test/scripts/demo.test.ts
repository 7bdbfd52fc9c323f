/**
 * `npm run demo` as the README runs it, then its closing hint followed as written: edit the module it
 * names, run the command it prints, and see a second image published next to the first.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';
import { requireNix } from '../nix-stage/helpers.ts';

function sh(command: string) {
  const r = spawnSync('bash', ['-c', command], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const imageLines = (output: string) => output.split('\n').filter((l) => /^ {2}\S+ {2}family=/.test(l));

describe('npm run demo', () => {
  it('ends with a hint that publishes the edited module as a new image when followed as written', () => {
    requireNix();
    const demo = sh('npm run demo');
    expect(demo.status, demo.output).toBe(0);
    expect(imageLines(demo.output)).toHaveLength(1);

    const hint = /Edit (\S+), then publish it as a new image with:\n {2}(.+)$/m.exec(demo.output);
    expect(hint, demo.output.slice(-600)).not.toBeNull();
    const [, module, command] = hint as unknown as [string, string, string];
    appendFileSync(module, '# edited by the test: a new image\n');

    const again = sh(command);
    expect(again.status, again.output).toBe(0);
    expect(again.output).toMatch(/\(1\d API calls, [1-9]\d* of them mutating\)/);
    const images = imageLines(again.output);
    expect(images).toHaveLength(2);
    expect(images.every((l) => l.includes(' READY '))).toBe(true);
    // The same hint again: the command can be repeated.
    expect(again.output).toContain(command);
  });

  it('refuses a --workdir that is not a demo directory in one sentence', () => {
    const r = sh('npm run -s demo -- --workdir /nonexistent-demo-dir');
    expect(r.status).toBe(2);
    expect(r.output.trim()).toBe(
      `--workdir /nonexistent-demo-dir is not a demo's directory (it has no infra/runner.nix): run "npm run demo" first.`,
    );
  });
});
