import { SEED, cnpgNames } from '@bitpin/config';
import {
  DATABASE_POOLER_CLIENT_LABEL,
  PodNetworkPolicy,
  apiServerEgress,
  podsPeer,
  prometheusPeer,
  standardLabels,
  tcpPorts,
  type PlatformChart,
} from '@bitpin/k8s';
import { Construct } from 'constructs';
import {
  Pooler,
  PoolerSpecDeploymentStrategyRollingUpdateMaxSurge,
  PoolerSpecDeploymentStrategyRollingUpdateMaxUnavailable,
  PoolerSpecPgbouncerPoolMode,
  PoolerSpecTemplateSpecContainersResourcesLimits,
  PoolerSpecTemplateSpecContainersResourcesRequests,
  PoolerSpecType,
} from './imports/postgresql.cnpg.io.js';

/** The labels CloudNativePG puts on every pod of a Pooler (pkg/specs/pgbouncer/deployments.go). */
export const POOLER_POD_LABELS = {
  cluster: 'cnpg.io/cluster',
  role: 'cnpg.io/podRole',
  name: 'cnpg.io/poolerName',
} as const;

export interface BitpinPoolerProps {
  /** Which of the cluster's Services PgBouncer sends its server connections to. */
  readonly type: 'rw' | 'ro';
}

/**
 * A CloudNativePG `Pooler`: PgBouncer pods (a Deployment the operator makes) and a Service of the
 * same name in front of the cluster's `-rw` or `-ro` Service. Clients authenticate as they would
 * against PostgreSQL (the operator wires PgBouncer's `auth_query` to the cluster) and must use
 * TLS (`client_tls_sslmode=require`; PgBouncer presents the cluster's server certificate, which
 * BitpinCluster extends with the pooler's Service names for `verify-full`). PgBouncer checks the
 * server's certificate and name (`server_tls_sslmode=verify-full`). Metrics on port `metrics` 9127.
 */
export class BitpinPooler extends Construct {
  readonly name: string;
  readonly namespace: string = SEED.namespaces.app;
  readonly type: 'rw' | 'ro';
  /** PgBouncer parameters sent to the Pooler (`spec.pgbouncer.parameters`). */
  readonly parameters: Readonly<Record<string, string>>;
  /** The labels of this pooler's pods (NetworkPolicy selectors). */
  readonly podLabels: Readonly<Record<string, string>>;

  constructor(scope: PlatformChart, id: string, props: BitpinPoolerProps) {
    super(scope, id);
    const env = scope.env;
    const cfg = env.database.pooler;
    const names = cnpgNames(SEED.database.clusterName);
    this.type = props.type;
    this.name = props.type === 'rw' ? names.poolerRw : names.poolerRo;
    this.podLabels = { [POOLER_POD_LABELS.cluster]: names.cluster, [POOLER_POD_LABELS.name]: this.name };
    this.parameters = {
      default_pool_size: String(cfg.defaultPoolSize),
      min_pool_size: String(cfg.minPoolSize),
      reserve_pool_size: String(cfg.reservePoolSize),
      // No more server connections per pod than the pool and its reserve, whatever the users.
      max_db_connections: String(cfg.defaultPoolSize + cfg.reservePoolSize),
      max_client_conn: String(cfg.maxClientConn),
      query_wait_timeout: String(cfg.queryWaitTimeoutSeconds),
      // The app always connects with TLS (PGSSLMODE=verify-full); refuse anything that does not.
      client_tls_sslmode: 'require',
      // The operator's default is verify-ca; the server certificate names the -rw/-ro Services.
      server_tls_sslmode: 'verify-full',
    };

    new Pooler(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: standardLabels(env, { name: this.name, instance: this.name, component: 'database-pooler' }),
      },
      spec: {
        cluster: { name: names.cluster },
        type: props.type === 'rw' ? PoolerSpecType.RW : PoolerSpecType.RO,
        instances: cfg.instances,
        pgbouncer: {
          poolMode: cfg.poolMode === 'session' ? PoolerSpecPgbouncerPoolMode.SESSION : PoolerSpecPgbouncerPoolMode.TRANSACTION,
          parameters: { ...this.parameters },
        },
        // A pooler update never lowers capacity: one new pod ready before an old one goes.
        deploymentStrategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: PoolerSpecDeploymentStrategyRollingUpdateMaxSurge.fromNumber(1),
            maxUnavailable: PoolerSpecDeploymentStrategyRollingUpdateMaxUnavailable.fromNumber(0),
          },
        },
        template: {
          // CloudNativePG sets app.kubernetes.io/{name,instance,component,managed-by} on the pods
          // itself (cloudnative-pg, the cluster, pooler); ours would be overwritten, so only the rest.
          metadata: { labels: withoutKeys(standardLabels(env, { name: this.name, component: 'database-pooler' }), CNPG_SET_POD_LABELS) },
          spec: {
            // The operator fills in command, ports, probes, volumes and the restricted security
            // context; we pin the image and size the container.
            containers: [
              {
                name: 'pgbouncer',
                image: env.images.pgbouncer,
                resources: {
                  requests: {
                    cpu: PoolerSpecTemplateSpecContainersResourcesRequests.fromString(cfg.resources.requests.cpu),
                    memory: PoolerSpecTemplateSpecContainersResourcesRequests.fromString(cfg.resources.requests.memory),
                  },
                  limits: {
                    memory: PoolerSpecTemplateSpecContainersResourcesLimits.fromString(cfg.resources.limits.memory),
                    ...(cfg.resources.limits.cpu ? { cpu: PoolerSpecTemplateSpecContainersResourcesLimits.fromString(cfg.resources.limits.cpu) } : {}),
                  },
                },
              },
            ],
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: { [POOLER_POD_LABELS.name]: this.name } },
              },
            ],
          },
        },
      },
    });
  }
}

const CNPG_SET_POD_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by'];
const withoutKeys = (labels: Readonly<Record<string, string>>, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(labels).filter(([k]) => !keys.includes(k)));

/**
 * The NetworkPolicies of the poolers (with `features.networkPolicies.enabled`): pods labelled
 * {@link DATABASE_POOLER_CLIENT_LABEL} reach the PgBouncer pods on 5432, Prometheus their metrics
 * on 9127; the PgBouncer pods reach the instances on 5432 and the API server (their instance
 * manager watches the Pooler and its Secrets).
 */
export class PoolerNetworkPolicies extends Construct {
  constructor(scope: PlatformChart, id: string) {
    super(scope, id);
    const env = scope.env;
    const names = cnpgNames(SEED.database.clusterName);
    const poolers = { [POOLER_POD_LABELS.cluster]: names.cluster, [POOLER_POD_LABELS.role]: 'pooler' };
    const port = SEED.database.pooler.port;
    new PodNetworkPolicy(this, 'NetworkPolicy', {
      name: `${names.cluster}-pooler`,
      namespace: SEED.namespaces.app,
      appName: names.cluster,
      podSelector: poolers,
      description: `pooler clients (${DATABASE_POOLER_CLIENT_LABEL}) → :${port}; Prometheus → :${SEED.database.pooler.metricsPort}; poolers → ${names.cluster} instances :${SEED.database.port}, API server`,
      ingress: [
        { peers: [podsPeer({ [DATABASE_POOLER_CLIENT_LABEL]: 'true' })], ports: tcpPorts(port) },
        { peers: [prometheusPeer()], ports: tcpPorts(SEED.database.pooler.metricsPort) },
      ],
      egress: [
        { peers: [podsPeer({ [POOLER_POD_LABELS.cluster]: names.cluster, [POOLER_POD_LABELS.role]: 'instance' })], ports: tcpPorts(SEED.database.port) },
        apiServerEgress(env),
      ],
    });
    new PodNetworkPolicy(this, 'ClientsNetworkPolicy', {
      name: `${names.cluster}-pooler-clients`,
      namespace: SEED.namespaces.app,
      appName: names.cluster,
      podSelector: { [DATABASE_POOLER_CLIENT_LABEL]: 'true' },
      description: `pods labelled ${DATABASE_POOLER_CLIENT_LABEL}=true → the PgBouncer pods :${port} (Services ${names.poolerRw}, ${names.poolerRo})`,
      egress: [{ peers: [podsPeer(poolers)], ports: tcpPorts(port) }],
    });
  }
}
