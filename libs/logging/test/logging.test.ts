import { ENV_NAMES, loadEnvConfig, SEED } from '@bitpin/config';
import { PlatformChart } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LogAgent, Loki, LoggingChart, LoggingGrafana, lokiConfig, lokiDatasource, loggingScrapeTargets, promtailConfig, alloyConfig } from '../src/index.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string>; [k: string]: any };

function synth(envName: string, overrides = {}, props: Record<string, unknown> = {}): Obj[] {
  const env = loadEnvConfig(envName, { overrides });
  return Testing.synth(new LoggingChart(Testing.app(), 'logging', { env, ...props })) as Obj[];
}
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not synthesized`);
  return o;
};
const configFile = (objs: Obj[], name: string, key: string): unknown => {
  const text = find(objs, 'ConfigMap', name).data?.[key];
  if (text === undefined) throw new Error(`ConfigMap/${name} has no ${key}`);
  return parse(text);
};
const container = (o: Obj, name: string) => o.spec.template.spec.containers.find((c: any) => c.name === name);

describe.each(ENV_NAMES)('logging tier in env %s keeps every seed fact', (envName) => {
  const env = loadEnvConfig(envName);
  const objs = synth(envName);
  const sts = find(objs, 'StatefulSet', 'loki');
  const loki = container(sts, 'loki');

  it('creates the logging namespace, privileged for the agent and saying why', () => {
    const ns = find(objs, 'Namespace', 'logging');
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'restricted' });
    expect(ns.metadata.annotations?.['bitpin.io/pod-security-reason']).toMatch(/hostPath/);
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of objs.filter((x) => !clusterScoped.has(x.kind))) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('logging');
  });

  it('runs Loki as a StatefulSet on port 3100 (and gRPC 9095) with a persistent volume per pod', () => {
    expect(loki.image).toBe(env.images.loki);
    expect(loki.ports).toEqual([
      { name: 'http-metrics', containerPort: 3100, protocol: 'TCP' },
      { name: 'grpc', containerPort: 9095, protocol: 'TCP' },
    ]);
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'storage' }),
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: env.logging.loki.storageSize } },
          ...(env.logging.loki.storageClass ? { storageClassName: env.logging.loki.storageClass } : {}),
        },
      }),
    ]);
    expect(loki.volumeMounts).toContainEqual({ name: 'storage', mountPath: '/var/loki' });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.spec.serviceName).toBe('loki-headless');
    expect(find(objs, 'Service', 'loki-headless').spec.clusterIP).toBe('None');
    expect(find(objs, 'Service', 'loki').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http-metrics', 3100], ['grpc', 9095]]);
  });

  it('lets the non-root Loki write its volume and gates readiness on /ready', () => {
    expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    expect(loki.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(loki.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 'http-metrics' } });
    expect(loki.livenessProbe).toMatchObject({ httpGet: { port: 'http-metrics' } });
    expect(loki.resources).toEqual({
      requests: env.logging.loki.resources.requests,
      limits: env.logging.loki.resources.limits,
    });
  });

  it('mounts exactly lokiConfig(env) and rolls the pod when it changes', () => {
    const mounted = configFile(objs, 'loki', 'loki.yaml') as any;
    expect(mounted).toEqual(lokiConfig(env));
    expect(mounted.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
    expect(mounted.limits_config.retention_period).toBe(env.logging.loki.retentionPeriod);
    expect(loki.args).toContain('-config.file=/etc/loki/config/loki.yaml');
    expect(sts.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('runs the Promtail DaemonSet reading /var/log/pods on every node, with pod-only RBAC', () => {
    const ds = find(objs, 'DaemonSet', 'promtail');
    const agent = container(ds, 'promtail');
    expect(agent.image).toBe(env.images.promtail);
    expect(agent.args).toEqual(['-config.file=/etc/promtail/promtail.yaml', '-config.expand-env=true']);
    expect(agent.env).toContainEqual({ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(agent.volumeMounts).toContainEqual({ name: 'pods', mountPath: '/var/log/pods', readOnly: true });
    expect(agent.volumeMounts).toContainEqual({ name: 'state', mountPath: '/run/promtail' });
    expect(ds.spec.template.spec.volumes).toContainEqual({ name: 'pods', hostPath: { path: '/var/log/pods', type: 'Directory' } });
    expect(ds.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(agent.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 'http-metrics' } });
    expect(agent.securityContext).toMatchObject({ runAsUser: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(find(objs, 'ClusterRole', 'logging-promtail').rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    expect(find(objs, 'ClusterRoleBinding', 'logging-promtail').subjects).toEqual([{ kind: 'ServiceAccount', name: 'promtail', namespace: 'logging' }]);
    expect(configFile(objs, 'promtail', 'promtail.yaml')).toEqual(promtailConfig(env));
    expect(objs.filter((o) => o.metadata.name === 'alloy')).toEqual([]);
  });

  it('labels Loki and the agent for Prometheus with the shared job names', () => {
    expect(sts.spec.template.metadata.labels['bitpin.io/scrape-job']).toBe(SEED.monitoring.jobs.loki);
    expect(find(objs, 'DaemonSet', 'promtail').spec.template.metadata.labels['bitpin.io/scrape-job']).toBe(SEED.monitoring.jobs.logAgent);
    expect(sts.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '3100' });
    expect(loggingScrapeTargets().map((t) => t.job)).toEqual(['loki', 'log-agent']);
  });

  it('exposes the logging Grafana as Service grafana, NodePort 30030 on port 80, with the Loki data source', () => {
    const svc = find(objs, 'Service', 'grafana');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', nodePort: 30030, protocol: 'TCP' }]);
    const deploy = find(objs, 'Deployment', 'grafana');
    expect(svc.spec.selector).toEqual(deploy.spec.selector.matchLabels);
    const grafana = container(deploy, 'grafana');
    expect(grafana.image).toBe(env.images.grafana);
    expect(grafana.volumeMounts).toContainEqual({ name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources', readOnly: true });
    const file = configFile(objs, 'grafana-datasources', 'datasources.yaml') as any;
    expect(file.apiVersion).toBe(1);
    expect(file.datasources).toEqual([
      expect.objectContaining({ uid: 'loki', name: 'Loki', type: 'loki', access: 'proxy', url: 'http://loki.logging.svc:3100', isDefault: true }),
    ]);
  });

  it('never lets Grafana start with its built-in admin password, and keeps the password out of the pod env (a mounted Secret file)', () => {
    const deploy = find(objs, 'Deployment', 'grafana');
    const grafana = container(deploy, 'grafana');
    expect(grafana.env).toContainEqual({ name: 'GF_SECURITY_ADMIN_PASSWORD__FILE', value: '/etc/grafana/admin/admin-password' });
    expect(grafana.env.map((v: any) => v.name)).not.toContain('GF_SECURITY_ADMIN_PASSWORD');
    expect(grafana.env.filter((v: any) => v.valueFrom)).toEqual([]);
    expect(grafana.volumeMounts).toContainEqual({ name: 'admin', mountPath: '/etc/grafana/admin', readOnly: true });
    expect(deploy.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ name: 'admin', secret: expect.objectContaining({ secretName: 'grafana-admin' }) }));
    expect(grafana.env).toContainEqual({ name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' });
    expect(grafana.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
  });

  it('declares the admin Secret as generated by the deployer: a recipe, no value in the repo', () => {
    const secret = find(objs, 'Secret', 'grafana-admin');
    expect(secret.metadata.namespace).toBe('logging');
    expect(JSON.parse(secret.metadata.annotations?.['deploy.bitpin.io/generate'] ?? '{}')).toEqual({ 'admin-user': 'literal:admin', 'admin-password': 'random:24' });
    expect(secret.data).toBeUndefined();
  });
});

describe('env switches', () => {
  it('logging.agent: alloy runs the Alloy DaemonSet with the generated config instead of Promtail', () => {
    const objs = synth('dev', { logging: { agent: 'alloy' } });
    expect(objs.filter((o) => o.metadata.name === 'promtail')).toEqual([]);
    const ds = find(objs, 'DaemonSet', 'alloy');
    const agent = container(ds, 'alloy');
    expect(agent.image).toBe(loadEnvConfig('dev').images.alloy);
    expect(agent.args).toEqual(expect.arrayContaining(['run', '/etc/alloy/config.alloy', '--storage.path=/var/lib/alloy']));
    expect(agent.readinessProbe).toMatchObject({ httpGet: { path: '/-/ready', port: 'http-metrics' } });
    expect(agent.volumeMounts).toContainEqual({ name: 'pods', mountPath: '/var/log/pods', readOnly: true });
    expect(find(objs, 'ConfigMap', 'alloy').data!['config.alloy']).toBe(alloyConfig(loadEnvConfig('dev', { overrides: { logging: { agent: 'alloy' } } })));
    expect(find(objs, 'ClusterRoleBinding', 'logging-alloy').subjects).toEqual([{ kind: 'ServiceAccount', name: 'alloy', namespace: 'logging' }]);
  });

  it('logging.grafana.separate: false creates no Grafana here (the monitoring Grafana takes lokiDatasource())', () => {
    const objs = synth('dev', { logging: { grafana: { separate: false } } });
    expect(objs.filter((o) => o.metadata.name.startsWith('grafana'))).toEqual([]);
    expect(lokiDatasource(loadEnvConfig('dev'))).toEqual({
      uid: 'loki',
      name: 'Loki',
      type: 'loki',
      access: 'proxy',
      url: 'http://loki.logging.svc:3100',
      isDefault: false,
      editable: false,
      jsonData: { maxLines: 1000, timeout: 60 },
    });
  });

  it('an env-level storage class and size reach the volume claim', () => {
    const objs = synth('dev', { logging: { loki: { storageClass: 'fast-ssd', storageSize: '7Gi' } } });
    expect(find(objs, 'StatefulSet', 'loki').spec.volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '7Gi' } },
    });
  });

  it('createNamespace: false leaves the namespace to someone else', () => {
    expect(synth('dev', {}, { createNamespace: false }).filter((o) => o.kind === 'Namespace')).toEqual([]);
  });

  it('the constructs stand alone in any PlatformChart with stable ids', () => {
    const chart = new PlatformChart(Testing.app(), 'c', { env: loadEnvConfig('dev') });
    new Loki(chart, 'Loki');
    new LogAgent(chart, 'Agent');
    new LoggingGrafana(chart, 'Grafana');
    const kinds = Testing.synth(chart).map((o: any) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['StatefulSet/loki', 'DaemonSet/promtail', 'Deployment/grafana']));
    expect(chart.node.findChild('Loki').node.defaultChild).toBeDefined();
  });

  it('prod snapshot', () => {
    expect(synth('prod')).toMatchSnapshot();
  });

  it('fails when a Loki limit names a key Loki 3.x removed', () => {
    // GIVEN an env and a limit Loki 3.x refuses to start with
    const env = loadEnvConfig('dev');
    // WHEN / THEN the chart is refused with the key and the reason
    expect(() => new LoggingChart(Testing.app(), 'l', { env, loki: { limits: { enforce_metric_name: false } } })).toThrowError(
      "lokiConfig: 'limits.enforce_metric_name' cannot be set: removed in Loki 3.0",
    );
  });

  it('fails when a Loki limit sets retention under the compactor minimum of 24h', () => {
    const env = loadEnvConfig('dev');
    expect(() => new LoggingChart(Testing.app(), 'l', { env, loki: { limits: { retention_period: '12h' } } })).toThrowError(
      "lokiConfig: 'limits.retention_period' (12h) must be a duration of at least 24h (Loki's compactor minimum)",
    );
  });

  it('fails when terminationGracePeriodSeconds is out of range', () => {
    const env = loadEnvConfig('dev');
    expect(() => new LoggingChart(Testing.app(), 'l', { env, loki: { terminationGracePeriodSeconds: 5 } })).toThrowError(
      "Loki: 'terminationGracePeriodSeconds' (5) must be an integer between 10 and 3600",
    );
  });

  it('fails when the Grafana admin Secret name is not a DNS label', () => {
    const env = loadEnvConfig('dev');
    expect(() => new LoggingChart(Testing.app(), 'l', { env, grafana: { adminSecretName: 'Admin_Secret' } })).toThrowError(
      "LoggingGrafana: 'adminSecretName' (Admin_Secret) must be a DNS label (lowercase letters, digits, '-')",
    );
  });
});
