import { SEED } from '@bitpin/config';
import { PlatformChart, PlatformNamespace, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { Alertmanager, type AlertmanagerProps } from './alertmanager.js';
import { Grafana, type GrafanaProps } from './grafana.js';
import type { DashboardInput, RuleFileInput } from './inputs.js';
import { KubeStateMetrics, type KubeStateMetricsProps } from './kube-state-metrics.js';
import { MonitoringNetworkPolicies } from './network-policies.js';
import { NodeExporter, type NodeExporterProps } from './node-exporter.js';
import { Prometheus } from './prometheus.js';

export interface MonitoringChartProps extends PlatformChartProps {
  /**
   * Grafana dashboards, e.g. `buildDashboards(env)` from dashboards/ (the deployer passes them).
   * @default - none: Grafana has its data sources only
   */
  readonly dashboards?: readonly DashboardInput[];
  /**
   * Prometheus rule files, e.g. `buildRuleFiles(env)` from dashboards/ (the deployer passes them).
   * @default - none: Prometheus runs without rules
   */
  readonly ruleFiles?: readonly RuleFileInput[];
  /**
   * Create the `monitoring` Namespace. Disable when the namespace is managed elsewhere.
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Skip verification of the kubelets' self-signed serving certificates when scraping them.
   * @default true
   */
  readonly kubeletInsecureSkipVerify?: boolean;
  /** @default - see {@link GrafanaProps} (the `dashboards` prop above wins over `grafana.dashboards`) */
  readonly grafana?: Omit<GrafanaProps, 'dashboards'>;
  /** @default - see {@link AlertmanagerProps} */
  readonly alertmanager?: AlertmanagerProps;
  /** @default - see {@link NodeExporterProps} */
  readonly nodeExporter?: NodeExporterProps;
  /** @default - see {@link KubeStateMetricsProps} */
  readonly kubeStateMetrics?: KubeStateMetricsProps;
}

/** Why the monitoring namespace cannot enforce `restricted` (or even `baseline`). */
export const MONITORING_POD_SECURITY_REASON =
  'node-exporter reads the host: hostNetwork, hostPID and read-only hostPath mounts of /, /proc and /sys ' +
  '(it runs as nobody with every capability dropped); audit and warn stay at restricted';

/**
 * The monitoring stack of the seed, in namespace `monitoring`: Prometheus (15s scrape, retention
 * per env), Alertmanager, Grafana on :3000 with the Prometheus and Loki data sources,
 * node-exporter on :9100 on every node, and kube-state-metrics; ingress NetworkPolicies when the
 * env turns `features.networkPolicies` on. One chart = one synthesized file
 * (`monitoring.yaml`).
 */
export class MonitoringChart extends PlatformChart {
  /** The namespace every namespaced object is in (`monitoring`). */
  readonly namespaceName: string = SEED.namespaces.monitoring;
  readonly prometheus: Prometheus;
  readonly alertmanager: Alertmanager;
  readonly grafana: Grafana;
  readonly nodeExporter: NodeExporter;
  readonly kubeStateMetrics: KubeStateMetrics;
  /** Present when the env turns `features.networkPolicies` on. */
  readonly networkPolicies?: MonitoringNetworkPolicies;

  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, props);
    if (props.createNamespace ?? true) {
      new PlatformNamespace(this, 'Namespace', {
        name: this.namespaceName,
        podSecurity: 'privileged',
        podSecurityReason: MONITORING_POD_SECURITY_REASON,
      });
    }
    this.prometheus = new Prometheus(this, 'Prometheus', {
      ruleFiles: props.ruleFiles,
      kubeletInsecureSkipVerify: props.kubeletInsecureSkipVerify,
    });
    this.alertmanager = new Alertmanager(this, 'Alertmanager', props.alertmanager);
    this.grafana = new Grafana(this, 'Grafana', { ...props.grafana, dashboards: props.dashboards });
    this.nodeExporter = new NodeExporter(this, 'NodeExporter', props.nodeExporter);
    this.kubeStateMetrics = new KubeStateMetrics(this, 'KubeStateMetrics', props.kubeStateMetrics);
    if (props.env.features.networkPolicies.enabled) {
      this.networkPolicies = new MonitoringNetworkPolicies(this, 'NetworkPolicies');
    }
  }
}
