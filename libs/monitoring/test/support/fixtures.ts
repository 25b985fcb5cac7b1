/**
 * Inputs the deployer would pass (dashboards/ builds the real ones) and the synthesized objects.
 */
import { loadEnvConfig, type EnvConfig } from '@bitpin/config';
import { Testing } from 'cdk8s';
import { parse } from 'yaml';
import { MonitoringChart, type DashboardInput, type MonitoringChartProps, type RuleFileInput } from '../../src/index.js';

export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: any;
};

/**
 * A small rule file in the shape dashboards/ produces: a dead man's switch, an alert per severity
 * on the platform's own jobs, and a recording rule. Every selector uses a real job name.
 */
export const SAMPLE_RULES: RuleFileInput = {
  fileName: 'bitpin-sample.rules.yaml',
  yaml: `groups:
  - name: bitpin-sample.watchdog
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels:
          severity: none
        annotations:
          summary: Always firing; routed to the dead man's switch.
  - name: bitpin-sample.targets
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: BitpinTargetDown
        expr: up{job=~"bitpin-app|cnpg|node-exporter|kube-state-metrics"} == 0
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: '{{ $labels.job }} target {{ $labels.instance }} is down'
      - alert: KubeletDown
        expr: absent(up{job="kubelet", metrics_path="/metrics"} == 1)
        for: 15m
        labels:
          severity: critical
        annotations:
          summary: Prometheus has no kubelet target up.
`,
};

export const SAMPLE_DASHBOARD: DashboardInput = {
  uid: 'bitpin-app',
  title: 'Bitpin / App',
  fileName: 'bitpin-app.json',
  json: {
    uid: 'bitpin-app',
    title: 'Bitpin / App',
    schemaVersion: 42,
    panels: [
      {
        type: 'timeseries',
        title: 'Requests',
        datasource: { type: 'prometheus', uid: 'prometheus' },
        targets: [{ refId: 'A', expr: 'sum(rate(http_server_requests_total[$__rate_interval]))' }],
      },
    ],
  },
};

export function env(name: string, overrides: Record<string, unknown> = {}): EnvConfig {
  return loadEnvConfig(name, { overrides });
}

export function chart(e: EnvConfig, props: Omit<MonitoringChartProps, 'env'> = {}): MonitoringChart {
  return new MonitoringChart(Testing.app(), 'monitoring', { env: e, ...props });
}

export function synth(e: EnvConfig, props: Omit<MonitoringChartProps, 'env'> = {}): Obj[] {
  return Testing.synth(chart(e, props)) as Obj[];
}

export function find(objs: readonly Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not synthesized`);
  return o;
}

export function configMapYaml<T = any>(objs: readonly Obj[], name: string, key: string): T {
  const text = find(objs, 'ConfigMap', name).data?.[key];
  if (text === undefined) throw new Error(`ConfigMap ${name} has no key ${key}`);
  return parse(text) as T;
}

/** Every container of a pod template, init containers included. */
export function containers(workload: Obj): any[] {
  const pod = workload.spec.template.spec;
  return [...(pod.initContainers ?? []), ...pod.containers];
}

export const WORKLOADS: readonly [kind: string, name: string][] = [
  ['StatefulSet', 'prometheus'],
  ['StatefulSet', 'alertmanager'],
  ['Deployment', 'grafana'],
  ['DaemonSet', 'node-exporter'],
  ['Deployment', 'kube-state-metrics'],
];
