import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const fixture = join(root, 'test/gcp/fixtures/api-misuse.ts');
const work = mkdtempSync(join(tmpdir(), 'ngr-api-types-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The fixture's calls each send something the Compute API does not define, under a `@ts-expect-error`.
 * Compiled without those directives, each must fail, at that call, naming the field: proof that the types
 * in src/gcp/compute-api.ts, not a missing import or an `any`, refuse them.
 */
describe('Compute calls are typed with the API surface', () => {
  it('refuses a parameter or body field the method does not define', async () => {
    const lines = readFileSync(fixture, 'utf8').split('\n');
    const expected: number[] = [];
    const stripped: string[] = [];
    for (const line of lines) {
      if (line.includes('// @ts-expect-error')) {
        expected.push(stripped.length + 1);
        continue;
      }
      stripped.push(line.replaceAll('../../../src/', `${relative(work, root)}/src/`));
    }
    writeFileSync(join(work, 'misuse.ts'), stripped.join('\n'));
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.all.json'),
        compilerOptions: { typeRoots: [join(root, 'node_modules/@types')] },
        include: [],
        files: ['misuse.ts'],
      }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const out = await run(process.execPath, [tsc, '--noEmit', '-p', join(work, 'tsconfig.json')]).then(
      () => '',
      (err: { stdout: string }) => err.stdout,
    );
    const errors = [...out.matchAll(/misuse\.ts\((\d+),\d+\): error (TS\d+): /g)].map((m) => ({
      line: Number(m[1]),
      code: m[2],
    }));
    expect(expected).toHaveLength(5);
    // Exactly the marked lines fail, and as type mismatches (not, say, an import that does not resolve).
    expect(errors.map((e) => e.line)).toEqual(expected);
    for (const e of errors) expect(['TS2322', 'TS2353', 'TS2561']).toContain(e.code);
  });
});
