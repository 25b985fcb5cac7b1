import { ENV_NAMES, SEED } from '@bitpin/config';
import { GENERATE_ANNOTATION, PlatformChart } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  ALERTMANAGER_RECEIVERS,
  Alertmanager,
  CONFIG_CHECKSUM_ANNOTATION,
  KubeStateMetrics,
  NodeExporter,
  Prometheus,
  Grafana,
  alertmanagerAssembleScript,
  placeholderReceivers,
} from '../src/index.js';
import { SAMPLE_DASHBOARD, SAMPLE_RULES, chart, configMapYaml, containers, env, find, synth, WORKLOADS, type Obj } from './support/fixtures.js';

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
const jobOf = (sc: any): string => sc.relabel_configs?.find((r: any) => r.target_label === 'job')?.replacement ?? sc.job_name;

describe.each(ENV_NAMES)('monitoring in env %s keeps every seed fact', (envName) => {
  const e = env(envName);
  const objs = synth(e, { ruleFiles: [SAMPLE_RULES], dashboards: [SAMPLE_DASHBOARD] });
  const prom = configMapYaml(objs, 'prometheus-config', 'prometheus.yml');

  it('creates namespace monitoring, privileged for node-exporter with the reason written down, and puts everything in it', () => {
    const ns = find(objs, 'Namespace', 'monitoring');
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    expect(ns.metadata.annotations?.['bitpin.io/pod-security-reason']).toMatch(/node-exporter.*hostNetwork, hostPID.*hostPath/);
    for (const o of objs) {
      if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('monitoring');
    }
  });

  it('scrapes every 15s and keeps data by the env retention time and size on its own volume', () => {
    expect(prom.global).toMatchObject({ scrape_interval: '15s', evaluation_interval: e.monitoring.prometheus.evaluationInterval });
    const sts = find(objs, 'StatefulSet', 'prometheus');
    const args: string[] = sts.spec.template.spec.containers[0].args;
    expect(args).toContain(`--storage.tsdb.retention.time=${e.monitoring.prometheus.retentionTime}`);
    expect(args).toContain(`--storage.tsdb.retention.size=${e.monitoring.prometheus.retentionSize}`);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(e.monitoring.prometheus.storageSize);
  });

  it('scrapes the API server, nodes (kubelet, cAdvisor, node-exporter), the app, the database and the stack under the mixin job names', () => {
    const jobs = new Set(prom.scrape_configs.map(jobOf));
    // Jobs of components the env may leave off: the Redis cache (libs/cache, cache.enabled), the
    // poolers' PgBouncer (database.pooler.enabled).
    const off = new Set<string>([
      ...(e.cache.enabled ? [] : [SEED.monitoring.jobs.cache]),
      ...(e.database.pooler.enabled ? [] : [SEED.monitoring.jobs.pooler]),
      ...(e.backup.walReceiver.enabled ? [] : [SEED.monitoring.jobs.walReceiver]),
      // One log store per env (logging.backend): Loki's job, or VictoriaLogs'.
      e.logging.backend === 'victorialogs' ? SEED.monitoring.jobs.loki : SEED.monitoring.jobs.victorialogs,
    ]);
    expect([...jobs].sort()).toEqual([...new Set(Object.values(SEED.monitoring.jobs))].filter((j) => !off.has(j)).sort());
    const byName = Object.fromEntries(prom.scrape_configs.map((sc: any) => [sc.job_name, sc]));
    // cAdvisor is job="kubelet" told apart by metrics_path, as kubernetes-mixin selects it.
    expect(byName['kubelet'].metrics_path).toBe('/metrics');
    expect(byName['kubelet-cadvisor'].metrics_path).toBe('/metrics/cadvisor');
    expect(jobOf(byName['kubelet-cadvisor'])).toBe('kubelet');
    expect(byName['kubelet-cadvisor'].relabel_configs).toContainEqual({ source_labels: ['__metrics_path__'], target_label: 'metrics_path' });
    expect(byName['apiserver'].kubernetes_sd_configs).toEqual([{ role: 'endpointslice', namespaces: { names: ['default'] } }]);
    // The app's metrics sidecar: pod app=bitpin-app in bitpin-task, port named `metrics` (9102).
    expect(byName['bitpin-app']).toMatchObject({
      metrics_path: '/metrics',
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['bitpin-task'] } }],
    });
    expect(byName['bitpin-app'].relabel_configs).toEqual(
      expect.arrayContaining([
        { source_labels: ['__meta_kubernetes_pod_label_app'], regex: 'bitpin-app', action: 'keep' },
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
      ]),
    );
    // The Redis cache's exporter (libs/cache): pods app.kubernetes.io/name=bitpin-redis in bitpin-task, port `metrics` (9121).
    if (e.cache.enabled) {
      expect(byName['redis'].kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['bitpin-task'] } }]);
      expect(byName['redis'].relabel_configs).toEqual(
        expect.arrayContaining([
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'bitpin-redis', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
        ]),
      );
    } else {
      expect(byName['redis']).toBeUndefined();
    }
    // libs/backup's WAL receiver: pods app.kubernetes.io/name=bitpin-backup, instance bitpin-wal-receiver, port `metrics` (9188).
    if (e.backup.walReceiver.enabled) {
      expect(byName['bitpin-wal-receiver'].relabel_configs).toEqual(
        expect.arrayContaining([
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'bitpin-backup', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'], regex: 'bitpin-wal-receiver', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
        ]),
      );
    }
    // CloudNativePG instances: pods labelled cnpg.io/cluster=bitpin-cluster, cnpg.io/podRole=instance, port `metrics` (9187).
    expect(byName['cnpg'].relabel_configs).toEqual(
      expect.arrayContaining([
        { source_labels: ['__meta_kubernetes_pod_label_cnpg_io_cluster'], regex: 'bitpin-cluster', action: 'keep' },
        { source_labels: ['__meta_kubernetes_pod_label_cnpg_io_podRole'], regex: 'instance', action: 'keep' },
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
      ]),
    );
    // The Poolers' PgBouncer pods (cnpg.io/podRole=pooler, port `metrics`, 9127), where pooling is on.
    if (e.database.pooler.enabled) {
      expect(byName['pgbouncer'].relabel_configs).toEqual(
        expect.arrayContaining([
          { source_labels: ['__meta_kubernetes_pod_label_cnpg_io_cluster'], regex: 'bitpin-cluster', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_label_cnpg_io_podRole'], regex: 'pooler', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
        ]),
      );
    } else {
      expect(byName['pgbouncer']).toBeUndefined();
    }
    expect(byName['loki'].relabel_configs).toContainEqual({
      source_labels: ['__meta_kubernetes_pod_container_port_number'],
      regex: '3100',
      action: 'keep',
    });
    // kube-state-metrics series describe other objects: their namespace/pod labels must win.
    expect(byName['kube-state-metrics'].honor_labels).toBe(true);
    expect(prom.rule_files).toEqual(['/etc/prometheus/rules/*.yaml', '/etc/prometheus/rules/*.yml']);
  });

  it('serves Grafana on port 3000 with Prometheus and Loki (and Alertmanager) under their fixed uids', () => {
    const deploy = find(objs, 'Deployment', 'grafana');
    const grafana = deploy.spec.template.spec.containers[0];
    expect(grafana.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(grafana.env).toContainEqual({ name: 'GF_SERVER_HTTP_PORT', value: '3000' });
    expect(find(objs, 'Service', 'grafana').spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }]);
    const ds = configMapYaml(objs, 'grafana-datasources', 'datasources.yaml');
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources.map((d: any) => [d.name, d.type, d.uid, d.url])).toEqual([
      ['Prometheus', 'prometheus', 'prometheus', 'http://prometheus.monitoring.svc.cluster.local:9090'],
      ['Loki', 'loki', 'loki', 'http://loki.logging.svc.cluster.local:3100'],
      ['Alertmanager', 'alertmanager', 'alertmanager', 'http://alertmanager.monitoring.svc.cluster.local:9093'],
    ]);
    expect(ds.datasources[0]).toMatchObject({ isDefault: true, jsonData: { timeInterval: '15s' } });
  });

  it('runs node-exporter as a DaemonSet on port 9100 of every node: host network and PID, read-only host mounts, every taint tolerated', () => {
    const ds = find(objs, 'DaemonSet', 'node-exporter');
    const pod = ds.spec.template.spec;
    expect(pod).toMatchObject({ hostNetwork: true, hostPID: true, tolerations: [{ operator: 'Exists' }] });
    const c = pod.containers[0];
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9100, hostPort: 9100, protocol: 'TCP' }]);
    expect(c.args).toContain('--web.listen-address=:9100');
    expect(c.volumeMounts.every((m: any) => m.readOnly === true)).toBe(true);
    expect(pod.volumes.map((v: any) => v.hostPath.path).sort()).toEqual(['/', '/proc', '/sys']);
  });

  it('runs kube-state-metrics with a list/watch-only ClusterRole that cannot read Secrets or ConfigMaps', () => {
    find(objs, 'Deployment', 'kube-state-metrics');
    const role = find(objs, 'ClusterRole', 'monitoring-kube-state-metrics');
    for (const r of role.rules) expect(r.verbs).toEqual(['list', 'watch']);
    const resources = role.rules.flatMap((r: any) => r.resources);
    expect(resources).toEqual(expect.arrayContaining(['pods', 'nodes', 'deployments', 'statefulsets', 'cronjobs', 'persistentvolumeclaims']));
    expect(resources).not.toContain('secrets');
    expect(resources).not.toContain('configmaps');
    expect(find(objs, 'ClusterRoleBinding', 'monitoring-kube-state-metrics').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'kube-state-metrics', namespace: 'monitoring' },
    ]);
  });

  it('gives Prometheus a read-only ClusterRole for discovery and the API server and kubelet metrics', () => {
    const role = find(objs, 'ClusterRole', 'monitoring-prometheus');
    const verbs = new Set(role.rules.flatMap((r: any) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    expect(role.rules.flatMap((r: any) => r.resources ?? [])).toEqual(
      expect.arrayContaining(['nodes', 'nodes/metrics', 'pods', 'services', 'endpointslices']),
    );
    expect(role.rules.flatMap((r: any) => r.resources ?? [])).not.toContain('secrets');
  });

  it('pins every image from the env catalog and gives every container requests, a memory limit and a restricted security context', () => {
    const catalog = new Set(Object.values(e.images));
    for (const [kind, name] of WORKLOADS) {
      for (const c of containers(find(objs, kind, name))) {
        const at = `${kind}/${name} ${c.name}`;
        expect(catalog.has(c.image), at).toBe(true);
        expect(c.resources.requests.cpu, at).toBeDefined();
        expect(c.resources.requests.memory, at).toBeDefined();
        expect(c.resources.limits.memory, at).toBeDefined();
        expect(c.securityContext, at).toMatchObject({
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
      }
      const main = find(objs, kind, name).spec.template.spec.containers[0];
      expect(main.readinessProbe ?? main.livenessProbe, `${kind}/${name}`).toBeDefined();
    }
    expect(containers(find(objs, 'StatefulSet', 'prometheus')).map((c) => c.image)).toEqual([e.images.prometheus, e.images.configReloader]);
  });

  it('keeps receivers and Grafana credentials out of the repo: Secrets are recipes for the deployer, with no values', () => {
    const secrets = objs.filter((o) => o.kind === 'Secret');
    for (const s of secrets) {
      expect(s.data, s.metadata.name).toBeUndefined();
      expect(s.stringData, s.metadata.name).toBeUndefined();
    }
    const recipe = (name: string) => JSON.parse(find(objs, 'Secret', name).metadata.annotations![GENERATE_ANNOTATION]!);
    expect(recipe('grafana-admin')).toEqual({ 'admin-user': 'literal:admin', 'admin-password': 'random:24' });
    // Placeholder receivers (send nowhere) only where nobody is paged from; elsewhere the operator's Secret.
    if (e.monitoring.alertmanager.placeholderReceivers) {
      expect(recipe('alertmanager-receivers')).toEqual({ 'receivers.yaml': `literal:${placeholderReceivers()}` });
    } else {
      expect(secrets.map((x) => x.metadata.name)).toEqual(['grafana-admin']);
    }
    const am = find(objs, 'StatefulSet', 'alertmanager').spec.template.spec;
    expect(am.volumes).toContainEqual({ name: 'receivers', secret: { secretName: 'alertmanager-receivers', defaultMode: 0o440 } });
    const routing = configMapYaml(objs, 'alertmanager-routing', 'routing.yml');
    expect(routing.receivers).toBeUndefined();
    const grafana = find(objs, 'Deployment', 'grafana').spec.template.spec;
    expect(grafana.volumes).toContainEqual({
      name: 'admin',
      secret: {
        secretName: 'grafana-admin',
        defaultMode: 0o440,
        items: [
          { key: 'admin-user', path: 'admin-user' },
          { key: 'admin-password', path: 'admin-password' },
        ],
      },
    });
    const envNames = grafana.containers[0].env.map((v: any) => v.name);
    expect(envNames).toEqual(expect.arrayContaining(['GF_SECURITY_ADMIN_USER__FILE', 'GF_SECURITY_ADMIN_PASSWORD__FILE']));
    expect(envNames).not.toContain('GF_SECURITY_ADMIN_PASSWORD');
  });

  it('routes by severity with a Watchdog route and inhibition, to the receivers the Secret must define', () => {
    const routing = configMapYaml(objs, 'alertmanager-routing', 'routing.yml');
    const routes = routing.route.routes;
    expect(routes[0]).toMatchObject({ matchers: ['alertname="Watchdog"'], receiver: 'watchdog' });
    expect(routes.map((r: any) => r.receiver)).toEqual(expect.arrayContaining(['critical', 'warning']));
    expect(routing.inhibit_rules[0]).toMatchObject({
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity=~"warning|info"'],
    });
    expect(routing.inhibit_rules[0].equal).toEqual(expect.arrayContaining(['alertname', 'namespace', 'instance']));
  });
});

describe('env-dependent shape', () => {
  it('dev: one Alertmanager without a gossip listener and no PodDisruptionBudget', () => {
    const objs = synth(env('dev'));
    const sts = find(objs, 'StatefulSet', 'alertmanager');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.template.spec.containers[0].args).toContain('--cluster.listen-address=');
    expect(objs.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  it('prod: two gossiping Alertmanagers, each peering with both by stable DNS name, behind a PodDisruptionBudget', () => {
    const objs = synth(env('prod'));
    const sts = find(objs, 'StatefulSet', 'alertmanager');
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.serviceName).toBe('alertmanager-cluster');
    expect(sts.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining([
        '--cluster.listen-address=0.0.0.0:9094',
        '--cluster.peer=alertmanager-0.alertmanager-cluster.monitoring.svc:9094',
        '--cluster.peer=alertmanager-1.alertmanager-cluster.monitoring.svc:9094',
      ]),
    );
    expect(find(objs, 'Service', 'alertmanager-cluster').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(find(objs, 'PodDisruptionBudget', 'alertmanager').spec).toMatchObject({ maxUnavailable: 1 });
    expect(find(objs, 'StatefulSet', 'prometheus').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('50Gi');
  });

  it('mounts the rule files from one ConfigMap and each dashboard from its own, with the uid in the JSON', () => {
    const dash = { ...SAMPLE_DASHBOARD, uid: 'Bitpin_DB', fileName: 'db.json', json: { title: 'DB', id: 7 } };
    const objs = synth(env('dev'), { ruleFiles: [SAMPLE_RULES], dashboards: [SAMPLE_DASHBOARD, dash] });
    expect(Object.keys(find(objs, 'ConfigMap', 'prometheus-rules').data ?? {})).toEqual(['bitpin-sample.rules.yaml']);
    const cm = find(objs, 'ConfigMap', 'grafana-dashboard-bitpin-db');
    expect(JSON.parse(cm.data!['db.json']!)).toEqual({ title: 'DB', uid: 'Bitpin_DB' });
    const volumes = find(objs, 'Deployment', 'grafana').spec.template.spec.volumes;
    expect(volumes.find((v: any) => v.name === 'dashboards').projected.sources).toEqual([
      { configMap: { name: 'grafana-dashboard-bitpin-app' } },
      { configMap: { name: 'grafana-dashboard-bitpin-db' } },
    ]);
    const providers = configMapYaml(objs, 'grafana-dashboard-providers', 'providers.yaml');
    expect(providers.providers[0]).toMatchObject({ folder: 'Bitpin', type: 'file', options: { path: '/etc/grafana/dashboards' } });
  });

  it('without dashboards or rules Grafana and Prometheus still start (empty dashboards dir, empty rules ConfigMap)', () => {
    const objs = synth(env('dev'));
    expect(find(objs, 'ConfigMap', 'prometheus-rules').data).toEqual({});
    const volumes = find(objs, 'Deployment', 'grafana').spec.template.spec.volumes;
    expect(volumes.find((v: any) => v.name === 'dashboards').emptyDir).toBeDefined();
  });

  it('rolls Grafana when its data sources change, but not when only a dashboard changes', () => {
    const sum = (objs: Obj[]) => find(objs, 'Deployment', 'grafana').spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    const base = sum(synth(env('dev'), { dashboards: [SAMPLE_DASHBOARD] }));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(sum(synth(env('dev'), { dashboards: [{ ...SAMPLE_DASHBOARD, title: 'changed' }] }))).toBe(base);
    expect(sum(synth(env('dev', { monitoring: { prometheus: { scrapeInterval: '30s' } } })))).not.toBe(base);
  });

  it('reloads Prometheus in place: a config-reloader sidecar watches both ConfigMap mounts and POSTs /-/reload', () => {
    const pod = find(synth(env('dev')), 'StatefulSet', 'prometheus').spec.template.spec;
    expect(pod.containers[0].args).toContain('--web.enable-lifecycle');
    expect(pod.containers[1].args).toEqual([
      '--volume-dir=/etc/prometheus/config',
      '--volume-dir=/etc/prometheus/rules',
      '--webhook-url=http://127.0.0.1:9090/-/reload',
      '--web.listen-address=:9533',
    ]);
  });

  it('assembles Alertmanager\'s config in an init container and re-assembles it in a watcher sidecar, both from the ConfigMap script', () => {
    const pod = find(synth(env('dev')), 'StatefulSet', 'alertmanager').spec.template.spec;
    expect(pod.initContainers.map((c: any) => [c.name, c.command])).toEqual([
      ['assemble-config', ['/bin/sh', '/etc/alertmanager/routing/assemble.sh', 'init']],
    ]);
    expect(pod.containers.map((c: any) => [c.name, c.command])).toEqual([
      ['alertmanager', undefined],
      ['config-watcher', ['/bin/sh', '/etc/alertmanager/routing/assemble.sh', 'watch']],
    ]);
    expect(pod.containers[0].args).toContain('--config.file=/etc/alertmanager/config/alertmanager.yml');
  });

  it('scrapes the logging Grafana too only when the env runs one', () => {
    const grafanaJob = (objs: Obj[]) =>
      configMapYaml(objs, 'prometheus-config', 'prometheus.yml').scrape_configs.find((s: any) => s.job_name === 'grafana');
    expect(grafanaJob(synth(env('dev'))).kubernetes_sd_configs[0].namespaces.names).toEqual(['monitoring', 'logging']);
    expect(
      grafanaJob(synth(env('dev', { logging: { grafana: { separate: false } } }))).kubernetes_sd_configs[0].namespaces.names,
    ).toEqual(['monitoring']);
  });

  it('staging/prod: deny in and out by default, allow DNS, then exactly who talks to whom (flow matrix: apps/deployer/test/network.test.ts)', () => {
    expect(synth(env('dev')).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    const objs = synth(env('prod'));
    const np = (name: string) => find(objs, 'NetworkPolicy', name).spec;
    expect(objs.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual([
      'default-deny',
      'allow-dns',
      'prometheus',
      'alertmanager',
      'grafana',
      'kube-state-metrics',
    ]);
    expect(np('default-deny')).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(np('allow-dns').egress[0].ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
    const from = (spec: any, i = 0) => spec.ingress[i].from.map((p: any) => p.podSelector.matchLabels['app.kubernetes.io/name']);
    expect(from(np('prometheus'))).toEqual(['grafana', 'prometheus']);
    expect(np('prometheus').ingress[0].ports).toEqual([{ protocol: 'TCP', port: 9090 }]);
    expect(from(np('alertmanager'))).toEqual(['prometheus', 'grafana']);
    expect(np('alertmanager').ingress[1].ports).toContainEqual({ protocol: 'UDP', port: 9094 });
    expect(np('grafana').ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 3000 }] }]);
    expect(from(np('kube-state-metrics'))).toEqual(['prometheus']);
    // Egress: Prometheus reaches the API server (prod's control-plane subnet) and the nodes (prod's
    // node subnet) on their ports only; the receivers are anywhere but the pod, service and node ranges.
    expect(np('prometheus').egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] });
    expect(np('prometheus').egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [{ protocol: 'TCP', port: 10250 }, { protocol: 'TCP', port: 9100 }] });
    expect(np('alertmanager').egress).toContainEqual({
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/16', '10.96.0.0/12', '10.244.0.0/16'] } }],
      ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 587 }],
    });
    expect(JSON.stringify(objs.filter((o) => o.kind === 'NetworkPolicy'))).not.toMatch(/"cidr":"0\.0\.0\.0\/0"}/);
    // A wide API server block (an env that says why) still never covers a pod or a ClusterIP.
    const wide = synth(env('prod', { features: { networkPolicies: { apiServer: { cidrs: ['0.0.0.0/0'] }, allowWide: { apiServer: 'the managed endpoint rotates its addresses' } } } }));
    expect(find(wide, 'NetworkPolicy', 'kube-state-metrics').spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.96.0.0/12', '10.244.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] },
    ]);
    expect(np('kube-state-metrics').egress).toHaveLength(1);
    // Every pod of the namespace but node-exporter (host network: policies do not apply) is selected.
    for (const name of ['prometheus', 'alertmanager', 'grafana', 'kube-state-metrics']) {
      expect(np(name).podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name });
      expect(np(name).policyTypes).toEqual(['Ingress', 'Egress']);
    }
  });

  it('placeholder receivers in local and dev only; the Grafana admin recipe can be left to an operator', () => {
    const names = (objs: Obj[]) => objs.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
    expect(names(synth(env('local')))).toEqual(['alertmanager-receivers', 'grafana-admin']);
    expect(names(synth(env('dev')))).toEqual(['alertmanager-receivers', 'grafana-admin']);
    expect(names(synth(env('staging')))).toEqual(['grafana-admin']);
    expect(names(synth(env('prod'), { grafana: { generateAdminSecret: false } }))).toEqual([]);
  });

  it('can leave the namespace to someone else', () => {
    expect(synth(env('dev'), { createNamespace: false }).filter((o) => o.kind === 'Namespace')).toEqual([]);
  });

  it('matches the prod snapshot', () => {
    expect(synth(env('prod'), { ruleFiles: [SAMPLE_RULES], dashboards: [SAMPLE_DASHBOARD] })).toMatchSnapshot();
  });
});

describe('validation', () => {
  const dev = () => new PlatformChart(Testing.app(), 'c', { env: env('dev') });

  it('fails on a rule file name Prometheus would not load', () => {
    expect(() => chart(env('dev'), { ruleFiles: [{ ...SAMPLE_RULES, fileName: 'rules.json' }] })).toThrowError(
      `Prometheus: 'ruleFiles[0].fileName' ("rules.json") must be letters, digits, '.', '_' or '-' ending in .yaml or .yml`,
    );
  });

  it('fails on two rule files with the same name', () => {
    expect(() => chart(env('dev'), { ruleFiles: [SAMPLE_RULES, SAMPLE_RULES] })).toThrowError(
      /'ruleFiles\[1\]\.fileName' \("bitpin-sample\.rules\.yaml"\) is used by an earlier rule file/,
    );
  });

  it('fails on a rule file without groups', () => {
    expect(() => chart(env('dev'), { ruleFiles: [{ fileName: 'x.yaml', yaml: 'rules: []\n' }] })).toThrowError(
      /'ruleFiles\[0\]\.yaml' \(x\.yaml\) is not a Prometheus rule file: it has no top-level 'groups:' key/,
    );
  });

  it('fails on rule files too big for one ConfigMap', () => {
    const big = { fileName: 'big.yaml', yaml: `groups: []\n#${'x'.repeat(1_000_001)}\n` };
    expect(() => new Prometheus(dev(), 'p', { ruleFiles: [big] })).toThrowError(/'ruleFiles' total \d+ bytes, more than the 1000000 a ConfigMap can carry/);
  });

  it('fails on a dashboard uid Grafana would refuse', () => {
    expect(() => new Grafana(dev(), 'g', { dashboards: [{ ...SAMPLE_DASHBOARD, uid: 'has space' }] })).toThrowError(
      `Grafana: 'dashboards[0].uid' ("has space") must be 1-40 letters, digits, '-' or '_' (Grafana's uid rule)`,
    );
  });

  it('fails on duplicate dashboard uids and on a JSON uid that disagrees', () => {
    expect(() => new Grafana(dev(), 'g', { dashboards: [SAMPLE_DASHBOARD, { ...SAMPLE_DASHBOARD, fileName: 'b.json' }] })).toThrowError(
      /'dashboards\[1\]\.uid' \("bitpin-app"\) is used by an earlier dashboard/,
    );
    expect(() => new Grafana(dev(), 'g', { dashboards: [{ ...SAMPLE_DASHBOARD, json: { uid: 'other' } }] })).toThrowError(
      `Grafana: 'dashboards[0].json.uid' ("other") differs from 'dashboards[0].uid' ("bitpin-app"); they must be equal`,
    );
  });

  it('fails on uids that differ only in case or "_" (their ConfigMap names would clash)', () => {
    const a = { ...SAMPLE_DASHBOARD, uid: 'my_dash', fileName: 'a.json', json: {} };
    const b = { ...SAMPLE_DASHBOARD, uid: 'My-Dash', fileName: 'b.json', json: {} };
    expect(() => new Grafana(dev(), 'g', { dashboards: [a, b] })).toThrowError(/both map to ConfigMap grafana-dashboard-my-dash/);
  });

  it('fails on a Kubernetes-style dashboard envelope', () => {
    const envelope = { ...SAMPLE_DASHBOARD, json: { apiVersion: 'dashboard.grafana.app/v1beta1', kind: 'Dashboard', spec: {} } };
    expect(() => new Grafana(dev(), 'g', { dashboards: [envelope] })).toThrowError(/is a Kubernetes-style envelope \(kind "Dashboard"\)/);
  });

  it('fails on an invalid node-exporter mount-point regex and a bad kube-state-metrics label key', () => {
    expect(() => new NodeExporter(dev(), 'n', { mountPointsExclude: '(' })).toThrowError(
      `NodeExporter: 'mountPointsExclude' ("(") must be a valid regular expression`,
    );
    expect(() => new KubeStateMetrics(dev(), 'k', { podLabels: ['bad key'] })).toThrowError(
      `KubeStateMetrics: 'podLabels' entry "bad key" is not a Kubernetes label key`,
    );
  });

  it('fails on a config-watcher interval out of range', () => {
    expect(() => new Alertmanager(dev(), 'a', { reloadIntervalSeconds: 0 })).toThrowError(
      `alertmanagerAssembleScript: 'intervalSeconds' (0) must be an integer between 1 and 600`,
    );
    expect(alertmanagerAssembleScript(env('dev'))).toContain(`defines ${Object.values(ALERTMANAGER_RECEIVERS).join(', ')}`);
  });
});
