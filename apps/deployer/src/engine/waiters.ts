/** Waits the apply itself needs (rollouts are waited for by ../wait.ts). */
import { resourcePath } from '@bitpin/kube-client';
import { crdHealth } from '../health.js';
import type { Engine } from './engine.js';
import { ApplyError } from './errors.js';
import { CRD_INFO, NAMESPACE_INFO } from './resources.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a CRD to be Established; then refreshes discovery (unless only the parent kind, reached by its static path, needs it). */
export async function waitEstablished(engine: Engine, name: string, timeoutMs = 30_000, refreshDiscovery = true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crd = await engine.client.get(resourcePath(CRD_INFO, undefined, name));
    if (crdHealth(crd).ok) break;
    if (Date.now() > deadline) throw new ApplyError([`CustomResourceDefinition/${name}: not Established after ${timeoutMs / 1000}s`]);
    await sleep(250);
  }
  if (refreshDiscovery) await engine.discovery.refresh();
}

/**
 * Waits until the named namespaces are gone — a terminating namespace refuses new objects, so a
 * following apply would fail — and returns those still there at the deadline.
 */
export async function waitNamespacesGone(engine: Engine, names: readonly string[], timeoutMs: number, onWait?: (name: string) => void): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const left: string[] = [];
  for (const name of names) {
    while (await engine.client.get(resourcePath(NAMESPACE_INFO, undefined, name), { allow404: true })) {
      if (Date.now() > deadline) {
        left.push(name);
        break;
      }
      onWait?.(name);
      await sleep(250);
    }
  }
  return left;
}
