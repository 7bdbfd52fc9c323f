/**
 * gitlab-ci-local renders the component included by SHA, with default and with custom inputs, and the
 * result passes its GitLab schema validation; bad inputs are refused with its messages.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  componentProject,
  gitlabCiLocal,
  includeComponent,
  plain,
  preview,
  readTemplate,
  scriptSettings,
} from './helpers.ts';

describe('rendering the component with gitlab-ci-local --preview', () => {
  it('with default inputs: one job, pinned to the component commit, no global keywords', async () => {
    const { dir, sha } = componentProject({ '.gitlab-ci.yml': includeComponent({ bucket: 'my-images' }) });
    const pipeline = await preview(dir);

    expect(Object.keys(pipeline).sort()).toEqual(['nix-glab-runner-publish', 'stages']);
    const job = pipeline['nix-glab-runner-publish'];
    expect(job?.stage).toBe('deploy');
    expect(job?.image).toEqual({ name: 'nixos/nix:2.28.3' });
    expect(job?.rules).toEqual([
      { if: '$CI_PIPELINE_SOURCE == "schedule"' },
      { if: '$CI_PIPELINE_SOURCE == "web"' },
    ]);
    expect(job?.id_tokens).toEqual({ GCP_ID_TOKEN: { aud: '$CI_SERVER_URL' } });
    expect(job?.resource_group).toBe('nix-glab-runner-nixos-image-gitlab-runner');
    expect(job?.artifacts).toEqual({
      paths: ['nix-glab-runner.json'],
      reports: { dotenv: 'nix-glab-runner.env' },
    });

    const vars = job?.variables ?? {};
    const settings = scriptSettings(job);
    // gitlab-ci-local fills component.version with the SHA for a SHA include; GitLab leaves it empty.
    // The job pins the tool by sha only, so that difference cannot change what runs.
    expect(settings.component_sha).toBe(sha);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a JS template
    expect(job?.script.join('\n')).toContain('?rev=${component_sha}#nix-glab-runner');
    expect(job?.script.join('\n')).not.toContain('component_version}#');
    expect(settings).toMatchObject({
      tool_source: 'github:pcboy/nix-glab-runner',
      tool_command: '',
      kvm: 'required',
      provider_input: '',
    });
    expect(vars).toMatchObject({
      NGR_INPUT_BUCKET: 'my-images',
      NGR_INPUT_FAMILY: 'nixos-image-gitlab-runner',
      NGR_INPUT_INSTALL_NIX: 'auto',
      NGR_INPUT_KEEP_OBJECT: 'false',
      NGR_INPUT_FLAKE: '',
    });
  });

  it('with custom inputs: prefix, stage, image, rules, auth and typed schema inputs', async () => {
    const provider = 'projects/123456789/locations/global/workloadIdentityPools/gitlab/providers/gitlab-com';
    const { dir } = componentProject({
      '.gitlab-ci.yml': includeComponent(
        {
          'job-prefix': 'runner-image',
          stage: 'images',
          'job-image': 'registry.example.com/nix:1',
          'tool-command': 'nix-glab-runner',
          kvm: 'optional',
          'workload-identity-provider': provider,
          'service-account': 'publisher@my-project.iam.gserviceaccount.com',
          audience: 'https://gitlab.example.com',
          rules: [{ if: '$CI_PIPELINE_SOURCE == "schedule"', when: 'always' }, { when: 'manual' }],
          bucket: 'my-images',
          project: 'my-project',
          family: 'ci-runners',
          'extra-modules': 'nix/runner.nix\nnix/ci.nix',
          'keep-object': true,
          keep: 5,
          'guest-os-features': 'GVNIC, IDPF',
          architecture: 'ARM64',
          roll: 'mig',
          'instance-group': 'zones/europe-west1-b/instanceGroupManagers/runners',
        },
        'stages: [images]\n',
      ),
    });
    const pipeline = await preview(dir);
    const job = pipeline['runner-image-publish'];
    expect(job?.stage).toBe('images');
    expect(job?.image).toEqual({ name: 'registry.example.com/nix:1' });
    expect(job?.rules).toEqual([
      { if: '$CI_PIPELINE_SOURCE == "schedule"', when: 'always' },
      { when: 'manual' },
    ]);
    expect(job?.id_tokens).toEqual({ GCP_ID_TOKEN: { aud: 'https://gitlab.example.com' } });
    expect(job?.resource_group).toBe('nix-glab-runner-ci-runners');
    expect(scriptSettings(job)).toMatchObject({
      tool_command: 'nix-glab-runner',
      kvm: 'optional',
      provider_input: provider,
      service_account_input: 'publisher@my-project.iam.gserviceaccount.com',
    });
    expect(job?.variables).toMatchObject({
      NGR_INPUT_PROJECT: 'my-project',
      NGR_INPUT_EXTRA_MODULES: 'nix/runner.nix\nnix/ci.nix',
      NGR_INPUT_KEEP_OBJECT: 'true',
      NGR_INPUT_KEEP: '5',
      NGR_INPUT_GUEST_OS_FEATURES: 'GVNIC, IDPF',
      NGR_INPUT_ARCHITECTURE: 'ARM64',
      NGR_INPUT_ROLL: 'mig',
      NGR_INPUT_INSTANCE_GROUP: 'zones/europe-west1-b/instanceGroupManagers/runners',
    });
  });

  it('defines nothing but its job: no stages, default, variables or workflow', () => {
    const [, body] = parseAllDocuments(readTemplate()).map((d) => d.toJS() as Record<string, unknown>);
    expect(Object.keys(body ?? {})).toEqual(['$[[ inputs.job-prefix ]]-publish']);
  });
});

describe.concurrent('refusals, in gitlab-ci-local words', () => {
  const refused = async (inputs: Record<string, unknown>) => {
    const { dir } = componentProject({ '.gitlab-ci.yml': includeComponent(inputs) });
    const run = await gitlabCiLocal(['--preview'], { cwd: dir });
    expect(run.code).not.toBe(0);
    return plain(run.stderr + run.stdout).replace(/\s+/g, ' ');
  };

  it('a value of the wrong type', async () => {
    expect(await refused({ bucket: 'b', 'keep-object': 'yes' })).toContain(
      '`keep-object` input: provided value is not a boolean',
    );
  });

  it('a missing required input', async () => {
    expect(await refused({ family: 'ci-runners' })).toContain(
      '`bucket` input: required value has not been provided',
    );
  });

  it('a value outside options', async () => {
    expect(await refused({ bucket: 'b', kvm: 'sometimes' })).toContain(
      '`kvm` input: `sometimes` cannot be used because it is not in the list of allowed options',
    );
  });

  it('a value that fails the regex', async () => {
    expect(await refused({ bucket: 'b', 'guest-os-features': 'GVNIC,FAST' })).toMatch(
      /`guest-os-features` input: `GVNIC,FAST` does not match required regex/,
    );
  });
});
