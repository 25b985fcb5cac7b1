import { SEED, cnpgNames, parseQuantity } from '@bitpin/config';
import {
  DATABASE_CLIENT_LABEL,
  PodNetworkPolicy,
  apiServerEgress,
  namespacePeer,
  podsPeer,
  prometheusPeer,
  standardLabels,
  tcpPorts,
  type PlatformChart,
} from '@bitpin/k8s';
import { Construct } from 'constructs';
import {
  Cluster,
  ClusterSpecLogLevel,
  ClusterSpecPrimaryUpdateMethod,
  ClusterSpecPostgresqlSynchronousDataDurability,
  ClusterSpecPostgresqlSynchronousMethod,
  ClusterSpecPrimaryUpdateStrategy,
  ClusterSpecResourcesLimits,
  type ClusterSpecPostgresqlSynchronous,
  ClusterSpecResourcesRequests,
  type ClusterSpecManagedRoles,
} from './imports/postgresql.cnpg.io.js';

export type ManagedRole = ClusterSpecManagedRoles;

export interface BitpinClusterProps {
  /**
   * Roles CloudNativePG reconciles in the database besides the app owner, e.g. the backup role
   * from libs/backup (the deployer passes it in; libraries do not import each other).
   * @default - none
   */
  readonly roles?: readonly ManagedRole[];
  /**
   * Extra pg_hba rules, placed before CloudNativePG's final `host all all all scram-sha-256`.
   * Replication connections need their own rule (that final rule does not match them).
   * @default - none
   */
  readonly pgHba?: readonly string[];
  /**
   * Extra PostgreSQL parameters; they override the computed ones.
   * @default - none
   */
  readonly parameters?: Readonly<Record<string, string>>;
}

/**
 * The seed's PostgreSQL cluster: CloudNativePG `Cluster` `bitpin-cluster`, 2 instances of
 * PostgreSQL 15.3 with 5Gi each (per env), replication slots for HA synchronised to the
 * standbys (so user slots such as the WAL-archiving slot survive a failover), WAL level
 * `logical`, bounded slot WAL retention, TLS (CloudNativePG issues `bitpin-cluster-ca` and
 * the server certificate; clients verify with `verify-full`), instances spread across nodes,
 * and the metrics exporter on port 9187 that Prometheus scrapes by pod discovery.
 *
 * CloudNativePG creates the Services `bitpin-cluster-rw`, `-ro` and `-r` and the Secret
 * `bitpin-cluster-app` from this object.
 */
export class BitpinCluster extends Construct {
  readonly name: string = SEED.database.clusterName;
  readonly namespace: string = SEED.namespaces.app;
  readonly names = cnpgNames(SEED.database.clusterName);
  /** The PostgreSQL parameters sent to the cluster (computed + `props.parameters`). */
  readonly parameters: Readonly<Record<string, string>>;
  /**
   * Synchronous replication to libs/backup's WAL receiver (`backup.walReceiver.synchronous`),
   * through CloudNativePG, which owns synchronous_standby_names: `strict` gives
   * `FIRST 1 ("bitpin_wal_receiver")` (no instance listed: writes wait while the receiver is
   * down), `fallback` gives `FIRST 1 ("bitpin_wal_receiver", <instances>)` (the receiver while it
   * is connected, else a standby). Undefined when off.
   */
  readonly synchronous?: ClusterSpecPostgresqlSynchronous;
  private readonly env: PlatformChart['env'];

  /** The Poolers the env runs: `-pooler-rw` with `database.pooler`, `-pooler-ro` with read replicas too. */
  poolerNames(): string[] {
    const db = this.env.database;
    if (!db.pooler.enabled) return [];
    return db.readReplicas.enabled ? [this.names.poolerRw, this.names.poolerRo] : [this.names.poolerRw];
  }

  constructor(scope: PlatformChart, id: string, props: BitpinClusterProps = {}) {
    super(scope, id);
    const env = scope.env;
    this.env = env;
    const cfg = env.database;

    const memLimit = parseQuantity(cfg.resources.limits.memory) ?? 0;
    const mb = (bytes: number) => `${Math.max(32, Math.floor(bytes / 2 ** 20))}MB`;
    this.parameters = {
      // Logical replication stays possible (the seed), and it is a superset of `replica`.
      wal_level: 'logical',
      max_connections: String(cfg.maxConnections),
      // Replication slots must never fill the volume: a lagging slot is invalidated instead,
      // and an alert fires long before (see dashboards/ rules).
      max_slot_wal_keep_size: cfg.maxSlotWalKeepSize,
      // Forces a WAL switch at least every 5 minutes, so the 15-minute incremental backup
      // always finds closed segments to archive.
      archive_timeout: '5min',
      hot_standby_feedback: 'on',
      shared_buffers: mb(memLimit * 0.25),
      effective_cache_size: mb(memLimit * 0.75),
      log_checkpoints: 'on',
      log_lock_waits: 'on',
      log_min_duration_statement: '1000',
      log_autovacuum_min_duration: '10s',
      ...props.parameters,
    };

    const receiver = env.backup.walReceiver;
    if (receiver.enabled && receiver.synchronous !== 'off') {
      this.synchronous = {
        method: ClusterSpecPostgresqlSynchronousMethod.FIRST,
        number: 1,
        // Explicit: the CRD's CEL rule on dataDurability fails ("no such key") when it is absent.
        dataDurability: ClusterSpecPostgresqlSynchronousDataDurability.REQUIRED,
        standbyNamesPre: [SEED.backup.walReceiver.applicationName],
        ...(receiver.synchronous === 'strict' ? { maxStandbyNamesFromCluster: 0 } : {}),
      };
    }

    const instances = cfg.instances;
    if (props.roles?.some((r) => r.name === cfg.owner)) {
      throw new Error(`BitpinCluster: 'roles' must not redefine the app owner '${cfg.owner}' (bootstrap.initdb owns it)`);
    }

    new Cluster(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: standardLabels(env, { name: this.name, component: 'database' }),
      },
      spec: {
        description: `Bitpin exchange PostgreSQL (${env.name})`,
        instances,
        imageName: env.images.postgres,
        imagePullPolicy: 'IfNotPresent',
        primaryUpdateStrategy: ClusterSpecPrimaryUpdateStrategy.UNSUPERVISED,
        primaryUpdateMethod: ClusterSpecPrimaryUpdateMethod.SWITCHOVER,
        enableSuperuserAccess: false,
        enablePdb: true,
        storage: {
          size: cfg.storageSize,
          resizeInUseVolumes: true,
          ...(cfg.storageClass ? { storageClass: cfg.storageClass } : {}),
        },
        ...(cfg.walStorageSize
          ? { walStorage: { size: cfg.walStorageSize, ...(cfg.storageClass ? { storageClass: cfg.storageClass } : {}) } }
          : {}),
        bootstrap: {
          initdb: { database: cfg.database, owner: cfg.owner, dataChecksums: true, encoding: 'UTF8' },
        },
        replicationSlots: {
          highAvailability: { enabled: true },
          // User-defined slots (the backup's WAL slot) are copied to the standbys, so a
          // promoted standby continues where the old primary's slot stopped.
          synchronizeReplicas: { enabled: true },
          updateInterval: 30,
        },
        postgresql: {
          parameters: { ...this.parameters },
          ...(this.synchronous ? { synchronous: this.synchronous } : {}),
          ...(props.pgHba?.length ? { pgHba: [...props.pgHba] } : {}),
        },
        ...(props.roles?.length ? { managed: { roles: [...props.roles] } } : {}),
        affinity: {
          enablePodAntiAffinity: true,
          podAntiAffinityType: cfg.podAntiAffinity,
          topologyKey: 'kubernetes.io/hostname',
        },
        resources: {
          requests: {
            cpu: ClusterSpecResourcesRequests.fromString(cfg.resources.requests.cpu),
            memory: ClusterSpecResourcesRequests.fromString(cfg.resources.requests.memory),
          },
          limits: {
            memory: ClusterSpecResourcesLimits.fromString(cfg.resources.limits.memory),
            ...(cfg.resources.limits.cpu ? { cpu: ClusterSpecResourcesLimits.fromString(cfg.resources.limits.cpu) } : {}),
          },
        },
        // Plain Prometheus scrapes port `metrics` (9187) by pod discovery; no PodMonitor CRD needed.
        monitoring: { enablePodMonitor: false },
        logLevel: ClusterSpecLogLevel.INFO,
        // PgBouncer presents the cluster's server certificate to its clients: it must name the
        // poolers' Services too, or the app's verify-full fails.
        ...(cfg.pooler.enabled ? { certificates: { serverAltDnsNames: this.poolerNames().flatMap(serviceDnsNames) } } : {}),
      },
    });

    if (env.features.networkPolicies.enabled) {
      const net = env.features.networkPolicies;
      const instances = { 'cnpg.io/cluster': this.name };
      // Every pod CloudNativePG runs for the cluster (instances, initdb/join Jobs) carries it; so do
      // the PgBouncer pods of its Poolers, which have their own policy (libs/database bitpin-pooler.ts).
      new PodNetworkPolicy(this, 'NetworkPolicy', {
        name: this.name,
        namespace: this.namespace,
        appName: this.name,
        podSelector: instances,
        podSelectorExpressions: [{ key: 'cnpg.io/podRole', operator: 'NotIn', values: ['pooler'] }],
        description: `database clients (${DATABASE_CLIENT_LABEL}), the other instances and the poolers → :${SEED.database.port}; operator (${net.cnpgOperatorNamespace}) → :${CNPG_STATUS_PORT}, :${SEED.database.port}; Prometheus → :${SEED.database.metricsPort}; instances → API server, other instances :${SEED.database.port}`,
        ingress: [
          { peers: [podsPeer({ [DATABASE_CLIENT_LABEL]: 'true' }), podsPeer(instances)], ports: tcpPorts(SEED.database.port) },
          { peers: [namespacePeer(net.cnpgOperatorNamespace)], ports: tcpPorts(CNPG_STATUS_PORT, SEED.database.port) },
          { peers: [prometheusPeer()], ports: tcpPorts(SEED.database.metricsPort) },
        ],
        egress: [
          // Streaming replication and pg_rewind from the primary.
          { peers: [podsPeer(instances)], ports: tcpPorts(SEED.database.port) },
          // The instance manager watches its Cluster and Secrets, and reports status.
          apiServerEgress(env),
        ],
      });
      new PodNetworkPolicy(this, 'ClientsNetworkPolicy', {
        name: `${this.name}-clients`,
        namespace: this.namespace,
        appName: this.name,
        podSelector: { [DATABASE_CLIENT_LABEL]: 'true' },
        description: `pods labelled ${DATABASE_CLIENT_LABEL}=true → ${this.name} instances :${SEED.database.port} (the -rw, -ro and -r Services)`,
        egress: [{ peers: [podsPeer(instances)], ports: tcpPorts(SEED.database.port) }],
      });
    }
  }
}

/** A Service's names as clients may write them (what CloudNativePG puts in its server certificate). */
function serviceDnsNames(service: string): string[] {
  const ns = SEED.namespaces.app;
  return [service, `${service}.${ns}`, `${service}.${ns}.svc`, `${service}.${ns}.svc.cluster.local`];
}

/** The instance manager's status port, which the CloudNativePG operator calls. */
export const CNPG_STATUS_PORT = 8000;
