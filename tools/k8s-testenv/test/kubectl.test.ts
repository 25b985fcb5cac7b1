import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { binDir, kubectlPath, VERSIONS } from '../src/index.js';

const run = promisify(execFile);

// kubectl is built by scripts/build.sh from the same wrapper module and ldflags as the control plane
// (the deployer's benchmark anchor); `up` does not need it.
describe('kubectl', () => {
  it('is cached next to the control-plane binaries and reports the pinned version', async () => {
    const kubectl = kubectlPath();
    expect(kubectl).toBe(`${binDir()}/kubectl`);
    const { stdout } = await run(kubectl, ['version', '--client', '-o', 'json']);
    const v = JSON.parse(stdout) as { clientVersion: { gitVersion: string; major: string; minor: string } };
    expect(v.clientVersion.gitVersion).toBe(VERSIONS.kubernetes);
    expect(`v${v.clientVersion.major}.${v.clientVersion.minor}`).toBe(VERSIONS.kubernetes.split('.').slice(0, 2).join('.'));
  }, 20_000);

  it('talks to the test control plane with its kubeconfig', async () => {
    const { kubeconfigPath } = inject('k8sTestEnv');
    const { stdout } = await run(kubectlPath(), ['--kubeconfig', kubeconfigPath, 'get', '--raw', '/readyz']);
    expect(stdout.trim()).toBe('ok');
  }, 20_000);
});
