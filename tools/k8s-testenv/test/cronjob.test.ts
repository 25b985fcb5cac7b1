import { describe, expect, it } from 'vitest';
import { hasCondition, waitFor, type KubeObject } from '@bitpin/kube-client';
import { useTestNamespace } from '../src/vitest.js';

const ns = useTestNamespace({ prefix: 'cronjob' });

function cronJob(namespace: string, name: string, schedule: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace },
    spec: {
      schedule,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: { restartPolicy: 'Never', containers: [{ name: 'backup', image: 'registry.example/backup:1.0.0', args: ['run'] }] },
          },
        },
      },
    },
  };
}

describe('CronJob through kwok', () => {
  it.concurrent('a Job created from the CronJob (kubectl create job --from) completes', async () => {
    const client = ns.client;
    const cj = await client.apply(cronJob(ns.name, 'manual', '0 3 * * *'));
    const job = await client.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'manual-run',
        namespace: ns.name,
        annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'manual', uid: cj.metadata.uid as string, controller: true }],
      },
      spec: cj.spec.jobTemplate.spec,
    });
    const done = await waitFor(
      'Job manual-run Complete',
      async () => {
        const j = await client.get('batch/v1', 'Job', 'manual-run', ns.name);
        return hasCondition(j, 'Complete') ? j : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(done.metadata.uid).toBe(job.metadata.uid);
    expect(done.status.succeeded).toBe(1);
    const pods = await client.list('v1', 'Pod', ns.name, { labelSelector: 'job-name=manual-run' });
    expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded']);
  }, 40_000);

  it.concurrent('the CronJob controller schedules a Job that completes (within one minute)', async () => {
    const client = ns.client;
    await client.apply(cronJob(ns.name, 'every-minute', '* * * * *'));
    const cj = await waitFor(
      'CronJob every-minute lastSuccessfulTime',
      async () => {
        const c = await client.get('batch/v1', 'CronJob', 'every-minute', ns.name);
        return c.status?.lastSuccessfulTime ? c : undefined;
      },
      { timeoutMs: 80_000, intervalMs: 1000 },
    );
    const jobs = await client.list('batch/v1', 'Job', ns.name);
    const scheduled = jobs.items.filter((j) => j.metadata.ownerReferences?.some((o) => o.uid === cj.metadata.uid));
    expect(scheduled.length).toBeGreaterThanOrEqual(1);
    expect(scheduled.some((j) => hasCondition(j, 'Complete'))).toBe(true);
  }, 90_000);
});
