import { describe, expect, it } from 'vitest';
import { POLICY_EXCEPTIONS_ANNOTATION, POLICY_RULES, checkPolicies, policyExceptions, restrictedContainerSecurity, restrictedPodSecurity } from '../src/index.js';

type Json = Record<string, any>;

const probe = { httpGet: { path: '/healthz', port: 8080 } };

function goodContainer(name = 'web'): Json {
  return {
    name,
    image: 'quay.io/example/web:1.2.3',
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    securityContext: restrictedContainerSecurity({ runAsUser: 1000 }),
    readinessProbe: probe,
    livenessProbe: probe,
  };
}

function deployment(mutate: (d: Json) => void = () => undefined): Json {
  const d: Json = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'demo' },
    spec: {
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { securityContext: restrictedPodSecurity({ runAsUser: 1000 }), containers: [goodContainer()] },
      },
    },
  };
  mutate(d);
  return d;
}

const container = (d: Json): Json => d['spec'].template.spec.containers[0];
const lines = (objects: Json[], opts = {}) => checkPolicies(objects, opts).map((v) => v.line);

describe('checkPolicies', () => {
  it('a restricted, pinned, probed, bounded Deployment passes every rule', () => {
    expect(checkPolicies([deployment()])).toEqual([]);
  });

  it('objects without pods are not checked', () => {
    expect(checkPolicies([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'demo' }, data: {} }])).toEqual([]);
  });

  it('fails requests-limits: one line per missing request or memory limit, in the documented format', () => {
    const d = deployment((x) => (container(x).resources = { requests: { cpu: '10m' } }));
    expect(lines([d])).toEqual([
      'Deployment/demo/web container web: no memory request (rule requests-limits)',
      'Deployment/demo/web container web: no memory limit (rule requests-limits)',
    ]);
  });

  it('requests-limits does not ask for a CPU limit', () => {
    expect(checkPolicies([deployment((x) => (container(x).resources.limits = { memory: '1Gi' }))])).toEqual([]);
  });

  it('fails no-privilege-escalation when allowPrivilegeEscalation is unset or true', () => {
    for (const value of [undefined, true]) {
      const d = deployment((x) => (container(x).securityContext.allowPrivilegeEscalation = value));
      expect(checkPolicies([d]).map((v) => v.rule)).toEqual(['no-privilege-escalation']);
    }
  });

  it('fails read-only-root-fs on a writable root filesystem', () => {
    const d = deployment((x) => (container(x).securityContext.readOnlyRootFilesystem = false));
    expect(lines([d])).toEqual(['Deployment/demo/web container web: root filesystem is writable (readOnlyRootFilesystem is not true) (rule read-only-root-fs)']);
  });

  it('fails run-as-non-root on UID 0 and on a missing runAsNonRoot; the pod-level setting counts', () => {
    const root = deployment((x) => (container(x).securityContext.runAsUser = 0));
    expect(checkPolicies([root]).map((v) => v.message)).toEqual(['runs as UID 0']);
    const unset = deployment((x) => {
      delete container(x).securityContext.runAsNonRoot;
      delete x['spec'].template.spec.securityContext.runAsNonRoot;
    });
    expect(checkPolicies([unset]).map((v) => v.message)).toEqual(['runAsNonRoot is not true']);
    const podLevel = deployment((x) => delete container(x).securityContext.runAsNonRoot);
    expect(checkPolicies([podLevel])).toEqual([]);
  });

  it('fails pinned-image on :latest, on no tag and on a moving tag; a digest or an allowed ref passes', () => {
    for (const image of ['quay.io/example/web:latest', 'quay.io/example/web', 'quay.io/example/web:main']) {
      const d = deployment((x) => (container(x).image = image));
      expect(checkPolicies([d]).map((v) => v.rule)).toEqual(['pinned-image']);
      expect(checkPolicies([d], { allowMutableImages: [image] })).toEqual([]);
    }
    const digest = deployment((x) => (container(x).image = `quay.io/example/web@sha256:${'a'.repeat(64)}`));
    expect(checkPolicies([digest])).toEqual([]);
  });

  it('fails pinned-image on a CloudNativePG Cluster with a floating imageName', () => {
    const cluster = { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'db', namespace: 'demo' }, spec: { imageName: 'ghcr.io/cloudnative-pg/postgresql:latest' } };
    expect(lines([cluster])).toEqual(['Cluster/demo/db: imageName "ghcr.io/cloudnative-pg/postgresql:latest" is not pinned (use a version tag or @sha256 digest) (rule pinned-image)']);
    expect(checkPolicies([{ ...cluster, spec: { imageName: 'ghcr.io/cloudnative-pg/postgresql:15.3' } }])).toEqual([]);
  });

  it('fails probes on a long-running container or native sidecar without readiness or liveness', () => {
    const d = deployment((x) => {
      delete container(x).readinessProbe;
      x['spec'].template.spec.initContainers = [{ ...goodContainer('sidecar'), restartPolicy: 'Always', livenessProbe: undefined }];
    });
    expect(lines([d])).toEqual([
      'Deployment/demo/web container sidecar: no liveness probe (rule probes)',
      'Deployment/demo/web container web: no readiness probe (rule probes)',
    ]);
  });

  it('probes: init containers, Jobs and CronJobs are exempt', () => {
    const noProbes = (name: string) => ({ ...goodContainer(name), readinessProbe: undefined, livenessProbe: undefined });
    const d = deployment((x) => (x['spec'].template.spec.initContainers = [noProbes('migrate')]));
    const podSpec = { securityContext: restrictedPodSecurity(), containers: [noProbes('job')] };
    const job = { kind: 'Job', metadata: { name: 'j', namespace: 'demo' }, spec: { template: { spec: podSpec } } };
    const cron = { kind: 'CronJob', metadata: { name: 'c', namespace: 'demo' }, spec: { jobTemplate: { spec: { template: { spec: podSpec } } } } };
    expect(checkPolicies([d, job, cron])).toEqual([]);
  });

  it('fails no-privileged on a CronJob container (Jobs are checked by every rule but probes)', () => {
    const podSpec = { containers: [{ ...goodContainer('job'), securityContext: { ...restrictedContainerSecurity(), privileged: true } }] };
    const cron = { kind: 'CronJob', metadata: { name: 'c', namespace: 'demo' }, spec: { jobTemplate: { spec: { template: { spec: podSpec } } } } };
    expect(lines([cron])).toEqual(['CronJob/demo/c container job: runs privileged (rule no-privileged)']);
  });

  it('fails no-privileged on a privileged container', () => {
    const d = deployment((x) => (container(x).securityContext.privileged = true));
    expect(checkPolicies([d]).map((v) => v.rule)).toEqual(['no-privileged']);
  });

  it('fails drop-all-capabilities when ALL is not dropped or a capability is added', () => {
    const keep = deployment((x) => (container(x).securityContext.capabilities = { drop: ['NET_RAW'] }));
    expect(checkPolicies([keep]).map((v) => v.message)).toEqual(['capabilities.drop does not include ALL']);
    const add = deployment((x) => (container(x).securityContext.capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }));
    expect(checkPolicies([add]).map((v) => v.message)).toEqual(['adds capabilities NET_BIND_SERVICE']);
  });

  it('fails no-host-namespaces and no-host-path once per pod, not per container', () => {
    const d = deployment((x) => {
      Object.assign(x['spec'].template.spec, { hostNetwork: true, hostPID: true, volumes: [{ name: 'proc', hostPath: { path: '/proc' } }, { name: 'tmp', emptyDir: {} }] });
      x['spec'].template.spec.containers.push(goodContainer('second'));
    });
    expect(lines([d])).toEqual([
      "Deployment/demo/web: uses the host's namespace (hostNetwork) (rule no-host-namespaces)",
      "Deployment/demo/web: uses the host's namespace (hostPID) (rule no-host-namespaces)",
      'Deployment/demo/web: volume proc is a hostPath (/proc) (rule no-host-path)',
    ]);
  });

  it('fails with Kind/name for a cluster-scoped object', () => {
    const pod = { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ ...goodContainer(), securityContext: { ...restrictedContainerSecurity(), privileged: true } }] } };
    expect(lines([pod])).toEqual(['Pod/p container web: runs privileged (rule no-privileged)']);
  });
});

describe('policy exceptions', () => {
  const rootDeployment = (annotations: Record<string, string>, where: 'object' | 'template' = 'object') =>
    deployment((x) => {
      container(x).securityContext.runAsUser = 0;
      if (where === 'object') x['metadata'].annotations = annotations;
      else x['spec'].template.metadata.annotations = annotations;
    });

  it('policyExceptions() returns the annotation entry, keys sorted', () => {
    expect(policyExceptions({ 'run-as-non-root': 'reads root-owned files', 'no-host-path': 'tails host logs' })).toEqual({
      [POLICY_EXCEPTIONS_ANNOTATION]: '{"no-host-path":"tails host logs","run-as-non-root":"reads root-owned files"}',
    });
  });

  it('an exception with a reason, on the object or on the pod template, silences its rule', () => {
    expect(checkPolicies([rootDeployment(policyExceptions({ 'run-as-non-root': 'reads root-owned log files' }))])).toEqual([]);
    expect(checkPolicies([rootDeployment(policyExceptions({ 'run-as-non-root': 'reads root-owned log files' }), 'template')])).toEqual([]);
  });

  it('an exception silences only its own rule', () => {
    const d = rootDeployment(policyExceptions({ 'run-as-non-root': 'reads root-owned log files' }));
    container(d).securityContext.privileged = true;
    expect(checkPolicies([d]).map((v) => v.rule)).toEqual(['no-privileged']);
  });

  it('a rule:container exception silences that container only', () => {
    const d = deployment((x) => {
      x['metadata'].annotations = policyExceptions({ 'probes:watcher': 'a shell loop without a port to probe' });
      x['spec'].template.spec.containers.push({ ...goodContainer('watcher'), readinessProbe: undefined, livenessProbe: undefined });
    });
    expect(checkPolicies([d])).toEqual([]);
    delete container(d).readinessProbe;
    expect(lines([d])).toEqual(['Deployment/demo/web container web: no readiness probe (rule probes)']);
  });

  it('fails an exception without a reason (or a too short one), and keeps the violation', () => {
    for (const reason of ['', 'because', 42]) {
      const d = rootDeployment({ [POLICY_EXCEPTIONS_ANNOTATION]: JSON.stringify({ 'run-as-non-root': reason }) });
      expect(lines([d])).toEqual([
        'Deployment/demo/web: exception "run-as-non-root" has no reason (give one of at least 10 characters) (rule policy-exceptions)',
        'Deployment/demo/web container web: runs as UID 0 (rule run-as-non-root)',
      ]);
    }
  });

  it('fails an exception for an unknown rule, a missing container or invalid JSON', () => {
    const unknown = deployment((x) => (x['metadata'].annotations = { [POLICY_EXCEPTIONS_ANNOTATION]: '{"run-as-root":"reads root-owned log files"}' }));
    expect(checkPolicies([unknown]).map((v) => v.message)).toEqual([`exception "run-as-root" names no known rule (known: ${POLICY_RULES.join(', ')})`]);
    const noContainer = deployment((x) => (x['metadata'].annotations = policyExceptions({ 'probes:nope': 'a shell loop without a port' })));
    expect(checkPolicies([noContainer]).map((v) => v.message)).toEqual(['exception "probes:nope" names no container of this object']);
    const notJson = deployment((x) => (x['metadata'].annotations = { [POLICY_EXCEPTIONS_ANNOTATION]: 'run-as-non-root' }));
    expect(checkPolicies([notJson]).map((v) => v.message)).toEqual([`object annotation ${POLICY_EXCEPTIONS_ANNOTATION} is not JSON`]);
  });

  it('fails an exception that is no longer needed', () => {
    const d = deployment((x) => (x['metadata'].annotations = policyExceptions({ 'no-host-path': 'tails /var/log/pods on the host' })));
    expect(lines([d])).toEqual(['Deployment/demo/web: exception "no-host-path" is not needed (rule no-host-path finds nothing here); remove it (rule policy-exceptions)']);
  });
});
