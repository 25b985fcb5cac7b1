/**
 * Names, namespaces and ports fixed by the seed architecture document. These are contracts
 * between libraries (the app reads the database's secret; Prometheus scrapes the sidecar; the
 * logging Grafana reads Loki), so they live in one place that every library may import.
 * Changing one is a breaking change to a running platform.
 */
export const SEED = {
  namespaces: { app: 'bitpin-task', monitoring: 'monitoring', logging: 'logging' },
  app: {
    name: 'bitpin-app',
    serviceName: 'bitpin-app-svc',
    containerPort: 8000,
    healthPath: '/healthz/',
    settingsModule: 'Exchange.settings',
    staticPath: '/app/Exchange/static',
    mediaPath: '/app/Exchange/media',
    liveness: { initialDelaySeconds: 10, periodSeconds: 20 },
    readiness: { initialDelaySeconds: 5, periodSeconds: 10 },
  },
  sidecar: { name: 'metrics-sidecar', proxyPort: 8080, metricsPort: 9102 },
  database: {
    clusterName: 'bitpin-cluster',
    port: 5432,
    metricsPort: 9187,
    /** PgBouncer of a CloudNativePG Pooler: clients on 5432 (port `pgbouncer`), metrics on 9127 (port `metrics`). */
    pooler: { port: 5432, metricsPort: 9127 },
  },
  /**
   * The Redis cache (libs/cache, `cache.enabled`): Deployment and Service `bitpin-redis`, its
   * password in Secret `bitpin-redis-auth` (key `password`), redis_exporter on 9121.
   */
  cache: { name: 'bitpin-redis', port: 6379, metricsPort: 9121, authSecret: 'bitpin-redis-auth', passwordKey: 'password' },
  backup: {
    fullCronJob: 'bitpin-full-backup',
    incrementalCronJob: 'bitpin-incremental-backup',
    /** Weekly restore-verification CronJob (alerts watch its last success too). */
    verifyCronJob: 'bitpin-backup-verify',
    /** The encrypted off-site copy's upload CronJob (`backup.offsite.enabled`; alerts watch its last success). */
    offsiteCronJob: 'bitpin-offsite-backup',
    /** The backup volume's PersistentVolumeClaim. */
    claimName: 'bitpin-backup',
    /** Dedicated PostgreSQL role of the backup jobs (a CloudNativePG managed role). */
    role: 'bitpin_backup',
    /** basic-auth Secret (`username`, `password`) of that role; created out of band, never in the repo. */
    credentialsSecret: 'bitpin-backup-credentials',
    /** Physical replication slot the WAL archive streams from (synchronised to standbys). */
    walSlot: 'bitpin_backup',
    /**
     * The WAL receiver (`backup.walReceiver.enabled`): Deployment `bitpin-wal-receiver` streaming
     * WAL into the archive with pg_receivewal from its own slot, under an application_name that
     * synchronous mode lists in synchronous_standby_names; its lag metrics on port 9188.
     */
    walReceiver: { name: 'bitpin-wal-receiver', slot: 'bitpin_wal_receiver', applicationName: 'bitpin_wal_receiver', metricsPort: 9188 },
  },
  monitoring: {
    prometheus: { name: 'prometheus', port: 9090 },
    alertmanager: { name: 'alertmanager', port: 9093 },
    grafana: { name: 'grafana' },
    nodeExporter: { name: 'node-exporter' },
    kubeStateMetrics: { name: 'kube-state-metrics', port: 8080, telemetryPort: 8081 },
    /**
     * Prometheus scrape job names. Alert rules and dashboards select on `job`, so the scrape
     * config (libs/monitoring) and the rules (dashboards/) share these. The Kubernetes ones are
     * the names the kubernetes-mixin rules expect, so well-known rules work unchanged.
     */
    jobs: {
      apiserver: 'apiserver',
      kubelet: 'kubelet',
      cadvisor: 'kubelet', // same job, metrics_path="/metrics/cadvisor", as the mixin expects
      nodeExporter: 'node-exporter',
      kubeStateMetrics: 'kube-state-metrics',
      app: 'bitpin-app',
      database: 'cnpg',
      /** The PgBouncer pods of the CloudNativePG Poolers (`cnpg.io/podRole=pooler`). */
      pooler: 'pgbouncer',
      cache: 'redis',
      loki: 'loki',
      /** The VictoriaLogs store (`logging.backend: victorialogs`). */
      victorialogs: 'victorialogs',
      /** libs/backup's WAL receiver (`backup.walReceiver.enabled`): its lag. */
      walReceiver: 'bitpin-wal-receiver',
      logAgent: 'log-agent',
      alertmanager: 'alertmanager',
      grafana: 'grafana',
      prometheus: 'prometheus',
    },
  },
  logging: {
    loki: { name: 'loki', grpcPort: 9095 },
    /** The VictoriaLogs store (`logging.backend: victorialogs`): its StatefulSet and Service name. */
    victorialogs: {
      name: 'victorialogs',
      /**
       * JSON keys VictoriaLogs takes as a line's message (`_msg`), the way vlagent does: Promtail
       * and Alloy push to `/insert/loki/api/v1/push?_msg_field=<these>` (without it a JSON line's
       * `msg` stays a field and `_msg` is a placeholder).
       */
      msgFields: ['msg', 'message', 'log'],
    },
    grafana: { name: 'grafana' },
    /**
     * The fields a log entry carries in VictoriaLogs, by who shipped it: vlagent's Kubernetes
     * collector writes vector.dev's names (pod labels as `kubernetes.pod_labels.<key>`; the seed's
     * `app` is the pod label `app`); Promtail and Alloy push the relabel table's Loki labels, which
     * VictoriaLogs keeps as fields of the same names. The LogsQL dashboards and vlagent's
     * `-kubernetesCollector.streamFields` take them from here.
     */
    logFields: {
      vlagent: {
        namespace: 'kubernetes.pod_namespace',
        pod: 'kubernetes.pod_name',
        container: 'kubernetes.container_name',
        node_name: 'kubernetes.pod_node_name',
        app: 'kubernetes.pod_labels.app',
      },
      lokiPush: { namespace: 'namespace', pod: 'pod', container: 'container', node_name: 'node_name', app: 'app' },
    },
  },
  /** Grafana data sources are provisioned with these fixed uids; dashboards reference them. */
  grafana: {
    datasources: {
      prometheus: { uid: 'prometheus', name: 'Prometheus', type: 'prometheus' },
      loki: { uid: 'loki', name: 'Loki', type: 'loki' },
      /** The VictoriaLogs plugin's data source (logging Grafana, `logging.backend: victorialogs`). */
      victorialogs: { uid: 'victorialogs', name: 'VictoriaLogs', type: 'victoriametrics-logs-datasource' },
      alertmanager: { uid: 'alertmanager', name: 'Alertmanager', type: 'alertmanager' },
    },
    /** The folder the platform's dashboards are provisioned into. */
    folder: 'Bitpin',
  },
} as const;

export interface CnpgNames {
  readonly cluster: string;
  /** Read-write Service (the primary). */
  readonly rw: string;
  /** Read-only Service (replicas). */
  readonly ro: string;
  /** Read Service (any instance). */
  readonly r: string;
  /** The application user's basic-auth secret (username, password, host, port, dbname, uri …). */
  readonly appSecret: string;
  /** CA of the server certificates (`ca.crt`), for clients verifying with `verify-full`. */
  readonly caSecret: string;
  /** Client certificate of `streaming_replica`. */
  readonly replicationSecret: string;
  /** The Pooler (PgBouncer) in front of `rw`, and its Service (same name). */
  readonly poolerRw: string;
  /** The Pooler (PgBouncer) in front of `ro`, and its Service (same name). */
  readonly poolerRo: string;
}

/** The names CloudNativePG generates for a Cluster (cluster_types.go). */
export function cnpgNames(cluster: string = SEED.database.clusterName): CnpgNames {
  return {
    cluster,
    rw: `${cluster}-rw`,
    ro: `${cluster}-ro`,
    r: `${cluster}-r`,
    appSecret: `${cluster}-app`,
    caSecret: `${cluster}-ca`,
    replicationSecret: `${cluster}-replication`,
    poolerRw: `${cluster}-pooler-rw`,
    poolerRo: `${cluster}-pooler-ro`,
  };
}

/**
 * Annotations the deployer acts on (a contract between the libraries that render objects and
 * the deployer that applies them; kept here so the deployer need not load cdk8s to read them).
 */
export const DEPLOY_ANNOTATIONS = {
  /** On a Secret: create it once with values generated from this recipe; never overwrite it. */
  generate: 'deploy.bitpin.io/generate',
} as const;
