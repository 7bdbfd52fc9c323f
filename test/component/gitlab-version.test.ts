/**
 * The component's `spec: component:` header needs GitLab 18.6 or later. Where the template relies on it, the
 * README and docs/gitlab.md must say so, and the fallback job docs/gitlab.md shows for older GitLab must run
 * the current release of the tool.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VERSION } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

describe('the component and the GitLab version it needs', () => {
  const template = read('templates/gitlab-ci/template.yml');
  const spec = (parse(template.split('\n---\n')[0] as string) as { spec: { component?: string[] } }).spec;

  it('declares the component context it uses, which needs GitLab 18.6', () => {
    const used = [...template.matchAll(/\$\[\[ component\.(\w+) \]\]/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    expect(spec.component).toEqual(expect.arrayContaining([...new Set(used)]));
  });

  it('says so where a user looks: the README component section and docs/gitlab.md', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## GitLab CI/CD component'), readme.indexOf('## CLI'));
    expect(section).toMatch(/GitLab 18\.6 or later/);
    expect(read('docs/gitlab.md')).toMatch(/\*\*GitLab 18\.6 or later\.\*\*/);
  });

  it('gives older GitLab a job that runs the current release of the CLI', () => {
    const docs = read('docs/gitlab.md');
    const start = docs.indexOf('**GitLab 18.6 or later.**');
    const block = /```yaml\n([\s\S]*?)```/.exec(docs.slice(start))?.[1] as string;
    const job = (parse(block) as Record<string, { script: string[] }>)['nix-glab-runner-publish'];
    const run = job?.script.find((line) => line.includes('nix') && line.includes(' run '));
    expect(run).toContain(`"github:pcboy/nix-glab-runner/v${VERSION}#nix-glab-runner" -- publish`);
  });
});
