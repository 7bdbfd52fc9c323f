/**
 * Writes test/reliability/README.md from the results of the reliability suite (issue 7, section 6).
 *
 * A case is one test inside a top-level `describe` named after a section ("1. Fault matrix" …); the
 * second-level `describe` is its row. The file is written only when the run included every
 * test/reliability/*.test.ts file and skipped none of their tests, so a filtered run never leaves a
 * partial table behind. CI fails when the committed README differs from the one the suite wrote.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');

/** The issue's sections, in order, with what each proves. */
const SECTIONS: { title: string; about: string }[] = [
  {
    title: '1. Fault matrix',
    about:
      'Each fault is injected by the emulator (test/emulator/faults.ts) into a real run; each case checks the end state (objects, images, group, request log), not only the exit code.',
  },
  {
    title: '2. Interruption',
    about:
      'SIGINT or SIGTERM at each stage: the run stops promptly, says what it left behind, and the next run finishes with no duplicates.',
  },
  {
    title: '3. Concurrency',
    about: 'Two runs at once on the same build or the same group.',
  },
  {
    title: '4. Bad input',
    about:
      'Each case exits non-zero with one sentence naming the input, no stack trace, and no mutating request in the emulator log.',
  },
  {
    title: '5. Secrets',
    about:
      'A random canary planted in credentials, environment and inputs must not appear in output, job summary, object metadata, image labels or descriptions, templates, error messages or /nix/store; credentials files are never uploaded; and the runner module refuses a token path in the Nix store.',
  },
  {
    title: '6. Hostile input and ownership',
    about:
      'An attacker with the access of a CI user or a neighbouring team: nothing we did not write is replaced or deleted, and no input becomes code, a command-line option or a secret in the open.',
  },
];

interface Row {
  section: string;
  row: string;
  files: Set<string>;
  cases: { name: string; passed: boolean }[];
}

export default class ReliabilityReport implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const suiteFiles = readdirSync(HERE).filter((f) => f.endsWith('.test.ts'));
    const ran = new Map(
      modules.filter((m) => dirname(m.moduleId) === HERE).map((m) => [basename(m.moduleId), m]),
    );
    if (suiteFiles.some((f) => !ran.has(f))) return;
    const rows: Row[] = [];
    // Sorted by file, so the page does not depend on which file finished first.
    for (const file of suiteFiles.sort()) {
      const module = ran.get(file) as TestModule;
      for (const test of module.children.allTests()) {
        const path = sectionPath(test);
        if (!path) continue;
        const state = test.result().state;
        if (state === 'skipped' || state === 'pending') return;
        const [section, row] = path;
        let entry = rows.find((r) => r.section === section && r.row === row);
        if (!entry) {
          entry = { section, row, files: new Set(), cases: [] };
          rows.push(entry);
        }
        entry.files.add(relative(REPO, module.moduleId));
        entry.cases.push({ name: test.name, passed: state === 'passed' });
      }
    }
    writeFileSync(join(HERE, 'README.md'), render(rows));
  }
}

/** [section, row] for a test under a section's describe; undefined for anything else. */
function sectionPath(test: TestCase): [string, string] | undefined {
  const chain: string[] = [];
  for (let p: TestSuite | TestModule = test.parent; p.type === 'suite'; p = p.parent) chain.unshift(p.name);
  const section = chain[0];
  if (!section || !SECTIONS.some((s) => s.title === section)) return undefined;
  return [section, chain[1] ?? '(ungrouped)'];
}

function render(rows: Row[]): string {
  const count = (rs: Row[]) => ({
    run: rs.reduce((n, r) => n + r.cases.length, 0),
    passed: rs.reduce((n, r) => n + r.cases.filter((c) => c.passed).length, 0),
  });
  const out: string[] = [
    '# Reliability and security suite (issue 7)',
    '',
    '<!-- Written by test/reliability/report.ts after a full run of the suite; do not edit. -->',
    '',
    'Run: `npm test` (or `npx vitest run test/reliability`). The tests run the bundled entry points in',
    '`dist/`, so run `npm run bundle` first after changing `src/`. This page is rewritten by every run that',
    'includes the whole suite, and CI fails if the committed copy differs.',
    '',
    '| Section | Cases run | Passed |',
    '| --- | ---: | ---: |',
  ];
  for (const s of SECTIONS) {
    const c = count(rows.filter((r) => r.section === s.title));
    out.push(`| ${s.title} | ${c.run} | ${c.passed} |`);
  }
  const all = count(rows);
  out.push(`| **All** | **${all.run}** | **${all.passed}** |`, '');
  out.push(`bad-input cases: ${count(rows.filter((r) => r.section === '4. Bad input')).run}`, '');
  for (const s of SECTIONS) {
    const mine = rows.filter((r) => r.section === s.title);
    out.push(
      `## ${s.title}`,
      '',
      s.about,
      '',
      '| Row | Cases run | Passed | File |',
      '| --- | ---: | ---: | --- |',
    );
    if (mine.length === 0) out.push('| (no cases yet) | 0 | 0 | |');
    for (const r of mine) {
      const c = count([r]);
      const files = [...r.files].map((f) => `\`${basename(f)}\``).join(', ');
      out.push(`| ${r.row} | ${c.run} | ${c.passed} | ${files} |`);
    }
    out.push('', '<details><summary>Cases</summary>', '');
    for (const r of mine)
      for (const c of r.cases)
        out.push(`- ${c.passed ? '✓' : '✗'} ${r.row}: ${c.name.replaceAll('|', '\\|')}`);
    out.push('', '</details>', '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
