/**
 * Release history, rollback and --atomic against the real API server (tools/k8s-testenv). These
 * tests own the platform's namespaces and the cluster's inventory: each starts from a clean
 * cluster (every env destroyed, its history with it).
 */
import { waitFor, type KubeObject, type ObjectClient as AdminClient } from '@bitpin/kube-client';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run, synthesize } from '../src/index.js';
import { connectTestCluster, runDeployer, wipeEnvs } from './support/cluster.js';

let kubeconfig: string;
let admin: AdminClient;
const work = mkdtempSync(join(tmpdir(), 'deployer-releases-'));
const deployer = (...argv: string[]) => runDeployer(kubeconfig, argv);

const IMAGE_A = `docker.io/yasaman664/bitpin-task@sha256:${'a'.repeat(64)}`;
const IMAGE_B = `docker.io/yasaman664/bitpin-task@sha256:${'b'.repeat(64)}`;

/** env local's synth output with the app image pinned, optionally edited, in a directory for --from. */
function synthTo(image: string, mutate?: (objects: KubeObject[]) => KubeObject[]): string {
  const dir = mkdtempSync(join(work, 'local-'));
  const objects = structuredClone(synthesize('local', { images: { app: image } }).objects) as KubeObject[];
  writeFileSync(join(dir, 'all.yaml'), (mutate ? mutate(objects) : objects).map((o) => stringify(o, { version: '1.1' })).join('---\n'));
  return dir;
}

async function ok(...argv: string[]): Promise<any> {
  const r = await deployer(...argv, '--output', 'json');
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.err.join(' | ')}`);
  return JSON.parse(r.out.at(-1)!);
}

/** Metadata the API server or controllers change by themselves, never part of what we applied. */
const VOLATILE = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid'];

/** The live state of every object of env local's set: what apply wrote, without status and bookkeeping. */
async function liveState(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const o of synthesize('local').objects) {
    const live: any = await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
    const ref = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (!live) {
      out[ref] = null;
      continue;
    }
    const { status: _status, ...rest } = live;
    const metadata = { ...rest.metadata };
    for (const k of VOLATILE) delete metadata[k];
    if (metadata.annotations) {
      metadata.annotations = { ...metadata.annotations };
      delete metadata.annotations['deployment.kubernetes.io/revision']; // the Deployment controller counts rollouts
    }
    out[ref] = { ...rest, metadata };
  }
  return out;
}

const appImage = async () => ((await admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task')) as any).spec.template.spec.containers.find((c: any) => c.name === 'django')?.image;

beforeAll(async () => {
  const c = await connectTestCluster(work, ['bitpin-local', 'bitpin-dev', 'bitpin-staging', 'bitpin-prod']);
  kubeconfig = c.kubeconfig;
  admin = c.admin;
  await wipeEnvs(kubeconfig);
});

beforeEach(async () => {
  await wipeEnvs(kubeconfig);
});

afterAll(async () => {
  await wipeEnvs(kubeconfig);
  rmSync(work, { recursive: true, force: true });
});

describe.sequential('release history and rollback', () => {
  it('apply A, apply B, rollback: every object is back to A, and history shows 3 revisions', async () => {
    // GIVEN revision 1 (image A) and revision 2 (image B)
    const a = await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    expect(a.revision).toMatchObject({ revision: 1, outcome: 'deployed', images: expect.arrayContaining([IMAGE_A]) });
    const stateA = await liveState();
    const b = await ok('apply', '--env=local', '--from', synthTo(IMAGE_B), '--timeout=90s');
    expect(b.revision).toMatchObject({ revision: 2, outcome: 'deployed' });
    expect(await appImage()).toBe(IMAGE_B);
    expect(await liveState()).not.toEqual(stateA);

    // WHEN rolled back (no --to: the previous deployed revision), with no checkout or synth
    const r = await ok('rollback', '--env=local', '--timeout=90s');

    // THEN every object equals its state after A, and the history tells the story
    expect(r).toMatchObject({ ok: true, to: 1, from: 2 });
    expect(await appImage()).toBe(IMAGE_A);
    expect(await liveState()).toEqual(stateA);
    const h = await ok('history', '--env=local');
    expect(h.revisions.map((x: any) => [x.revision, x.outcome, x.description])).toEqual([
      [3, 'deployed', 'rollback to 1'],
      [2, 'superseded', expect.stringMatching(/^apply --from /)],
      [1, 'superseded', expect.stringMatching(/^apply --from /)],
    ]);
    expect(h.revisions[0]).toMatchObject({ env: 'local', context: 'bitpin-local', images: expect.arrayContaining([IMAGE_A]), user: expect.any(String) });
    expect(h.revisions[0].objects).toBe(a.changes.length);

    // AND a no-op apply records nothing
    const again = await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    expect(again.revision).toBeUndefined();
    expect((await ok('history', '--env=local')).revisions).toHaveLength(3);
  });

  it('rollback after a prune brings the pruned object back', async () => {
    // GIVEN revision 1 with the Prometheus rules ConfigMap, revision 2 without it (pruned)
    const rules = (o: KubeObject) => o.kind === 'ConfigMap' && o.metadata.namespace === 'monitoring' && o.metadata.name === 'prometheus-rules';
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const stateA = await liveState();
    const pruned = await ok('apply', '--env=local', '--from', synthTo(IMAGE_A, (objects) => objects.filter((o) => !rules(o))), '--prune', '--timeout=90s');
    expect(pruned.pruned).toEqual(['ConfigMap/monitoring/prometheus-rules']);
    expect(await admin.tryGet('v1', 'ConfigMap', 'prometheus-rules', 'monitoring')).toBeUndefined();

    // WHEN rolled back to revision 1 by number
    const r = await ok('rollback', '--env=local', '--to=1', '--timeout=90s');

    // THEN the ConfigMap is back as it was, and so is everything else
    expect(r.changes.filter((c: any) => c.kind === 'add').map((c: any) => c.ref)).toEqual(['ConfigMap/monitoring/prometheus-rules']);
    expect(await liveState()).toEqual(stateA);
  });

  it('fails to roll back with one line when there is nothing to go back to', async () => {
    const none = await deployer('rollback', '--env=local');
    expect(none.code).toBe(2);
    expect(none.err).toEqual(['error: rollback local: no release history in this cluster (namespace bitpin-deployer); nothing to roll back to']);
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const one = await deployer('rollback', '--env=local');
    expect(one.code).toBe(2);
    expect(one.err[0]).toMatch(/^error: rollback local: no earlier revision was ever deployed \(history: 1 \(deployed\)\); pick one with --to=<revision>$/);
    const missing = await deployer('rollback', '--env=local', '--to=7');
    expect(missing.err[0]).toBe('error: rollback local: no revision 7; the cluster keeps 1 (deployed)');
  });

  it('--atomic: a rollout whose pods never get ready goes back to the previous revision, names the culprit, exits non-zero', async () => {
    // GIVEN revision 1 deployed and ready
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const stateA = await liveState();
    const { NEVER_READY_LABEL } = await import('@bitpin/k8s-testenv'); // loaded lazily, as everywhere in the deployer
    // WHEN revision 2's app pods never get ready (CrashLoopBackOff, simulated by the test control plane), applied with --atomic and a short timeout
    const failing = synthTo(IMAGE_B, (objects) =>
      objects.map((o) => {
        if (o.kind !== 'Deployment' || o.metadata.name !== 'bitpin-app') return o;
        const d: any = structuredClone(o);
        d.spec.template.metadata.labels[NEVER_READY_LABEL] = 'true';
        return d;
      }),
    );
    const r = await deployer('apply', '--env=local', '--from', failing, '--atomic', '--timeout=25s', '--output', 'json');

    // THEN it exits 1, names the culprit and the revision it went back to
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out.at(-1)!);
    expect(report.ok).toBe(false);
    expect(report.rolledBack).toMatchObject({ to: 1, ok: true, culprit: expect.stringMatching(/^Deployment\/bitpin-task\/bitpin-app: /) });
    // AND the cluster runs revision 1's objects again
    expect(await appImage()).toBe(IMAGE_A);
    expect(await liveState()).toEqual(stateA);
    const h = await ok('history', '--env=local');
    expect(h.revisions.map((x: any) => [x.revision, x.outcome])).toEqual([
      [3, 'deployed'],
      [2, 'rolled-back'],
      [1, 'superseded'],
    ]);
    expect(h.revisions[1].reason).toMatch(/^Deployment\/bitpin-task\/bitpin-app: /);
  });
});

describe.sequential('atomic updates', () => {
  /** resourceVersion of every object of the set: any write to any of them moves it. */
  async function resourceVersions(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const o of synthesize('local').objects) {
      const live: any = await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
      out[`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`] = live?.metadata.resourceVersion ?? 'absent';
    }
    return out;
  }

  it('fails a namespace change together with a misspelled Deployment field without changing anything', async () => {
    // GIVEN env local applied and settled
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const before = await resourceVersions();
    // WHEN the logging namespace's Pod Security level changes and bitpin-app carries a typo (the
    // namespace comes first in the waves, the Deployment in the third)
    const dir = synthTo(IMAGE_A, (objects) =>
      objects.map((o) => {
        if (o.kind === 'Namespace' && o.metadata.name === 'logging') {
          return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'pod-security.kubernetes.io/enforce': 'baseline' } } };
        }
        if (o.kind === 'Deployment' && o.metadata.name === 'bitpin-app') {
          const d: any = structuredClone(o);
          d.spec.template.spec.terminationGracePeriodSecond = 30; // misspelled: …Seconds
          return d;
        }
        return o;
      }),
    );
    const r = await deployer('apply', '--env=local', '--from', dir, '--timeout=60s');
    // THEN it is refused before any write: one line for the Deployment, and it says nothing changed
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/Deployment\/bitpin-task\/bitpin-app.*terminationGracePeriodSecond/);
    expect(r.err.at(-1)).toMatch(/nothing was changed/);
    expect(await resourceVersions()).toEqual(before);
    const ns: any = await admin.get('v1', 'Namespace', 'logging');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).not.toBe('baseline');
    // AND no revision was recorded for it
    expect((await ok('history', '--env=local')).revisions.map((x: any) => x.revision)).toEqual([1]);
  });
});

describe.sequential('adoption is explicit', () => {
  /** What a test made by hand: no inventory owns it, so no destroy deletes it. */
  async function removeHandMade(): Promise<void> {
    if (!(await admin.tryGet('v1', 'Namespace', 'monitoring'))) return;
    await admin.delete('v1', 'Namespace', 'monitoring');
    await waitFor('namespace monitoring to be gone', async () => (await admin.tryGet('v1', 'Namespace', 'monitoring')) === undefined, { timeoutMs: 90_000 });
  }
  beforeEach(removeHandMade);
  afterEach(removeHandMade);

  it('refuses a hand-made Namespace, ConfigMap and Deployment with our names, one line each, unless --adopt', async () => {
    // GIVEN objects made by hand (kubectl-style) with names of env local's set
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } });
    await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'prometheus-rules', namespace: 'monitoring' }, data: { mine: 'yes' } });
    await admin.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'grafana', namespace: 'monitoring' },
      spec: {
        selector: { matchLabels: { app: 'hand-made' } },
        template: { metadata: { labels: { app: 'hand-made' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
      },
    });
    // WHEN env local is applied
    const r = await deployer('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=60s');
    // THEN it is refused before any write, naming each object and who manages it
    expect(r.code).toBe(2);
    expect(r.err.slice(0, 3)).toEqual([
      expect.stringMatching(/^error: ConfigMap\/monitoring\/prometheus-rules already exists and is not part of env local's inventory \(managed by field managers /),
      expect.stringMatching(/^error: Deployment\/monitoring\/grafana already exists and is not part of env local's inventory/),
      expect.stringMatching(/^error: Namespace\/monitoring already exists and is not part of env local's inventory/),
    ]);
    expect(r.err.at(-1)).toMatch(/nothing was changed: .* pass --adopt/);
    expect(await admin.tryGet('deploy.bitpin.io/v1alpha1', 'Release', 'bitpin-local')).toBeUndefined();
    expect(await admin.tryGet('v1', 'Namespace', 'bitpin-task')).toBeUndefined();
    const d: any = await admin.get('apps/v1', 'Deployment', 'grafana', 'monitoring');
    expect(d.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['web']);
    // AND a --from directory of another env is refused too
    const prodDir = mkdtempSync(join(work, 'prod-'));
    writeFileSync(join(prodDir, 'all.yaml'), synthesize('prod', { images: { app: IMAGE_A } }).objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
    const wrongEnv = await deployer('apply', '--env=local', '--from', prodDir);
    expect(wrongEnv.code).toBe(2);
    expect(wrongEnv.err[0]).toMatch(/^error: --from .*: \d+ objects were synthesized for env prod, not local \(label bitpin\.io\/env=prod on .*\); run synth --env=local, or apply with --env=prod$/);

  });

  it('tracks, prunes and destroys a --from object that had no inventory label', async () => {
    // GIVEN a hand-written document without the inventory label in the --from directory
    const extra = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra-settings', namespace: 'bitpin-task' }, data: { a: '1' } };
    const dir = synthTo(IMAGE_A, (objects) => [...objects, extra as KubeObject]);
    const first = await ok('apply', '--env=local', '--from', dir, '--timeout=90s');
    expect(first.changes).toContainEqual({ ref: 'ConfigMap/bitpin-task/extra-settings', kind: 'add' });
    // THEN it is a member: the next apply finds it unchanged, status lists it …
    const again = await ok('apply', '--env=local', '--from', dir, '--timeout=90s');
    expect(again.changes).toContainEqual({ ref: 'ConfigMap/bitpin-task/extra-settings', kind: 'noop' });
    const status = await ok('status', '--env=local', '--from', dir);
    expect(status.members.map((m: any) => m.ref)).toContain('ConfigMap/bitpin-task/extra-settings');
    // … pruned when it leaves the set …
    const pruned = await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--prune', '--timeout=90s');
    expect(pruned.pruned).toEqual(['ConfigMap/bitpin-task/extra-settings']);
    // … and destroyed with the env when it is back
    await ok('apply', '--env=local', '--from', dir, '--timeout=90s');
    await ok('destroy', '--env=local', '--confirm=local', '--include-data', '--timeout=90s');
    expect(await admin.tryGet('v1', 'ConfigMap', 'extra-settings', 'bitpin-task')).toBeUndefined();
  });
});

describe.sequential('confirmation (staging and prod ask)', () => {
  const stagingImage = (image: string) => `app=${image}`;

  it('refuses without a terminal unless --yes; on a terminal shows the plan and asks, and "n" changes nothing', async () => {
    // WHEN staging is applied with no terminal and no --yes
    const err: string[] = [];
    const code = await run(['apply', '--env=staging', '--no-wait', '--image', stagingImage(IMAGE_A), '--kubeconfig', kubeconfig], {
      stdout: () => undefined,
      stderr: (l) => err.push(l),
      tty: false,
    });
    // THEN exit 2 with one line, and nothing was written
    expect(code).toBe(2);
    expect(err.filter((l) => l.startsWith('error:'))).toEqual([
      expect.stringMatching(/^error: env staging asks for confirmation before it changes the cluster \(\d+ to add, 0 to update, 0 to delete\) and there is no terminal to ask on; review with deployer diff --env=staging, then re-run with --yes$/),
    ]);
    expect(await admin.tryGet('deploy.bitpin.io/v1alpha1', 'Release', 'bitpin-staging')).toBeUndefined();

    // WHEN an operator at a terminal answers "n"
    const asked: string[] = [];
    const no = await runDeployer(kubeconfig, ['apply', '--env=staging', '--no-wait', '--image', stagingImage(IMAGE_A)], { answer: 'n', asked });
    expect(asked).toEqual(['Continue? [y/N] ']);
    expect(no.out.find((l) => l.startsWith('env staging'))).toMatch(/^env staging → bitpin-staging: \d+ to add, 0 to update, 0 to delete$/);
    expect(no.out).toContain('  + Deployment/bitpin-task/bitpin-app');
    expect(no.code).toBe(2);
    expect(no.err).toEqual(['error: not confirmed: nothing was changed']);
    expect(await admin.tryGet('v1', 'Namespace', 'bitpin-task')).toBeUndefined();

    // WHEN "y": applied; then a change shows the changed field and asks again
    expect((await runDeployer(kubeconfig, ['apply', '--env=staging', '--no-wait', '--image', stagingImage(IMAGE_A)], { answer: 'y' })).code).toBe(0);
    const change = await runDeployer(kubeconfig, ['apply', '--env=staging', '--no-wait', '--image', stagingImage(IMAGE_B)], { answer: 'y' });
    expect(change.code).toBe(0);
    expect(change.out.find((l) => l.startsWith('env staging'))).toBe('env staging → bitpin-staging: 0 to add, 1 to update, 0 to delete');
    expect(change.out).toContain('  ~ Deployment/bitpin-task/bitpin-app');
    expect(change.out).toContainEqual(expect.stringMatching(/^ {6}\.spec\.template\.spec\.containers\[django\]\.image: "docker\.io\/yasaman664\/bitpin-task@sha256:a+" → "docker\.io\/yasaman664\/bitpin-task@sha256:b+/));
    expect(await appImage()).toBe(IMAGE_B);
    // AND a no-op asks nothing
    const asked2: string[] = [];
    expect((await runDeployer(kubeconfig, ['apply', '--env=staging', '--no-wait', '--image', stagingImage(IMAGE_B)], { answer: 'n', asked: asked2 })).code).toBe(0);
    expect(asked2).toEqual([]);
  });
});

describe.sequential('team-scoped applies (--only)', () => {
  /** resourceVersion of every live member, by part. */
  async function versionsByPart(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const o of synthesize('local').objects) {
      const live: any = await admin.tryGet(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
      const part = o.metadata.annotations?.['deploy.bitpin.io/part'] ?? '?';
      (out[part] ??= {})[`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`] = live?.metadata.resourceVersion ?? 'absent';
    }
    return out;
  }

  it('--only=monitoring changes and prunes nothing outside monitoring; the revision records the part and the whole set', async () => {
    // GIVEN env local applied
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const before = await versionsByPart();
    // WHEN monitoring drops its rules ConfigMap and changes its Grafana, while the app's image
    // also changed in the input and a logging object is missing from it
    const dir = synthTo(IMAGE_B, (objects) =>
      objects
        .filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'prometheus-rules'))
        .filter((o) => !(o.kind === 'Service' && o.metadata.namespace === 'logging' && o.metadata.name === 'loki'))
        .map((o) => (o.kind === 'Deployment' && o.metadata.namespace === 'monitoring' && o.metadata.name === 'grafana' ? { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, team: 'observability' } } } : o)),
    );
    const r = await ok('apply', '--env=local', '--from', dir, '--only=monitoring', '--prune', '--timeout=90s');
    // THEN only monitoring moved: the ConfigMap pruned, Grafana updated
    expect(r.pruned).toEqual(['ConfigMap/monitoring/prometheus-rules']);
    expect(r.changes.filter((c: any) => c.kind !== 'noop').map((c: any) => c.ref)).toEqual(['Deployment/monitoring/grafana']);
    const after = await versionsByPart();
    for (const part of ['app', 'database', 'backup', 'logging']) expect(after[part], part).toEqual(before[part]);
    expect(await appImage()).toBe(IMAGE_A);
    expect(await admin.tryGet('v1', 'Service', 'loki', 'logging')).toBeDefined();
    // AND the revision says which part it covered, and stores the other parts as they were
    expect(r.revision).toMatchObject({ revision: 2, parts: ['monitoring'], images: expect.arrayContaining([IMAGE_A]) });
    expect(r.revision.images).not.toContain(IMAGE_B);
    // AND a status of the whole env still finds every member of the other parts
    const status = await deployer('status', '--env=local', '--from', synthTo(IMAGE_A), '--output', 'json');
    expect(status.code).toBe(1); // one object missing
    expect(JSON.parse(status.out.at(-1)!).missing).toEqual(['ConfigMap/monitoring/prometheus-rules']);
  });

  it('fails an unknown part in one line', async () => {
    const r = await deployer('apply', '--env=local', '--only=monitoring,web');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['error: --only "monitoring,web": unknown part "web"; parts: app, database, cache, backup, monitoring, logging']);
  });
});

describe.sequential('immutable fields (--replace)', () => {
  /** env local with bitpin-app selecting on one more label (a selector is immutable). */
  const newSelector = () =>
    synthTo(IMAGE_A, (objects) =>
      objects.map((o) => {
        if (o.kind !== 'Deployment' || o.metadata.name !== 'bitpin-app') return o;
        const d: any = structuredClone(o);
        d.spec.selector.matchLabels.track = 'stable';
        d.spec.template.metadata.labels.track = 'stable';
        return d;
      }),
    );
  const app = async (): Promise<any> => admin.get('apps/v1', 'Deployment', 'bitpin-app', 'bitpin-task');

  it('names the immutable field and --replace; with it, deletes and re-creates only that object, and rollback takes --replace too', async () => {
    // GIVEN env local applied (revision 1)
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const before = await app();
    // WHEN bitpin-app's selector changes together with a ConfigMap change
    const dir = newSelector();
    const refused = await deployer('apply', '--env=local', '--from', dir, '--timeout=90s');
    // THEN refused in one line naming the field and the flag, nothing written
    expect(refused.code).toBe(1);
    expect(refused.err.at(-1)).toMatch(/^error: nothing was changed/);
    expect(refused.err[0]).toBe(
      'error: Deployment/bitpin-task/bitpin-app: field spec.selector is immutable; to delete and re-create it (what it runs restarts) re-run with --replace=Deployment/bitpin-task/bitpin-app',
    );
    expect((await app()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    // WHEN applied with --replace
    const r = await ok('apply', '--env=local', '--from', dir, '--replace=Deployment/bitpin-task/bitpin-app', '--timeout=90s');
    // THEN only that object was replaced: a new uid with the new selector, the rest updated in place or untouched
    expect(r.changes.filter((c: any) => c.kind !== 'noop')).toEqual([{ ref: 'Deployment/bitpin-task/bitpin-app', kind: 'update', replaced: true }]);
    const after = await app();
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(after.spec.selector.matchLabels).toEqual({ app: 'bitpin-app', track: 'stable' });
    expect(r.revision).toMatchObject({ revision: 2, outcome: 'deployed' });

    // AND going back needs the same consent: refused without it, done with it
    const back = await deployer('rollback', '--env=local', '--timeout=90s');
    expect(back.code).toBe(1);
    expect(back.err[0]).toMatch(/spec\.selector is immutable; .* re-run with --replace=Deployment\/bitpin-task\/bitpin-app$/);
    const rb = await ok('rollback', '--env=local', '--replace=Deployment/bitpin-task/bitpin-app', '--timeout=90s');
    expect(rb).toMatchObject({ ok: true, to: 1 });
    expect((await app()).spec.selector.matchLabels).toEqual({ app: 'bitpin-app' });
  });

  it('never replaces a StatefulSet whose volumeClaimTemplates change, and refuses a --replace that names nothing in the set', async () => {
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const sts: any = await admin.get('apps/v1', 'StatefulSet', 'alertmanager', 'monitoring');
    // WHEN Alertmanager's volume claim template asks for more storage
    const dir = synthTo(IMAGE_A, (objects) =>
      objects.map((o) => {
        if (o.kind !== 'StatefulSet' || o.metadata.name !== 'alertmanager') return o;
        const s: any = structuredClone(o);
        s.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '5Gi';
        return s;
      }),
    );
    const plain = await deployer('apply', '--env=local', '--from', dir, '--timeout=90s');
    expect(plain.code).toBe(1);
    expect(plain.err[0]).toMatch(/^error: StatefulSet\/monitoring\/alertmanager: a StatefulSet field other than .* changed, and those are immutable; .*--replace=StatefulSet\/monitoring\/alertmanager \(refused when its volumeClaimTemplates change/);
    // THEN --replace is refused for it, before anything is written
    const r = await deployer('apply', '--env=local', '--from', dir, '--replace=StatefulSet/monitoring/alertmanager', '--timeout=90s');
    expect(r.code).toBe(1);
    expect(r.err.at(-1)).toMatch(/^error: nothing was changed/);
    expect(r.err[0]).toMatch(/^error: --replace=StatefulSet\/monitoring\/alertmanager: its volumeClaimTemplates change, and re-creating the StatefulSet would not change its PVCs/);
    const still: any = await admin.get('apps/v1', 'StatefulSet', 'alertmanager', 'monitoring');
    expect([still.metadata.uid, still.metadata.resourceVersion]).toEqual([sts.metadata.uid, sts.metadata.resourceVersion]);
    // AND a --replace naming an object outside the set is refused in one line
    const unknown = await deployer('apply', '--env=local', '--from', synthTo(IMAGE_A), '--replace=Deployment/bitpin-task/nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toEqual([
      'error: --replace=Deployment/bitpin-task/nope: no such object in the local set; name it as Kind/namespace/name (Kind/name when cluster-scoped), as the refusal printed it',
    ]);
  });
});

describe.sequential('prune last', () => {
  it('prunes nothing while the rollout is not ready, and says so', async () => {
    // GIVEN env local applied with the Prometheus rules ConfigMap
    await ok('apply', '--env=local', '--from', synthTo(IMAGE_A), '--timeout=90s');
    const { NEVER_READY_LABEL } = await import('@bitpin/k8s-testenv');
    // WHEN the next set drops that ConfigMap and its app pods never get ready (no --atomic in env local)
    const dir = synthTo(IMAGE_B, (objects) =>
      objects
        .filter((o) => !(o.kind === 'ConfigMap' && o.metadata.namespace === 'monitoring' && o.metadata.name === 'prometheus-rules'))
        .map((o) => {
          if (o.kind !== 'Deployment' || o.metadata.name !== 'bitpin-app') return o;
          const d: any = structuredClone(o);
          d.spec.template.metadata.labels[NEVER_READY_LABEL] = 'true';
          return d;
        }),
    );
    const r = await deployer('apply', '--env=local', '--from', dir, '--prune', '--timeout=20s', '--output', 'json');
    // THEN it fails without pruning: the ConfigMap still serves, and the report says why
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out.at(-1)!);
    expect(report).toMatchObject({ ok: false, pruned: [], pruneSkipped: expect.stringMatching(/^not pruned: the rollout is not ready/) });
    expect(await admin.tryGet('v1', 'ConfigMap', 'prometheus-rules', 'monitoring')).toBeDefined();
    // AND a status of the old set still finds it tracked (the inventory kept it)
    const status = await deployer('status', '--env=local', '--from', synthTo(IMAGE_A), '--output', 'json');
    expect(JSON.parse(status.out.at(-1)!).missing).toEqual([]);
  });
});
