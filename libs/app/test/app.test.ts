import { ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { PlatformChart } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { AppChart, BitpinApp } from '../src/index.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; [key: string]: any };

function synth(envName: string, overrides = {}): Obj[] {
  const env = loadEnvConfig(envName, { overrides });
  return Testing.synth(new AppChart(Testing.app(), 'app', { env })) as Obj[];
}
const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not synthesized`);
  return o;
};

describe.each(ENV_NAMES)('app tier in env %s keeps every seed fact', (envName) => {
  const objs = synth(envName);
  const deploy = find(objs, 'Deployment', 'bitpin-app');
  const pod = deploy.spec.template.spec;
  const django = pod.containers.find((c: any) => c.name === 'django');

  it('creates the bitpin-task namespace and puts everything in it', () => {
    expect(find(objs, 'Namespace', 'bitpin-task')).toBeTruthy();
    for (const o of objs.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace).toBe('bitpin-task');
  });

  it('runs Django on port 8000 with the seed settings module', () => {
    expect(django.ports).toContainEqual({ name: 'app', containerPort: 8000, protocol: 'TCP' });
    expect(django.env).toContainEqual({ name: 'DJANGO_SETTINGS_MODULE', value: 'Exchange.settings' });
    expect(django.image).toBe(loadEnvConfig(envName).images.app);
  });

  it('probes /healthz/ with the seed timings (liveness 10s/20s, readiness 5s/10s)', () => {
    expect(django.livenessProbe).toMatchObject({ httpGet: { path: '/healthz/', port: 'app' }, initialDelaySeconds: 10, periodSeconds: 20 });
    expect(django.readinessProbe).toMatchObject({ httpGet: { path: '/healthz/', port: 'app' }, initialDelaySeconds: 5, periodSeconds: 10 });
    expect(django.startupProbe).toMatchObject({ httpGet: { path: '/healthz/', port: 'app' } });
  });

  it('reads host, port, dbname, user and password from the bitpin-cluster-app secret, over verify-full TLS', () => {
    const fromSecret = Object.fromEntries(
      django.env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef]),
    );
    const pooled = loadEnvConfig(envName).database.pooler.enabled;
    expect(fromSecret).toEqual({
      // With pooling on, DB_HOST is the rw pooler's Service (a value, below).
      ...(pooled ? {} : { DB_HOST: { name: 'bitpin-cluster-app', key: 'host' } }),
      DB_PORT: { name: 'bitpin-cluster-app', key: 'port' },
      DB_NAME: { name: 'bitpin-cluster-app', key: 'dbname' },
      DB_USER: { name: 'bitpin-cluster-app', key: 'username' },
      DB_PASSWORD: { name: 'bitpin-cluster-app', key: 'password' },
      // The cache's password, where the env runs the cache (libs/cache).
      ...(loadEnvConfig(envName).cache.enabled ? { REDIS_PASSWORD: { name: 'bitpin-redis-auth', key: 'password' } } : {}),
    });
    expect(django.env).toContainEqual({ name: 'PGSSLMODE', value: 'verify-full' });
    expect(pod.volumes).toContainEqual({
      name: 'db-ca',
      secret: { secretName: 'bitpin-cluster-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    });
  });

  it('reaches the database through the poolers where pooling is on, and the read host where read replicas are on', () => {
    const cfg = loadEnvConfig(envName).database;
    const labels = deploy.spec.template.metadata.labels;
    const value = (c: any, name: string) => c.env.find((e: any) => e.name === name)?.value;
    const sidecar = (pod.initContainers ?? []).find((c: any) => c.name === 'metrics-sidecar');
    if (cfg.pooler.enabled) {
      expect(value(django, 'DB_HOST')).toBe('bitpin-cluster-pooler-rw');
      expect(value(django, 'DB_POOL_MODE')).toBe(cfg.pooler.poolMode);
      expect(labels['bitpin.io/database-pooler-client']).toBe('true');
      // Only the poolers reach the database for the app.
      expect(labels['bitpin.io/database-client']).toBeUndefined();
    } else {
      expect(value(django, 'DB_POOL_MODE')).toBeUndefined();
      expect(labels['bitpin.io/database-client']).toBe('true');
      expect(labels['bitpin.io/database-pooler-client']).toBeUndefined();
    }
    const read = cfg.readReplicas.enabled ? (cfg.pooler.enabled ? 'bitpin-cluster-pooler-ro' : 'bitpin-cluster-ro') : undefined;
    expect(value(django, 'DB_READ_HOST')).toBe(read);
    // The sidecar uses the same addresses; its read-only probe goes where reads go.
    if (sidecar) {
      expect(value(sidecar, 'DB_HOST')).toBe(value(django, 'DB_HOST'));
      expect(value(sidecar, 'SIDECAR_DB_RO_HOST')).toBe(read ?? (cfg.pooler.enabled ? 'bitpin-cluster-pooler-rw' : undefined));
    }
  });

  it('reaches the Redis cache where the env runs it: REDIS_URL from the secret by reference, and the cache-client label', () => {
    const labels = deploy.spec.template.metadata.labels;
    const names = django.env.map((e: any) => e.name);
    if (!loadEnvConfig(envName).cache.enabled) {
      expect(names.filter((n: string) => n.startsWith('REDIS_'))).toEqual([]);
      expect(labels['bitpin.io/cache-client']).toBeUndefined();
      return;
    }
    expect(labels['bitpin.io/cache-client']).toBe('true');
    const redis = django.env.filter((e: any) => e.name.startsWith('REDIS_'));
    expect(redis).toEqual([
      { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'bitpin-redis-auth', key: 'password' } } },
      { name: 'REDIS_HOST', value: 'bitpin-redis' },
      { name: 'REDIS_PORT', value: '6379' },
      // $(VAR) is expanded by the kubelet only from variables defined before it.
      { name: 'REDIS_URL', value: 'redis://:$(REDIS_PASSWORD)@bitpin-redis:6379/0' },
    ]);
    expect(names.indexOf('REDIS_PASSWORD')).toBeLessThan(names.indexOf('REDIS_URL'));
  });

  it('mounts static and media at the seed paths', () => {
    expect(django.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'static', mountPath: '/app/Exchange/static' },
        { name: 'media', mountPath: '/app/Exchange/media' },
      ]),
    );
  });

  it('exposes bitpin-app-svc as NodePort 80 → app on 30505, selecting app=bitpin-app', () => {
    const svc = find(objs, 'Service', 'bitpin-app-svc');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.selector).toEqual({ app: 'bitpin-app' });
    expect(svc.spec.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30505 }]);
    expect(deploy.spec.selector.matchLabels).toEqual({ app: 'bitpin-app' });
    expect(deploy.spec.template.metadata.labels.app).toBe('bitpin-app');
  });

  it('rolls out without unavailable pods and runs with least privilege', () => {
    expect(deploy.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find(objs, 'ServiceAccount', 'bitpin-app').automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
    }
  });

  it('runs the metrics sidecar as a native sidecar with its proxy and metrics ports', () => {
    const sidecar = pod.initContainers.find((c: any) => c.name === 'metrics-sidecar');
    expect(sidecar.restartPolicy).toBe('Always');
    expect(sidecar.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9102, protocol: 'TCP' },
    ]);
  });
});

describe('env-dependent shape', () => {
  it('dev: one replica, emptyDir storage, no HPA or PDB', () => {
    const objs = synth('dev');
    const deploy = find(objs, 'Deployment', 'bitpin-app');
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.template.spec.volumes).toEqual(expect.arrayContaining([{ name: 'static', emptyDir: {} }, { name: 'media', emptyDir: {} }]));
    expect(objs.filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  it('prod: the HPA owns the replica count, a PDB protects it, static/media are ReadWriteMany PVCs', () => {
    const objs = synth('prod');
    const deploy = find(objs, 'Deployment', 'bitpin-app');
    expect(deploy.spec.replicas).toBeUndefined();
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'bitpin-app');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 10, scaleTargetRef: { kind: 'Deployment', name: 'bitpin-app' } });
    expect(find(objs, 'PodDisruptionBudget', 'bitpin-app').spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: { app: 'bitpin-app' } } });
    const media = find(objs, 'PersistentVolumeClaim', 'bitpin-app-media');
    expect(media.spec).toMatchObject({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '20Gi' } } });
    expect(deploy.spec.template.spec.volumes).toContainEqual({ name: 'media', persistentVolumeClaim: { claimName: 'bitpin-app-media' } });
  });

  it('observe mode sends the Service straight to Django on 8000', () => {
    const svc = find(synth('dev', { app: { sidecar: { mode: 'observe' } } }), 'Service', 'bitpin-app-svc');
    expect(svc.spec.ports[0].targetPort).toBe('app');
  });

  it('without the sidecar the pod has only Django', () => {
    const deploy = find(synth('dev', { app: { sidecar: { enabled: false } } }), 'Deployment', 'bitpin-app');
    expect(deploy.spec.template.spec.initContainers).toBeUndefined();
    expect(find(synth('dev', { app: { sidecar: { enabled: false } } }), 'Service', 'bitpin-app-svc').spec.ports[0].targetPort).toBe('app');
  });

  it('matches the prod snapshot', () => {
    expect(synth('prod')).toMatchSnapshot();
  });
});

describe('validation', () => {
  it('fails when runAsUser is root', () => {
    const chart = new PlatformChart(Testing.app(), 'c', { env: loadEnvConfig('dev') });
    expect(() => new BitpinApp(chart, 'a', { runAsUser: 0 })).toThrowError(
      "BitpinApp: 'runAsUser' (0) must be a positive integer (root is not allowed)",
    );
  });

  it('fails when preStopSleepSeconds is out of range', () => {
    const chart = new PlatformChart(Testing.app(), 'c', { env: loadEnvConfig('dev') });
    expect(() => new BitpinApp(chart, 'a', { preStopSleepSeconds: 90 })).toThrowError(/'preStopSleepSeconds' \(90\) must be an integer between 0 and 60/);
  });
});
