import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { hasCondition, ObjectClient } from '@bitpin/kube-client';
import { CONTEXT_NAME, FAKE_NODES, KWOK_NODE_ANNOTATION, status, up, VERSIONS } from '../src/index.js';

describe('control plane', () => {
  const info = inject('k8sTestEnv');

  it('reports the pinned Kubernetes version', async () => {
    const client = new ObjectClient(info.kubeconfigPath);
    try {
      const v = await client.request<{ gitVersion: string; major: string; minor: string }>('GET', '/version');
      expect(v.gitVersion).toBe(VERSIONS.kubernetes);
      expect(`v${v.major}.${v.minor}`).toBe(VERSIONS.kubernetes.split('.').slice(0, 2).join('.'));
    } finally {
      await client.close();
    }
  }, 10_000);

  it('writes a kubeconfig with context and cluster bitpin-local on 127.0.0.1', () => {
    const cfg = parse(readFileSync(info.kubeconfigPath, 'utf8'));
    expect(cfg['current-context']).toBe(CONTEXT_NAME);
    expect(cfg.clusters[0].name).toBe(CONTEXT_NAME);
    expect(cfg.clusters[0].cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('rejects anonymous requests (--anonymous-auth=false)', async () => {
    const code = await new Promise<number>((resolve, reject) => {
      const req = request(`${info.server}/version`, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(code).toBe(401);
  }, 10_000);

  it('has two Ready kwok nodes that keep their leases', async () => {
    const client = new ObjectClient(info.kubeconfigPath);
    try {
      for (const name of FAKE_NODES) {
        const node = await client.get('v1', 'Node', name);
        expect(node.metadata.annotations?.[KWOK_NODE_ANNOTATION]).toBe('fake');
        expect(hasCondition(node, 'Ready')).toBe(true);
        expect(node.spec?.taints ?? []).toEqual([]);
        const lease = await client.get('coordination.k8s.io/v1', 'Lease', name, 'kube-node-lease');
        // kwok renews each node's Lease (holder: kwok's own id), so the node-lifecycle controller keeps nodes Ready.
        expect(lease.spec.holderIdentity).toBeTruthy();
        expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(60_000);
      }
    } finally {
      await client.close();
    }
  }, 10_000);

  it('up() reuses the running healthy instance', async () => {
    const before = await status();
    expect(before).toBeDefined();
    const again = await up({ startedBy: 'test' });
    expect(again.reused).toBe(true);
    expect(again.pids).toEqual(before?.pids);
    expect(again.kubeconfigPath).toBe(info.kubeconfigPath);
  }, 20_000);
});
