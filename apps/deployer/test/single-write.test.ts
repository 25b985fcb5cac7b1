/**
 * One object to change is written without a dry run first (a write is atomic): a good change
 * costs the reads and one write; a refused one changes nothing and says so. Against the real
 * API server from tools/k8s-testenv, like cluster.test.ts (which owns the same namespaces; test
 * files run one at a time): env dev, destroyed before and after.
 */
import type { KubeObject, ObjectClient as AdminClient } from '@bitpin/kube-client';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { synthesize } from '../src/index.js';
import { connectTestCluster, runDeployer, wipeEnvs } from './support/cluster.js';

const work = mkdtempSync(join(tmpdir(), 'deployer-single-'));
let kubeconfig: string;
let admin: AdminClient;
const PINNED_APP = `docker.io/yasaman664/bitpin-task@sha256:${'c'.repeat(64)}`;

const deployer = (...argv: string[]) => runDeployer(kubeconfig, argv);
const wipe = () => wipeEnvs(kubeconfig);

function dirWith(mutate: (o: KubeObject) => KubeObject): string {
  const dir = mkdtempSync(join(work, 'dev-'));
  const objects = synthesize('dev', { images: { app: PINNED_APP } }).objects.map((o) => mutate(structuredClone(o) as KubeObject));
  writeFileSync(join(dir, 'all.yaml'), objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
  return dir;
}

const isApp = (o: KubeObject) => o.kind === 'Deployment' && o.metadata.name === 'bitpin-app';

beforeAll(async () => {
  ({ kubeconfig, admin } = await connectTestCluster(work, ['bitpin-local', 'bitpin-dev', 'bitpin-staging', 'bitpin-prod']));
  await wipe();
  const first = await deployer('apply', '--env=dev', '--no-wait', '--from', dirWith((o) => o));
  if (first.code !== 0) throw new Error(`apply dev: ${first.err.join(' | ')}`);
});

afterAll(async () => {
  await wipe();
  rmSync(work, { recursive: true, force: true });
});

describe.sequential('a single object to write', () => {
  it('is written with one request beyond the reads, no dry run', async () => {
    const dir = dirWith((o) => (isApp(o) ? { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'test/single': 'one' } } } : o));
    const r = await deployer('apply', '--env=dev', '--no-wait', '--from', dir, '--output', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out.at(-1)!);
    expect(report.changes.filter((c: any) => c.kind !== 'noop')).toEqual([{ ref: 'Deployment/bitpin-task/bitpin-app', kind: 'update' }]);
    const live: any = await admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task');
    expect(live.metadata.annotations['test/single']).toBe('one');
    // The same run again: reads only. The change was its one write, plus its revision in the
    // release history: the history's LIST (sent while the write travels), the revision's Secret
    // (stored as deployed: --no-wait) and the previous revision marked superseded.
    const again = JSON.parse((await deployer('apply', '--env=dev', '--no-wait', '--from', dir, '--output', 'json')).out.at(-1)!);
    expect(again.revision).toBeUndefined();
    expect(report.revision).toMatchObject({ outcome: 'deployed' });
    expect(report.requests).toBe(again.requests + 1 + 3);
  });

  it('refused, it changes nothing and says it was the only one', async () => {
    const before: any = await admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task');
    const dir = dirWith((o) => (isApp(o) ? { ...o, spec: { ...(o as any).spec, progressDeadlineSecond: 30 } } : o));
    const r = await deployer('apply', '--env=dev', '--no-wait', '--from', dir);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      expect.stringMatching(/^error: Deployment\/bitpin-task\/bitpin-app: the API server rejects unknown field "spec\.progressDeadlineSecond"/),
      'error: nothing was changed: it was the only object to write',
    ]);
    // What a write of ours would move: the spec generation and our field manager's entry (its
    // time and fields). The controllers may still be updating the status (and the resourceVersion).
    const after: any = await admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task');
    const ours = (d: any) => [d.metadata.generation, d.metadata.annotations, d.metadata.managedFields.filter((m: any) => m.manager === 'bitpin-deployer')];
    expect(ours(after)).toEqual(ours(before));
  });
});
