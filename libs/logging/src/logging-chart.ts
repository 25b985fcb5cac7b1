import { SEED, type EnvConfig } from '@bitpin/config';
import {
  PlatformChart,
  PlatformNamespace,
  PodNetworkPolicy,
  apiServerEgress,
  namespacePeer,
  podsPeer,
  prometheusPeer,
  selectorLabels,
  tcpPorts,
  type PlatformChartProps,
} from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { LogAgent, type LogAgentProps } from './log-agent.js';
import { LoggingGrafana, type LoggingGrafanaProps } from './logging-grafana.js';
import { Loki, SCRAPE_JOB_LABEL, type LokiProps } from './loki.js';
import { VictoriaLogs, type VictoriaLogsProps } from './victorialogs.js';

export interface LoggingChartProps extends PlatformChartProps {
  /**
   * Create the `logging` Namespace (Pod Security `privileged`, for the agent's hostPath mounts).
   * @default true
   */
  readonly createNamespace?: boolean;
  /** Used only when `logging.backend` is `loki`. @default - the env's Loki */
  readonly loki?: LokiProps;
  /** Used only when `logging.backend` is `victorialogs`. @default - the env's VictoriaLogs */
  readonly victoriaLogs?: VictoriaLogsProps;
  /** @default - the env's agent (`logging.agent`) on every node */
  readonly agent?: LogAgentProps;
  /**
   * Used only when `logging.grafana.separate` is true.
   * @default - admin credentials from Secret `grafana-admin`
   */
  readonly grafana?: LoggingGrafanaProps;
}

/** Why the logging namespace cannot run under `baseline` or `restricted`. */
export const LOGGING_POD_SECURITY_REASON =
  'the log agent DaemonSet mounts /var/log/pods and its positions directory as hostPath volumes and reads root-owned log files as UID 0; Pod Security baseline forbids hostPath';

/**
 * The logging tier as one chart (the deployer's `logging.yaml`): namespace `logging`, Loki,
 * the log agent (Promtail or Alloy, `logging.agent`) and — when `logging.grafana.separate` — the
 * logging Grafana on NodePort 30030. With `separate: false` no Grafana is created here; the
 * monitoring Grafana provisions {@link lokiDatasource} instead.
 */
export class LoggingChart extends PlatformChart {
  /** Present when `logging.backend` is `loki`. */
  readonly loki?: Loki;
  /** Present when `logging.backend` is `victorialogs`. */
  readonly victoriaLogs?: VictoriaLogs;
  /** The store the agent sends to and Grafana reads (Loki or VictoriaLogs). */
  readonly store: { readonly name: string; readonly port: number };
  readonly agent: LogAgent;
  readonly grafana?: LoggingGrafana;
  readonly platformNamespace?: PlatformNamespace;

  constructor(scope: Construct, id: string, props: LoggingChartProps) {
    super(scope, id, props);
    if (props.createNamespace ?? true) {
      this.platformNamespace = new PlatformNamespace(this, 'Namespace', {
        name: SEED.namespaces.logging,
        podSecurity: 'privileged',
        podSecurityReason: LOGGING_POD_SECURITY_REASON,
      });
    }
    // Construct ids 'Loki' and 'VictoriaLogs' are stable: the env's backend picks one.
    if (this.env.logging.backend === 'victorialogs') {
      this.victoriaLogs = new VictoriaLogs(this, 'VictoriaLogs', props.victoriaLogs);
      this.store = this.victoriaLogs;
    } else {
      this.loki = new Loki(this, 'Loki', props.loki);
      this.store = this.loki;
    }
    this.agent = new LogAgent(this, 'Agent', props.agent);
    if (this.env.logging.grafana.separate) {
      this.grafana = new LoggingGrafana(this, 'Grafana', props.grafana);
    }
    if (this.env.features.networkPolicies.enabled) this.addNetworkPolicies();
  }

  /**
   * Who talks to whom in `logging` (the namespace denies everything else and allows DNS): the
   * agent pushes to Loki and reads the API server; both Grafanas query Loki; people reach the
   * logging Grafana; Prometheus scrapes Loki and the agent (their `http-metrics` port).
   */
  private addNetworkPolicies(): void {
    const env = this.env;
    const ns = SEED.namespaces.logging;
    const lokiPort = this.store.port;
    const agentPort = this.agent.port;
    const common = { namespace: ns };
    // The id stays 'LokiNetworkPolicy' for either store: ids are part of the contract.
    new PodNetworkPolicy(this, 'LokiNetworkPolicy', {
      ...common,
      name: this.store.name,
      appName: this.store.name,
      podSelector: selectorLabels({ name: this.store.name }),
      description: `log agent, Grafana (both) and Prometheus → :${lokiPort}; nothing out but DNS`,
      ingress: [
        {
          peers: [
            podsPeer(selectorLabels({ name: this.agent.name })),
            ...(this.grafana ? [podsPeer(selectorLabels({ name: this.grafana.name }))] : []),
            namespacePeer(SEED.namespaces.monitoring, selectorLabels({ name: SEED.monitoring.grafana.name })),
            prometheusPeer(),
          ],
          ports: tcpPorts(lokiPort),
        },
      ],
      egress: [],
    });
    new PodNetworkPolicy(this, 'AgentNetworkPolicy', {
      ...common,
      name: this.agent.name,
      appName: this.agent.name,
      podSelector: selectorLabels({ name: this.agent.name }),
      description: `Prometheus → :${agentPort}; it → ${this.victoriaLogs ? 'VictoriaLogs' : 'Loki'} :${lokiPort}, API server (pod discovery)`,
      ingress: [{ peers: [prometheusPeer()], ports: tcpPorts(agentPort) }],
      egress: [{ peers: [podsPeer(selectorLabels({ name: this.store.name }))], ports: tcpPorts(lokiPort) }, apiServerEgress(env)],
    });
    if (this.grafana) {
      new PodNetworkPolicy(this, 'GrafanaNetworkPolicy', {
        ...common,
        name: this.grafana.name,
        appName: this.grafana.name,
        podSelector: selectorLabels({ name: this.grafana.name }),
        description: `people (NodePort ${env.logging.grafana.nodePort}) and Prometheus → :${this.grafana.containerPort}; it → ${this.victoriaLogs ? 'VictoriaLogs' : 'Loki'} :${lokiPort}`,
        ingress: [{ ports: tcpPorts(this.grafana.containerPort) }],
        egress: [{ peers: [podsPeer(selectorLabels({ name: this.store.name }))], ports: tcpPorts(lokiPort) }],
      });
    }
  }
}

/** One Prometheus scrape target of this tier: pods in `namespace` whose `SCRAPE_JOB_LABEL` is `job`. */
export interface ScrapeTarget {
  readonly job: string;
  readonly namespace: string;
  /** Pod label (name → value) to keep targets by. */
  readonly podLabel: { readonly name: string; readonly value: string };
  /** Container port name. */
  readonly port: string;
  readonly path: string;
}

/**
 * What Prometheus scrapes in this tier (job names from SEED.monitoring.jobs). The pods carry the
 * label `bitpin.io/scrape-job=<job>` and the usual `prometheus.io/{scrape,port,path}` annotations;
 * the deployer can hand this list to the monitoring library.
 */
export function loggingScrapeTargets(env?: Pick<EnvConfig, 'logging'>): ScrapeTarget[] {
  const ns = SEED.namespaces.logging;
  const t = (job: string): ScrapeTarget => ({ job, namespace: ns, podLabel: { name: SCRAPE_JOB_LABEL, value: job }, port: 'http-metrics', path: '/metrics' });
  const store = env?.logging.backend === 'victorialogs' ? SEED.monitoring.jobs.victorialogs : SEED.monitoring.jobs.loki;
  return [t(store), t(SEED.monitoring.jobs.logAgent)];
}
