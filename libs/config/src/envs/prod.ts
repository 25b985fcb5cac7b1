import { defineEnv } from '../define.js';

/**
 * Production. Hardening on (network policies, restricted Pod Security, quotas, persistent
 * static/media). NodePort 30505 stays the default entry, as the seed says; set
 * `features.ingress.enabled` with a host and TLS secret to put Ingress + TLS in front instead.
 */
export const prod = defineEnv({
  name: 'prod',
  description: 'Production',
  kube: { context: 'bitpin-prod' },
  deploy: { atomic: true, confirm: true },
  imagePolicy: {
    requireImmutable: true,
    allowMutable: { app: 'upstream publishes only :latest; the release pipeline passes --image app=<repo>@sha256:<digest>' },
  },
  app: {
    replicas: 3,
    autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 10, targetCpuUtilization: 65 },
    resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } },
    storage: { persistent: true, staticSize: '2Gi', mediaSize: '20Gi' },
  },
  database: {
    instances: 2,
    storageSize: '5Gi',
    // WAL on its own volume (CloudNativePG's advice for production): a burst of writes or a
    // lagging slot can never fill the data volume, and the slot budget can be larger.
    walStorageSize: '10Gi',
    resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } },
    maxConnections: 300,
    maxSlotWalKeepSize: '4GB',
    podAntiAffinity: 'required',
    // Reads that tolerate replication lag go to the standby (DB_READ_HOST); instances 2 = one replica.
    readReplicas: { enabled: true },
    // Every app connection through PgBouncer (two pods per pooler, one per node): up to 10 app pods
    // opening a connection per request share 2 × (25 + 5) server connections per pooler, far under
    // max_connections 300 (the rest: backups, the operator, the -ro pooler on the standby).
    pooler: { enabled: true, defaultPoolSize: 25 },
  },
  backup: {
    full: { keep: 14 },
    retentionDays: 14,
    storageSize: '100Gi',
    // A commit is acknowledged once the WAL receiver has it on the backup volume (0 acknowledged
    // commits lost with the primary); while the receiver is down the standby takes its place, so
    // the exchange keeps writing unless both are down (libs/backup README, synchronous mode).
    walReceiver: { synchronous: 'fallback' },
  },
  // The Redis cache (libs/cache): 768Mi of entries under a 1Gi limit, allkeys-lru; no persistence
  // (a restarted cache refills from the database).
  cache: {
    enabled: true,
    maxmemory: '768Mi',
    resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '1Gi' } },
  },
  monitoring: {
    prometheus: {
      retentionTime: '30d',
      retentionSize: '45GB',
      storageSize: '50Gi',
      resources: { requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '4Gi' } },
    },
    // Two gossiping Alertmanagers: notifications keep flowing through a node drain.
    alertmanager: { replicas: 2 },
  },
  logging: {
    loki: { storageSize: '50Gi', retentionPeriod: '744h', resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '2Gi' } } },
  },
  features: {
    networkPolicies: {
      enabled: true,
      // The bitpin-prod cluster's address plan, which the policies depend on: pods and ClusterIPs
      // in kubeadm's ranges (the defaults, 10.244.0.0/16 and 10.96.0.0/12), nodes in the private
      // subnet 10.0.0.0/16, the API server on the control-plane nodes in its first /24 (:6443; :443
      // is the `kubernetes` Service's port). Check them against the cluster when it changes
      // (--cluster-cidr, --service-cluster-ip-range, `kubectl get nodes -o wide`,
      // `kubectl get endpoints kubernetes`); never widen them to 0.0.0.0/0.
      cluster: { nodeCidrs: ['10.0.0.0/16'] },
      apiServer: { cidrs: ['10.0.0.0/24'] },
    },
    podSecurityLevel: 'restricted',
    resourceQuotas: { enabled: true },
  },
});
