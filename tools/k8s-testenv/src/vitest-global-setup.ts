/**
 * Vitest global setup: starts (or reuses) the local control plane once per test run and hands its
 * kubeconfig to the test files (`inject('k8sTestEnv')`, or env BITPIN_KUBECONFIG).
 *
 *   // vitest.config.ts
 *   test: { globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'] }
 *
 * Fails with one line naming the build command when the binaries were not built.
 */
import type { TestProject } from 'vitest/node';
import { acquireTestEnv, releaseTestEnv } from './controlplane.js';
import type { TestEnvInfo } from './vitest.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const verbose = Boolean(process.env['BITPIN_TESTENV_VERBOSE']);
  const log = (l: string): void => {
    if (verbose) console.log(`[k8s-testenv] ${l}`);
  };
  const t0 = Date.now();
  let env: Awaited<ReturnType<typeof acquireTestEnv>>;
  try {
    env = await acquireTestEnv({ log });
  } catch (err) {
    // One clear line (e.g. which command builds missing binaries) instead of a stack trace.
    const e = err instanceof Error ? err : new Error(String(err));
    e.stack = e.message;
    throw e;
  }
  const info: TestEnvInfo = {
    kubeconfigPath: env.kubeconfigPath,
    server: env.server,
    context: 'bitpin-local',
    nodes: [...env.nodes],
    versions: { ...env.versions },
  };
  project.provide('k8sTestEnv', info);
  process.env['BITPIN_KUBECONFIG'] = env.kubeconfigPath;
  console.log(
    `[k8s-testenv] ${env.reused ? 'reusing' : 'started'} Kubernetes ${env.versions.kubernetes} at ${env.server} in ${Date.now() - t0} ms`,
  );
  if (env.outdated) {
    console.log(`[k8s-testenv] this instance predates the current launch configuration (${env.outdated}); another test run holds it, so it was not restarted`);
  }
  return async () => {
    const stopped = await releaseTestEnv({ log });
    if (stopped) console.log('[k8s-testenv] stopped the control plane (started by tests; no other test run holds it)');
  };
}
