/**
 * Per-file helpers for vitest. Needs the global setup `@bitpin/k8s-testenv/vitest-global-setup`
 * (or BITPIN_KUBECONFIG pointing at a running instance, e.g. after `nx run k8s-testenv:up`).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { ObjectClient, waitFor } from '@bitpin/kube-client';
import type { TestEnvVersions } from './versions.js';

/** What the global setup provides to test files. */
export interface TestEnvInfo {
  kubeconfigPath: string;
  server: string;
  context: string;
  nodes: string[];
  versions: TestEnvVersions;
}

declare module 'vitest' {
  export interface ProvidedContext {
    k8sTestEnv: TestEnvInfo;
  }
}

/** Label put on every namespace the helpers create. */
export const TEST_NAMESPACE_LABEL = 'k8s-testenv.bitpin.io/test';

/** The running control plane's kubeconfig and details (throws a clear error without the global setup). */
export function testEnvInfo(): TestEnvInfo {
  const provided = inject('k8sTestEnv');
  if (provided) return provided;
  const kubeconfigPath = process.env['BITPIN_KUBECONFIG'];
  if (kubeconfigPath) {
    return { kubeconfigPath, server: '', context: 'bitpin-local', nodes: [], versions: {} as TestEnvVersions };
  }
  throw new Error(
    "k8s-testenv: no control plane for this test run; add globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'] to vitest.config.ts",
  );
}

export interface NamespaceOptions {
  /** Name prefix (DNS label; default `test`). A random suffix is appended. */
  prefix?: string;
  /** Extra namespace labels, e.g. `{'pod-security.kubernetes.io/enforce': 'restricted'}`. */
  labels?: Record<string, string>;
}

/** Creates a uniquely named namespace and waits until its `default` ServiceAccount exists. */
export async function createTestNamespace(client: ObjectClient, opts: NamespaceOptions = {}): Promise<string> {
  const prefix = (opts.prefix ?? 'test').toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'test';
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await client.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: 'true', ...opts.labels } },
  });
  // Pods are rejected until the controller-manager created the namespace's default ServiceAccount.
  await waitFor(`ServiceAccount ${name}/default`, async () => Boolean(await client.tryGet('v1', 'ServiceAccount', 'default', name)), {
    timeoutMs: 20_000,
  });
  return name;
}

export interface TestNamespace {
  /** The file's namespace (created in beforeAll). */
  readonly name: string;
  /** Admin client for the test control plane. */
  readonly client: ObjectClient;
  /** Admin kubeconfig path (for @kubernetes/client-node: `kc.loadFromFile(path)`). */
  readonly kubeconfigPath: string;
  /** Creates one more namespace, deleted after the file's tests. */
  create(opts?: NamespaceOptions): Promise<string>;
}

/**
 * Call at the top level of a test file: creates a unique namespace before the file's tests and
 * deletes it (and any made with `.create()`) afterwards. Properties are usable inside tests/hooks.
 */
export function useTestNamespace(opts: NamespaceOptions = {}): TestNamespace {
  let client: ObjectClient | undefined;
  let name: string | undefined;
  let kubeconfigPath: string | undefined;
  const created: string[] = [];
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`k8s-testenv: ${what} is only available inside tests and hooks (after beforeAll)`);
    return v;
  };
  const handle: TestNamespace = {
    get name() {
      return need(name, 'namespace name');
    },
    get client() {
      return need(client, 'client');
    },
    get kubeconfigPath() {
      return need(kubeconfigPath, 'kubeconfigPath');
    },
    async create(more: NamespaceOptions = {}) {
      const ns = await createTestNamespace(need(client, 'client'), more);
      created.push(ns);
      return ns;
    },
  };
  beforeAll(async () => {
    kubeconfigPath = testEnvInfo().kubeconfigPath;
    client = new ObjectClient(kubeconfigPath, { fieldManager: 'k8s-testenv', userAgent: 'k8s-testenv' });
    name = await handle.create(opts);
  }, 30_000);
  afterAll(async () => {
    if (!client) return;
    const c = client;
    await Promise.all(created.map((ns) => c.delete('v1', 'Namespace', ns).catch(() => false)));
    await c.close();
  }, 30_000);
  return handle;
}
