/**
 * The deployer against a real API server (tools/k8s-testenv: etcd, kube-apiserver, controllers,
 * kwok fake nodes). These tests own the platform's namespaces and the cluster's inventory: each
 * starts from a clean cluster (every env destroyed).
 */
import { loadEnvConfig } from '@bitpin/config';
import { waitFor, type KubeObject, type ObjectClient as AdminClient } from '@bitpin/kube-client';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildPlatform, run, sortForApply, synthesize } from '../src/index.js';
import { applysetId, isStoredIn, LABEL_PART_OF, withMembership } from '../src/inventory.js';
import { connectTestCluster, runDeployer, wipeEnvs } from './support/cluster.js';

let kubeconfig: string;
let admin: AdminClient;
const work = mkdtempSync(join(tmpdir(), 'deployer-cluster-'));

const deployer = (...argv: string[]) => runDeployer(kubeconfig, argv);

async function applyJson(...argv: string[]): Promise<any> {
  const r = await deployer('apply', ...argv, '--output', 'json');
  if (r.code !== 0) throw new Error(`apply ${argv.join(' ')} exited ${r.code}: ${r.err.join(' | ')}`);
  return JSON.parse(r.out.at(-1)!);
}

const wipe = () => wipeEnvs(kubeconfig);

/**
 * What our writes left on every member of the env's set: its spec generation and our field
 * manager's entry (time and owned fields). Controllers keep updating status (and with it the
 * resourceVersion) on their own; these move only when the deployer changes something.
 */
async function versions(env: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const o of synthesize(env).objects) {
    const live: any = await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
    if (!live) continue;
    const ours = (live.metadata.managedFields ?? []).filter((m: any) => m.manager === 'bitpin-deployer');
    out[`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`] = JSON.stringify([live.metadata.generation ?? null, ours]);
  }
  return out;
}

const PINNED_APP = `docker.io/yasaman664/bitpin-task@sha256:${'c'.repeat(64)}`;

/** Synth output of an env (app image pinned as the tests apply it), optionally edited, in a directory for --from. */
function synthTo(env: string, mutate?: (objects: KubeObject[]) => KubeObject[]): string {
  const dir = mkdtempSync(join(work, `${env}-`));
  const desired = structuredClone(synthesize(env, { images: { app: PINNED_APP } }).objects) as KubeObject[];
  const objects = mutate ? mutate(desired) : desired;
  writeFileSync(join(dir, 'all.yaml'), objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
  return dir;
}

beforeAll(async () => {
  ({ kubeconfig, admin } = await connectTestCluster(work, ['bitpin-local', 'bitpin-dev', 'bitpin-staging', 'bitpin-prod', 'someone-else']));
  await wipe();
});

afterAll(async () => {
  await wipe();
  rmSync(work, { recursive: true, force: true });
});

describe.sequential('apply', () => {
  it.each(['dev', 'staging', 'prod', 'local'])('applies env %s for real; a second apply changes nothing', async (env) => {
    await wipe();
    // Waits for every Deployment, StatefulSet, DaemonSet and PVC to be ready (kwok runs the pods;
    // the control plane's host-path provisioner binds the claims).
    const first = await applyJson(`--env=${env}`, '--timeout=120s');
    expect(first.wait.filter((w: any) => !w.skipped).map((w: any) => [w.ref, w.health.ok])).toEqual(
      first.wait.filter((w: any) => !w.skipped).map((w: any) => [w.ref, true]),
    );
    expect(first.ok).toBe(true);
    expect(first.changes.every((c: any) => c.kind === 'add')).toBe(true);
    const before = await versions(env);
    expect(Object.keys(before)).toHaveLength(synthesize(env).objects.length);

    const second = await applyJson(`--env=${env}`, '--no-wait');
    expect(second.changes.map((c: any) => c.kind)).toEqual(synthesize(env).objects.map(() => 'noop'));
    expect(await versions(env)).toEqual(before);
  });

  it('stores every field it sends, exactly (prod, restricted Pod Security)', async () => {
    // The cluster holds env local from the previous test.
    await wipe();
    await applyJson('--env=prod', '--no-wait');
    for (const o of synthesize('prod').objects) {
      const live = await admin.get(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
      expect(isStoredIn(o, live), `${o.kind}/${o.metadata.name} lost or changed a field`).toBe(true);
      expect(live.metadata.labels?.[LABEL_PART_OF]).toBe(applysetId('prod'));
    }
    // PodSecurity `restricted` is enforced on bitpin-task and the app's pods were admitted.
    const ns = await admin.get('v1', 'Namespace', 'bitpin-task');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const rs = await admin.list('apps/v1', 'ReplicaSet', 'bitpin-task', { labelSelector: 'app=bitpin-app' });
    expect(rs.items).toHaveLength(1);
    const events = await admin.list('v1', 'Event', 'bitpin-task', { fieldSelector: 'reason=FailedCreate' });
    expect(events.items.map((e: any) => e.message)).toEqual([]);
  });

  it('Pod Security is enforced: a violating pod in bitpin-task is rejected, every pod of ours is admitted', async () => {
    // The cluster holds prod from the previous test.
    const pod = (name: string, restricted: boolean) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'bitpin-task' },
      spec: {
        ...(restricted ? { securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } } } : {}),
        containers: [
          {
            name: 'probe',
            image: `docker.io/library/busybox@sha256:${'d'.repeat(64)}`,
            securityContext: restricted ? { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } : { privileged: true },
          },
        ],
      },
    });
    await expect(admin.create(pod('psa-violating', false), { dryRun: true })).rejects.toThrow(/violates PodSecurity "restricted:latest".*privileged/);
    // The same request with a restricted spec is admitted: the refusal above is the level, nothing else.
    await admin.create(pod('psa-compliant', true), { dryRun: true });

    // Every controller of ours created its pods (bitpin-task restricted; monitoring and logging at
    // privileged for their host agents, reason on the namespace), and none was refused.
    const workloads = synthesize('prod').objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
    expect(workloads.length).toBeGreaterThan(5);
    for (const w of workloads) {
      await waitFor(`${w.kind}/${w.metadata.name} to create pods`, async () => {
        const live: any = await admin.get(w.apiVersion, w.kind, w.metadata.name, w.metadata.namespace);
        return (live.kind === 'DaemonSet' ? live.status?.currentNumberScheduled : live.status?.replicas) > 0;
      }, { timeoutMs: 60_000 });
    }
    for (const ns of ['bitpin-task', 'monitoring', 'logging']) {
      const events = await admin.list('v1', 'Event', ns, { fieldSelector: 'reason=FailedCreate' });
      expect(events.items.map((e: any) => `${ns}: ${e.message}`)).toEqual([]);
    }
  });

  it('ServiceAccounts can read only what they discover (Prometheus, log agent, kube-state-metrics); the rest nothing', async () => {
    // The cluster holds prod. Real authorization decisions of the API server (RBAC), per SA.
    const can = async (ns: string, sa: string, verb: string, resource: string, group = '') => {
      const review: any = await admin.create({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        metadata: {},
        spec: {
          user: `system:serviceaccount:${ns}:${sa}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
          resourceAttributes: { verb, resource, group, namespace: 'bitpin-task' },
        },
      } as any);
      return `${ns}/${sa} ${verb} ${resource}: ${review.status.allowed === true}`;
    };
    const checks = await Promise.all([
      can('monitoring', 'prometheus', 'list', 'pods'),
      can('monitoring', 'prometheus', 'watch', 'endpointslices', 'discovery.k8s.io'),
      can('monitoring', 'prometheus', 'get', 'secrets'),
      can('monitoring', 'prometheus', 'create', 'pods'),
      can('logging', 'promtail', 'list', 'pods'),
      can('logging', 'promtail', 'get', 'secrets'),
      can('monitoring', 'kube-state-metrics', 'list', 'deployments', 'apps'),
      can('monitoring', 'kube-state-metrics', 'list', 'secrets'),
      can('bitpin-task', 'bitpin-app', 'list', 'pods'),
      can('bitpin-task', 'bitpin-app', 'get', 'secrets'),
      can('bitpin-task', 'bitpin-backup', 'get', 'secrets'),
      can('monitoring', 'grafana', 'list', 'pods'),
    ]);
    expect(checks).toEqual([
      'monitoring/prometheus list pods: true',
      'monitoring/prometheus watch endpointslices: true',
      'monitoring/prometheus get secrets: false',
      'monitoring/prometheus create pods: false',
      'logging/promtail list pods: true',
      'logging/promtail get secrets: false',
      'monitoring/kube-state-metrics list deployments: true',
      'monitoring/kube-state-metrics list secrets: false',
      'bitpin-task/bitpin-app list pods: false',
      'bitpin-task/bitpin-app get secrets: false',
      'bitpin-task/bitpin-backup get secrets: false',
      'monitoring/grafana list pods: false',
    ]);
  });

  it('changing one config value changes exactly that object', async () => {
    const before = await versions('prod');
    const digest = `docker.io/yasaman664/bitpin-task@sha256:${'c'.repeat(64)}`;
    const r = await applyJson('--env=prod', '--no-wait', '--image', `app=${digest}`);
    expect(r.changes.filter((c: any) => c.kind !== 'noop')).toEqual([{ ref: 'Deployment/bitpin-task/bitpin-app', kind: 'update' }]);
    const after = await versions('prod');
    const moved = Object.keys(after).filter((k) => after[k] !== before[k]);
    expect(moved).toEqual(['Deployment/bitpin-task/bitpin-app']);
  });

  it('diff reports the change and never mutates; exit 2 with changes, 0 without', async () => {
    const before = await versions('prod');
    const changed = await deployer('diff', '--env=prod', '--image', 'app=docker.io/yasaman664/bitpin-task:v2');
    expect(changed.code).toBe(2);
    expect(changed.out.join('\n')).toMatch(/update Deployment\/bitpin-task\/bitpin-app[\s\S]*\.spec\.template\.spec\.containers.*image/);
    expect(await versions('prod')).toEqual(before);
    const same = await deployer('diff', '--env=prod', '--image', `app=docker.io/yasaman664/bitpin-task@sha256:${'c'.repeat(64)}`);
    expect(same.code).toBe(0);
    expect(same.out[0]).toMatch(/^diff prod → bitpin-prod: no changes$/);
  });

  it('prunes a dropped object, and nothing else, only with --prune', async () => {
    const pinned = ['--image', `app=docker.io/yasaman664/bitpin-task@sha256:${'c'.repeat(64)}`];
    const dir = synthTo('prod', (objs) => objs.filter((o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.namespace === 'bitpin-task')));
    const before = await versions('prod');
    const shown = await deployer('apply', '--env=prod', '--no-wait', '--from', dir, ...pinned);
    expect(shown.code).toBe(0);
    expect(shown.out.join('\n')).toMatch(/1 to prune \(with --prune\)[\s\S]*would delete PodDisruptionBudget\/bitpin-task\/bitpin-app/);
    expect(await admin.tryGet('policy/v1', 'PodDisruptionBudget', 'bitpin-app', 'bitpin-task')).toBeDefined();

    const pruned = await deployer('apply', '--env=prod', '--no-wait', '--from', dir, '--prune', '--output', 'json', ...pinned);
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.out.at(-1)!).pruned).toEqual(['PodDisruptionBudget/bitpin-task/bitpin-app']);
    expect(await admin.tryGet('policy/v1', 'PodDisruptionBudget', 'bitpin-app', 'bitpin-task')).toBeUndefined();
    const after = await versions('prod');
    delete before['PodDisruptionBudget/bitpin-task/bitpin-app'];
    expect(after).toEqual(before);
  });

  it('keeps a dropped PersistentVolumeClaim unless it is named', async () => {
    const dir = synthTo('prod', (objs) => objs.filter((o) => !(o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'bitpin-app-media')));
    const kept = await deployer('apply', '--env=prod', '--no-wait', '--from', dir, '--prune');
    expect(kept.code).toBe(0);
    expect(kept.out.join('\n')).toMatch(/keep PersistentVolumeClaim\/bitpin-task\/bitpin-app-media/);
    expect(await admin.tryGet('v1', 'PersistentVolumeClaim', 'bitpin-app-media', 'bitpin-task')).toBeDefined();
  });

  it('names the field and the other manager on a conflict; --force-conflicts takes it over', async () => {
    await admin.apply(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bitpin-app-svc', namespace: 'bitpin-task' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30999 }] } },
      { fieldManager: 'kubectl-edit', force: true },
    );
    const r = await deployer('apply', '--env=prod', '--no-wait');
    expect(r.code).toBe(1);
    expect(r.err).toContainEqual(expect.stringMatching(/^error: Service\/bitpin-task\/bitpin-app-svc: field .*nodePort.* is owned by "kubectl-edit"; re-run with --force-conflicts to take it over$/));
    expect(r.err).toContain('error: nothing was changed by this step (server-side dry run)');
    const forced = await deployer('apply', '--env=prod', '--no-wait', '--force-conflicts');
    expect(forced.code).toBe(0);
    const svc = await admin.get('v1', 'Service', 'bitpin-app-svc', 'bitpin-task');
    expect((svc as any).spec.ports[0].nodePort).toBe(30505);
  });

  it('diff that ends in a conflict exits by itself, at once (the bundled CLI as a process)', async () => {
    // GIVEN a field of ours taken by another manager
    await admin.apply(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bitpin-app-svc', namespace: 'bitpin-task' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30998 }] } },
      { fieldManager: 'kubectl-edit', force: true },
    );
    // WHEN diff runs as a user runs it (a process; it once kept sending requests for ~90 s after
    // the error, while its connection was closing)
    const bundle = join(import.meta.dirname, '..', 'dist-cli', 'deployer.mjs');
    const r = spawnSync(process.execPath, [bundle, 'diff', '--env=prod', '--kubeconfig', kubeconfig], { encoding: 'utf8', timeout: 30_000 });
    // THEN it exited by itself (not killed at the bound) with exit 1 and the conflict named
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: Service\/bitpin-task\/bitpin-app-svc: field .*nodePort.* is owned by "kubectl-edit"/);
    expect((await deployer('apply', '--env=prod', '--no-wait', '--force-conflicts')).code).toBe(0);
  });

  it('fails a misspelled field before writing anything (fieldValidation=Strict)', async () => {
    const before = await versions('prod');
    const dir = synthTo('prod', (objs) =>
      objs.map((o) => (o.kind === 'Deployment' ? { ...o, spec: { ...(o as any).spec, progressDeadlineSecond: 30 } } : o)),
    );
    const r = await deployer('apply', '--env=prod', '--no-wait', '--from', dir);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^error: Deployment\/bitpin-task\/bitpin-app: the API server rejects unknown field "spec\.progressDeadlineSecond"/);
    expect(await versions('prod')).toEqual(before);
  });
});

describe.sequential('an install refused mid-way is undone', () => {
  // One workload (the third wave) carries a misspelled field: the API server refuses it after
  // the namespaces, config, services and the other workloads are written.
  const badApp = () =>
    synthTo('dev', (objs) =>
      objs.map((o) => (o.kind === 'Deployment' && o.metadata.name === 'bitpin-app' ? { ...o, spec: { ...(o as any).spec, progressDeadlineSecond: 30 } } : o)),
    );

  it('deletes everything it created and the inventory: nothing of the env is left', async () => {
    await wipe();
    const r = await deployer('apply', '--env=dev', '--no-wait', '--from', badApp());
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^error: Deployment\/bitpin-task\/bitpin-app: the API server rejects unknown field "spec\.progressDeadlineSecond"/);
    expect(r.err.at(-1)).toMatch(/^error: nothing was changed: the install was undone \(deleted the \d+ objects it had created\)$/);
    for (const o of synthesize('dev').objects) {
      expect(await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace), `${o.kind}/${o.metadata.name}`).toBeUndefined();
    }
    expect(await admin.tryGet('deploy.bitpin.io/v1alpha1', 'Release', 'bitpin-dev')).toBeUndefined();
  });

  it('never deletes an object it did not create: one made beforehand is left as applied and named; a fixed apply converges', async () => {
    await wipe();
    // A namespace of the set made by someone else beforehand: refused unless adopted …
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'logging', labels: { 'team.example/owner': 'observability' } } });
    const refused = await deployer('apply', '--env=dev', '--no-wait', '--from', badApp());
    expect(refused.code).toBe(2);
    expect(refused.err[0]).toMatch(/^error: Namespace\/logging already exists and is not part of env dev's inventory \(managed by field managers /);
    expect(await admin.tryGet('deploy.bitpin.io/v1alpha1', 'Release', 'bitpin-dev')).toBeUndefined();
    // … and with --adopt the install applies over it (SSA merges).
    const r = await deployer('apply', '--env=dev', '--no-wait', '--adopt', '--from', badApp());
    expect(r.code).toBe(1);
    expect(r.err.at(-1)).toMatch(
      /^error: the install was undone: deleted the \d+ objects it had created; left as applied the 1 that existed before it \(not created by this run, so not deleted\): Namespace\/logging$/,
    );
    for (const o of synthesize('dev').objects) {
      if (o.kind === 'Namespace' && o.metadata.name === 'logging') continue;
      expect(await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace), `${o.kind}/${o.metadata.name}`).toBeUndefined();
    }
    const ns: any = await admin.get('v1', 'Namespace', 'logging');
    expect(ns.metadata.labels['team.example/owner']).toBe('observability');
    expect(ns.metadata.labels[LABEL_PART_OF]).toBe(applysetId('dev'));
    // The inventory stays: it tracks what was left.
    expect(await admin.tryGet('deploy.bitpin.io/v1alpha1', 'Release', 'bitpin-dev')).toBeDefined();

    // The fixed input applies right away (no namespace left terminating).
    const good = await applyJson('--env=dev', '--no-wait');
    expect(good.changes.filter((c: any) => c.kind !== 'add').map((c: any) => c.ref)).toEqual(['Namespace/logging']);
  });

  it('a first apply writes each object once (no dry runs) after two reads; a no-op re-apply only reads', async () => {
    await wipe();
    const n = synthesize('staging').objects.length;
    const first = await applyJson('--env=staging', '--no-wait');
    // The env's objects and the inventory parent (N + 1 writes), the parents' LIST, the
    // conditional GET of /apis that confirms the discovery cache, and the adoption check: one
    // LIST of the namespaces and one per cluster-scoped kind (none of the new namespaces exists),
    // and the first revision of the release history (its LIST; the Secret's create, refused while
    // the history namespace does not exist, that namespace's apply and the create again; the
    // outcome's patch).
    const clusterKinds = new Set(synthesize('staging').objects.filter((o) => !o.metadata.namespace && o.kind !== 'Namespace').map((o) => o.kind));
    expect(first.requests).toBeLessThanOrEqual(n + 1 + 2 + 1 + clusterKinds.size + 5);
    const again = await applyJson('--env=staging', '--no-wait');
    expect(again.changes.every((c: any) => c.kind === 'noop')).toBe(true);
    expect(again.requests).toBeLessThan(n / 2);
  });

  it('sends the member LISTs with the inventory read when this machine has seen the inventory; a wrong guess costs requests, never results', async () => {
    // staging is applied by the test before. The hint: the kinds its inventory named (kube/inventory-hint.ts).
    const dir = join(process.env['BITPIN_CACHE'] || join(homedir(), '.cache', 'bitpin'), 'deployer', 'inventory');
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('-staging.json'))!);
    const right: string[] = JSON.parse(readFileSync(file, 'utf8')).groupKinds;
    expect(right).toEqual(expect.arrayContaining(['ConfigMap', 'Deployment.apps', 'Namespace', 'Pooler.postgresql.cnpg.io']));
    const noop = await applyJson('--env=staging', '--no-wait');
    expect(noop.changes.every((c: any) => c.kind === 'noop')).toBe(true);
    // With the right guess, the members' LISTs go with the parents' read: no more requests than without.
    expect(noop.requests).toBe(2 + right.length);

    // Wrong guesses: a kind missing and one the set never had; a kind discovery does not know (no early
    // LISTs at all); none. Every object is still found (all unchanged) and the hint is right again after.
    const wrong = [[...right.filter((k) => k !== 'Deployment.apps'), 'Ingress.networking.k8s.io'], ['Widget.example.com'], []];
    for (const guess of wrong) {
      writeFileSync(file, JSON.stringify({ format: 1, groupKinds: guess }));
      const r = await applyJson('--env=staging', '--no-wait');
      expect(r.changes.filter((c: any) => c.kind !== 'noop'), JSON.stringify(guess)).toEqual([]);
      expect(JSON.parse(readFileSync(file, 'utf8')).groupKinds).toEqual(right);
    }
    // A prune with a guess that lacks the pruned object's kind still finds and deletes it.
    writeFileSync(file, JSON.stringify({ format: 1, groupKinds: right.filter((k) => k !== 'ConfigMap') }));
    const dropped = synthTo('staging', (objs) => objs.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'grafana-dashboard-bitpin-logs')));
    const pruned = await applyJson('--env=staging', '--no-wait', '--prune', '--from', dropped);
    expect(pruned.pruned).toEqual(['ConfigMap/monitoring/grafana-dashboard-bitpin-logs']);
    // destroy removes the hint with the inventory.
    await wipe();
    expect(existsSync(file)).toBe(false);
  });
});

describe.sequential('resilience', () => {
  it('an apply cut off mid-way fails in one line with exit 1; re-running converges', async () => {
    await wipe();
    // A real TCP path to the real API server that goes dead after a byte budget, mid-apply.
    const cfg = parse(readFileSync(kubeconfig, 'utf8'));
    const target = new URL(cfg.clusters[0].cluster.server);
    const desiredBytes = JSON.stringify(synthesize('dev').objects).length;
    let budget = Math.round(desiredBytes * 0.5); // inside the writes (a first apply is written without a dry run)
    let sent = 0;
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      if (sent > budget) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.on('data', (d: Buffer) => {
        sent += d.length;
        if (sent > budget) for (const s of sockets) s.destroy();
      });
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    for (const c of cfg.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
    const viaProxy = join(work, 'proxy-kubeconfig');
    writeFileSync(viaProxy, stringify(cfg), { mode: 0o600 });
    try {
      const err: string[] = [];
      const cut = await run(['apply', '--env=dev', '--no-wait', '--kubeconfig', viaProxy], { stdout: () => undefined, stderr: (l) => err.push(l), tty: false });
      expect(cut).toBe(1);
      expect(err.filter((l) => l.startsWith('error:'))).toEqual([
        expect.stringMatching(/^error: cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(context "bitpin-dev"\): /),
        'error: the apply was interrupted after it had started writing; re-run it to converge',
      ]);
      const partial = await versions('dev');
      expect(Object.keys(partial).length).toBeGreaterThan(0);
      expect(Object.keys(partial).length).toBeLessThan(synthesize('dev').objects.length);

      budget = Number.POSITIVE_INFINITY; // the network heals
      const healed = await run(['apply', '--env=dev', '--no-wait', '--kubeconfig', viaProxy], { stdout: () => undefined, stderr: () => undefined, tty: false });
      expect(healed).toBe(0);
      for (const o of synthesize('dev').objects) {
        const live = await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
        if (o.kind === 'Secret') expect(live).toBeDefined();
        else expect(isStoredIn(o, live), `${o.kind}/${o.metadata.name}`).toBe(true);
      }
      const again = await applyJson('--env=dev', '--no-wait');
      expect(again.changes.every((c: any) => c.kind === 'noop')).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('refusals', () => {
  it('refuses the wrong context', async () => {
    const r = await deployer('apply', '--env=prod', '--context', 'someone-else');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['error: env prod deploys to context "bitpin-prod", not "someone-else"; pass --allow-context-mismatch to override']);
  });

  it('with --output json, a refusal is a JSON document on stdout too', async () => {
    const r = await deployer('apply', '--env=prod', '--context', 'someone-else', '--output', 'json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out.at(-1)!)).toEqual({
      command: 'apply',
      ok: false,
      exitCode: 2,
      errors: ['env prod deploys to context "bitpin-prod", not "someone-else"; pass --allow-context-mismatch to override'],
      requests: 0,
    });
  });

  it('refuses to put one env over another in the same cluster', async () => {
    const r = await deployer('apply', '--env=prod');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/already holds env dev; refusing to deploy env prod over it \(one env per cluster\)$/);
  });

  it('says so in one line when no kubeconfig exists, instead of trying localhost:8080', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = join(work, 'missing-kubeconfig');
    try {
      const code = await run(['status', '--env=dev'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l), tty: false });
      expect(code).toBe(2);
      expect(err).toEqual([expect.stringMatching(/^error: no kubeconfig found: none of \$KUBECONFIG \(.*missing-kubeconfig\) exists; fix KUBECONFIG or pass --kubeconfig$/)]);
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
  });

  it('says so in one line when the cluster is unreachable', async () => {
    const cfg = parse(readFileSync(kubeconfig, 'utf8'));
    for (const c of cfg.clusters) c.cluster.server = 'https://127.0.0.1:1';
    const dead = join(work, 'dead-kubeconfig');
    writeFileSync(dead, stringify(cfg));
    const err: string[] = [];
    const code = await run(['status', '--env=dev', '--kubeconfig', dead], { stdout: () => undefined, stderr: (l) => err.push(l), tty: false });
    expect(code).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^error: cannot reach the API server https:\/\/127\.0\.0\.1:1 \(context "bitpin-dev"\): connection refused/)]);
  });

  it('says so in one line when the credentials are rejected', async () => {
    const cfg = parse(readFileSync(kubeconfig, 'utf8'));
    for (const u of cfg.users) u.user = { token: 'expired-or-bogus' };
    const bad = join(work, 'bad-credentials-kubeconfig');
    writeFileSync(bad, stringify(cfg), { mode: 0o600 });
    const err: string[] = [];
    const code = await run(['status', '--env=dev', '--kubeconfig', bad], { stdout: () => undefined, stderr: (l) => err.push(l), tty: false });
    expect(code).toBe(2);
    expect(err).toEqual([
      'error: the API server rejected the credentials of context "bitpin-dev" (401 Unauthorized); they may have expired — log in again or fix the kubeconfig',
    ]);
    expect(err.join('')).not.toContain('expired-or-bogus');
  });

  it('destroy needs --confirm with the env name', async () => {
    const r = await deployer('destroy', '--env=prod');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['error: destroy deletes every object of env prod; re-run with --confirm=prod']);
  });
});

describe('wait', () => {
  it('names what is not ready at the timeout, with the reason its pods wait', async () => {
    // dev is applied by the resilience test; make its app unschedulable.
    const dir = synthTo('dev', (objs) =>
      objs.map((o: any) =>
        o.kind === 'Deployment' && o.metadata.name === 'bitpin-app'
          ? { ...o, spec: { ...o.spec, template: { ...o.spec.template, spec: { ...o.spec.template.spec, nodeSelector: { 'bitpin.io/pool': 'nowhere' } } } } }
          : o,
      ),
    );
    const r = await deployer('apply', '--env=dev', '--from', dir, '--timeout=8s');
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    expect(text).toMatch(/not ready: 1 of \d+/);
    expect(text).toMatch(/Deployment\/bitpin-task\/bitpin-app: .*replicas/);
    expect(text).toMatch(/pod unschedulable: 0\/2 nodes are available: .*node affinity\/selector/);
    expect(text).not.toMatch(/timed out waiting for the condition/);
    // Back to the real spec for the tests that follow.
    expect((await deployer('apply', '--env=dev', '--no-wait', '--image', `app=${PINNED_APP}`)).code).toBe(0);
  });
});

describe('autoscaler hand-off', () => {
  it('keeps the replica count when the deployer stops sending it (an HPA takes over)', async () => {
    const app = (o: any) => o.kind === 'Deployment' && o.metadata.name === 'bitpin-app';
    const fixed = synthTo('dev', (objs) => objs.map((o: any) => (app(o) ? { ...o, spec: { ...o.spec, replicas: 3 } } : o)));
    expect((await deployer('apply', '--env=dev', '--no-wait', '--from', fixed)).code).toBe(0);
    expect(((await admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task')) as any).spec.replicas).toBe(3);

    const free = synthTo('dev', (objs) =>
      objs.map((o: any) => {
        if (!app(o)) return o;
        const { replicas: _dropped, ...spec } = o.spec;
        return { ...o, spec };
      }),
    );
    expect((await deployer('apply', '--env=dev', '--no-wait', '--from', free)).code).toBe(0);
    const live: any = await admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task');
    // Without the hand-off the API server would default the dropped field back to 1.
    expect(live.spec.replicas).toBe(3);
    const owners = live.metadata.managedFields.filter((m: any) => m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined).map((m: any) => m.manager);
    expect(owners).toContain('bitpin-deployer-replicas-handoff');
    expect(owners).not.toContain('bitpin-deployer');
  });
});

describe('status', () => {
  it('lists every member with its health', async () => {
    const r = await deployer('status', '--env=dev', '--output', 'json');
    const s = JSON.parse(r.out.at(-1)!);
    expect(s.members.map((m: any) => m.ref)).toEqual(expect.arrayContaining(['Deployment/bitpin-task/bitpin-app', 'Service/bitpin-task/bitpin-app-svc']));
    expect(s.missing).toEqual([]);
  });
});

describe('hardening switches (prod)', () => {
  it('Ingress + TLS replaces the NodePort; ExternalSecrets replace hand-made and generated Secrets', async () => {
    await wipe();
    const { goModuleDir, installCrds } = await import('@bitpin/k8s-testenv');
    try {
      const env = loadEnvConfig('prod', {
        overrides: {
          images: { app: PINNED_APP },
          features: {
            ingress: { enabled: true, host: 'exchange.example.com', tlsSecretName: 'exchange-tls', clusterIssuer: 'letsencrypt' },
            externalSecrets: { enabled: true, secretStore: 'vault' },
          },
        },
      });
      const objects = sortForApply(buildPlatform(env).parts.flatMap((p) => (p.chart.toJson() as KubeObject[]).map((o) => withMembership(o, 'prod'))));
      const dir = mkdtempSync(join(work, 'prod-hardened-'));
      writeFileSync(join(dir, 'all.yaml'), objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
      // Without the operator's CRD: refused in one line before anything is written.
      const refused = await deployer('apply', '--env=prod', '--no-wait', '--from', dir);
      expect(refused.code).toBe(2);
      expect(refused.err).toEqual([expect.stringMatching(/^error: the cluster has no CRD externalsecrets\.external-secrets\.io; install the External Secrets Operator/)]);
      expect(await admin.tryGet('v1', 'Namespace', 'bitpin-task')).toBeUndefined();

      // The External Secrets Operator's CRD (external-secrets.io/v1), read from its Go module.
      const crd = join(goModuleDir('github.com/external-secrets/external-secrets', 'v0.16.2'), 'config/crds/bases/external-secrets.io_externalsecrets.yaml');
      await installCrds(admin as any, [crd]);
      const r = await applyJson('--env=prod', '--no-wait', '--from', dir);
      expect(r.ok).toBe(true);

      const svc: any = await admin.get('v1', 'Service', 'bitpin-app-svc', 'bitpin-task');
      expect(svc.spec.type).toBe('ClusterIP');
      expect(svc.spec.ports[0].nodePort).toBeUndefined();
      const ing: any = await admin.get('networking.k8s.io/v1', 'Ingress', 'bitpin-app', 'bitpin-task');
      expect(ing.spec.tls).toEqual([{ hosts: ['exchange.example.com'], secretName: 'exchange-tls' }]);
      expect(ing.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt');

      const es: string[] = [];
      for (const ns of ['bitpin-task', 'monitoring', 'logging']) {
        es.push(...(await admin.list('external-secrets.io/v1', 'ExternalSecret', ns)).items.map((o: any) => `${ns}/${o.metadata.name}`));
      }
      expect(es.sort()).toEqual([
        'bitpin-task/bitpin-backup-credentials',
        'bitpin-task/bitpin-redis-auth',
        'logging/grafana-admin',
        'monitoring/alertmanager-receivers',
        'monitoring/grafana-admin',
      ]);
      // Nothing generated by the deployer: the operator owns these Secrets now.
      for (const [ns, name] of [['monitoring', 'grafana-admin'], ['logging', 'grafana-admin'], ['bitpin-task', 'bitpin-redis-auth']]) {
        expect(await admin.tryGet('v1', 'Secret', name!, ns)).toBeUndefined();
      }
    } finally {
      await wipe();
      await admin.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'externalsecrets.external-secrets.io');
    }
  });
});

describe('Poolers (PgBouncer)', () => {
  /** The PgBouncer Deployment CloudNativePG makes for a Pooler (pkg/specs/pgbouncer: the Pooler's name, cnpg.io/poolerName on its pods). */
  const pgbouncerDeployment = (name: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'bitpin-task', labels: { 'cnpg.io/poolerName': name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'cnpg.io/poolerName': name } },
      template: {
        metadata: { labels: { 'cnpg.io/poolerName': name, 'cnpg.io/podRole': 'pooler' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 998, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'pgbouncer',
              image: 'ghcr.io/cloudnative-pg/pgbouncer:1.25.1',
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
            },
          ],
        },
      },
    },
  });
  const OPERATOR: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'cnpg-controller-manager', namespace: 'someone-else', labels: { 'app.kubernetes.io/name': 'cloudnative-pg' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'cloudnative-pg' } },
      template: { metadata: { labels: { 'app.kubernetes.io/name': 'cloudnative-pg' } }, spec: { containers: [{ name: 'manager', image: 'ghcr.io/cloudnative-pg/cloudnative-pg:1.25.1' }] } },
    },
  };
  const POOLERS = ['bitpin-cluster-pooler-ro', 'bitpin-cluster-pooler-rw'];
  const poolerWait = (r: any) => r.wait.filter((w: any) => w.ref.startsWith('Pooler/')).sort((a: any, b: any) => a.ref.localeCompare(b.ref));

  it('waits for the PgBouncer pods of each Pooler (the operator\'s Deployment); without the operator says why it does not', async () => {
    await wipe();
    try {
      // No CloudNativePG operator here (k8s-testenv simulates Clusters' status only): not waited, said why.
      const first = await applyJson('--env=staging', '--timeout=120s');
      expect(first.ok).toBe(true);
      expect(poolerWait(first).map((w: any) => [w.ref, w.skipped])).toEqual(
        POOLERS.map((n) => [`Pooler/bitpin-task/${n}`, expect.stringMatching(/^no CloudNativePG operator runs in this cluster \(k8s-testenv simulates Clusters only/)]),
      );

      // With an operator running, a Pooler is ready only once its PgBouncer Deployment is.
      if (!(await admin.tryGet('v1', 'Namespace', 'someone-else'))) await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'someone-else' } });
      await admin.create(OPERATOR);
      const missing = await deployer('apply', '--env=staging', '--timeout=5s', '--no-atomic', '--output', 'json');
      expect(missing.code).toBe(1);
      expect(poolerWait(JSON.parse(missing.out.at(-1)!)).map((w: any) => [w.ref, w.health.ok, w.health.message])).toEqual(
        POOLERS.map((n) => [`Pooler/bitpin-task/${n}`, false, `no PgBouncer Deployment ${n} yet (the CloudNativePG operator makes it)`]),
      );

      for (const n of POOLERS) await admin.create(pgbouncerDeployment(n));
      const ready = await applyJson('--env=staging', '--timeout=120s');
      expect(ready.ok).toBe(true);
      expect(poolerWait(ready).map((w: any) => [w.ref, w.health.ok, w.health.message])).toEqual(
        POOLERS.map((n) => [`Pooler/bitpin-task/${n}`, true, 'PgBouncer: 1/1 replicas available']),
      );
      const status = JSON.parse((await deployer('status', '--env=staging', '--output', 'json')).out.at(-1)!);
      expect(status.members.filter((m: any) => m.ref.startsWith('Pooler/'))).toEqual(
        POOLERS.map((n) => ({ ref: `Pooler/bitpin-task/${n}`, ready: true, message: 'PgBouncer: 1/1 replicas available' })),
      );
    } finally {
      await admin.delete('apps/v1', 'Deployment', OPERATOR.metadata.name, OPERATOR.metadata.namespace).catch(() => undefined);
      for (const n of POOLERS) await admin.delete('apps/v1', 'Deployment', n, 'bitpin-task').catch(() => undefined);
      await wipe();
    }
  });
});
