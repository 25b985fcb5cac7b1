import { z } from 'zod';
import { cidrContains, cidrsOverlap, isIpv4Cidr, isWideCidr, WIDE_PREFIX_BELOW } from './cidr.js';
import { cronProblem } from './cron.js';
import { IMAGE_REF_PATTERN, isMutableImageRef } from './images.js';
import {
  BYTE_SIZE_PATTERN,
  DURATION_PATTERN,
  QUANTITY_PATTERN,
  VICTORIALOGS_BYTES_PATTERN,
  VICTORIALOGS_RETENTION_PATTERN,
  parseDuration,
  parsePrometheusByteSize,
  parseQuantity,
  parseVictoriaLogsBytes,
  parseVictoriaLogsRetention,
} from './quantity.js';

/*
 * The schema of one environment. Every field the libraries read is here, typed and bounded;
 * unknown keys are refused (`strictObject`) so a typo never silently falls back to a default.
 * The seed architecture document's values are the defaults (see defaults.ts).
 */

const cpu = z.string().regex(QUANTITY_PATTERN, { error: 'must be a CPU quantity such as "250m" or "1"' });
const memory = z.string().regex(QUANTITY_PATTERN, { error: 'must be a memory quantity such as "256Mi" or "1Gi"' });
const storage = z
  .string()
  .regex(/^\d+(Mi|Gi|Ti)$/, { error: 'must be a storage size in Mi, Gi or Ti, such as "5Gi"' });
const duration = z.string().regex(DURATION_PATTERN, { error: 'must be a duration such as "15s", "15d" or "744h"' });
const byteSize = z.string().regex(BYTE_SIZE_PATTERN, { error: 'must be a size such as "8GB" (B, KB, MB, GB, TB)' });
const cron = z.string().superRefine((v, ctx) => {
  const problem = cronProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid cron schedule: ${problem}` });
});
const nodePort = z
  .number()
  .int()
  .min(30000, { error: 'must be a NodePort in the default range 30000-32767' })
  .max(32767, { error: 'must be a NodePort in the default range 30000-32767' });
const port = z.number().int().min(1).max(65535);
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a DNS label (lower-case letters, digits, "-")' })
  .max(63);
const storageClass = dnsLabel.optional();
const cidr = z
  .string()
  .regex(/^(\d{1,3})(\.\d{1,3}){3}\/(\d|[12]\d|3[0-2])$/, { error: 'must be an IPv4 CIDR such as "10.0.0.0/8" or "0.0.0.0/0"' })
  .refine((v) => v.split('/')[0]!.split('.').every((o) => Number(o) <= 255), { error: 'has an octet above 255' });
const imageRef = z
  .string()
  .regex(IMAGE_REF_PATTERN, { error: 'must be an image reference such as "registry/repo:tag" or "repo@sha256:<64 hex>"' });

export const resourcesSchema = z
  .strictObject({
    requests: z.strictObject({ cpu, memory }),
    limits: z.strictObject({ cpu: cpu.optional(), memory }),
  })
  .superRefine((r, ctx) => {
    const req = parseQuantity(r.requests.memory);
    const lim = parseQuantity(r.limits.memory);
    if (req !== undefined && lim !== undefined && lim < req) {
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'memory'],
        message: `limit ${r.limits.memory} is below the request ${r.requests.memory}`,
      });
    }
    if (r.limits.cpu !== undefined) {
      const creq = parseQuantity(r.requests.cpu);
      const clim = parseQuantity(r.limits.cpu);
      if (creq !== undefined && clim !== undefined && clim < creq) {
        ctx.addIssue({
          code: 'custom',
          path: ['limits', 'cpu'],
          message: `limit ${r.limits.cpu} is below the request ${r.requests.cpu}`,
        });
      }
    }
  });
export type Resources = z.infer<typeof resourcesSchema>;

export const IMAGE_KEYS = [
  'app',
  'metricsSidecar',
  'postgres',
  'backup',
  'prometheus',
  'alertmanager',
  'grafana',
  'nodeExporter',
  'kubeStateMetrics',
  'configReloader',
  'loki',
  'promtail',
  'alloy',
  'redis',
  'redisExporter',
  'victorialogs',
  'vlagent',
  'grafanaVictoriaLogsPlugin',
  'pgbouncer',
  'rclone',
] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];

const imageCatalog = z.strictObject(
  Object.fromEntries(IMAGE_KEYS.map((k) => [k, imageRef])) as Record<ImageKey, typeof imageRef>,
);

/** Redis's `maxmemory-policy` values (redis.conf); `noeviction` is refused for a cache by the schema. */
export const REDIS_EVICTION_POLICIES = [
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
  'noeviction',
] as const;

/** The address blocks an env may leave wide when it says why (`features.networkPolicies.allowWide`). */
export const WIDE_ALLOWABLE = ['apiServer', 'nodeCidrs'] as const;

export const envConfigSchema = z
  .strictObject({
    /** The env's name; also the value of the `bitpin.io/env` label on every object. */
    name: dnsLabel,
    description: z.string().min(1),

    kube: z.strictObject({
      /** The kubeconfig context this env must be deployed to; the deployer refuses any other. */
      context: z.string().min(1, { error: 'must name the kubeconfig context this env deploys to' }),
      /** The env runs on the embedded control plane from tools/k8s-testenv, which the deployer starts on demand. */
      embedded: z.boolean().default(false),
    }),

    /** How the deployer treats this env: release history, automatic rollback, confirmation. */
    deploy: z.strictObject({
      /** Revisions kept in the cluster's release history (Helm's --history-max). */
      history: z.number().int().min(1).max(100),
      /** A rollout not ready within --timeout goes back to the previous revision by itself (Helm's --atomic). */
      atomic: z.boolean(),
      /** Applies that change something ask `Continue? [y/N]` on a terminal and need --yes without one. */
      confirm: z.boolean(),
    }),

    /** Every image the platform runs, pinned in one place. */
    images: imageCatalog,
    imagePolicy: z.strictObject({
      /** Refuse images whose content is not pinned (no digest and a moving or absent tag). */
      requireImmutable: z.boolean(),
      /** Explicit exceptions: image key → why it is allowed to float. */
      allowMutable: z.partialRecord(z.enum(IMAGE_KEYS), z.string().min(10, { error: 'give the reason (≥ 10 chars)' })),
    }),

    app: z.strictObject({
      replicas: z.number().int().min(1).max(50),
      autoscaling: z.strictObject({
        enabled: z.boolean(),
        minReplicas: z.number().int().min(1).max(50),
        maxReplicas: z.number().int().min(1).max(100),
        targetCpuUtilization: z.number().int().min(10).max(95),
      }),
      resources: resourcesSchema,
      service: z.strictObject({ port, nodePort }),
      storage: z.strictObject({
        /** PersistentVolumeClaims instead of emptyDir for static and media files. */
        persistent: z.boolean(),
        staticSize: storage,
        mediaSize: storage,
        storageClass,
      }),
      /** Gives a slow-booting Django `failureThreshold × periodSeconds` to start before liveness applies. */
      startupProbe: z.strictObject({
        enabled: z.boolean(),
        periodSeconds: z.number().int().min(1).max(60),
        failureThreshold: z.number().int().min(1).max(120),
      }),
      sidecar: z.strictObject({
        enabled: z.boolean(),
        /** proxy: the Service sends traffic through the sidecar; observe: it only probes. */
        mode: z.enum(['proxy', 'observe']),
        resources: resourcesSchema,
        /** Distinct route templates before new ones are counted under one overflow label. */
        routeCardinalityCap: z.number().int().min(10).max(10_000),
      }),
    }),

    database: z.strictObject({
      instances: z.number().int().min(1).max(9),
      storageSize: storage,
      walStorageSize: storage.optional(),
      storageClass,
      resources: resourcesSchema,
      database: dnsLabel,
      owner: dnsLabel,
      maxConnections: z.number().int().min(20).max(5000),
      /** Upper bound of WAL kept for replication slots (`max_slot_wal_keep_size`). */
      maxSlotWalKeepSize: z.string().regex(/^\d+(MB|GB|TB)$/, { error: 'must be a size such as "10GB"' }),
      /** `required` refuses to put two instances on one node (prod); `preferred` allows it (one-node dev). */
      podAntiAffinity: z.enum(['preferred', 'required']),
      /**
       * Read replicas for read-heavy work: the app gets `DB_READ_HOST` (the `-ro` Service, or the
       * `-ro` pooler when pooling is on). The replicas are the standbys: `instances` - 1.
       */
      readReplicas: z.strictObject({ enabled: z.boolean() }),
      /**
       * Connection pooling: a CloudNativePG `Pooler` (PgBouncer) `bitpin-cluster-pooler-rw` in front
       * of `-rw`, and `bitpin-cluster-pooler-ro` in front of `-ro` when read replicas are on; the
       * app reaches the database only through them. Sizes are PgBouncer's, per PgBouncer pod.
       */
      pooler: z.strictObject({
        enabled: z.boolean(),
        /** PgBouncer pods behind each pooler Service (stateless; two survive a node drain). */
        instances: z.number().int().min(1).max(10),
        /**
         * `session`: a server connection per client connection (any Django settings work);
         * `transaction`: per transaction (needs `DISABLE_SERVER_SIDE_CURSORS: True` and no
         * session state). See libs/database/README.md.
         */
        poolMode: z.enum(['session', 'transaction']),
        /** `default_pool_size`: server connections per database/user pair, per PgBouncer pod. */
        defaultPoolSize: z.number().int().min(1).max(1000),
        /** `min_pool_size`: server connections kept open even when idle. */
        minPoolSize: z.number().int().min(0).max(1000),
        /** `reserve_pool_size`: extra server connections when a client waited `reserve_pool_timeout`. */
        reservePoolSize: z.number().int().min(0).max(1000),
        /** `max_client_conn`: client connections one PgBouncer pod accepts. */
        maxClientConn: z.number().int().min(10).max(100_000),
        /** `query_wait_timeout` in seconds: a client waiting longer for a server connection is disconnected. */
        queryWaitTimeoutSeconds: z.number().int().min(1).max(3600),
        resources: resourcesSchema,
      }),
    }),

    /**
     * The Redis cache of the Django app (libs/cache): Deployment `bitpin-redis` with the
     * redis_exporter sidecar; the app gets `REDIS_URL` when it is on.
     */
    cache: z.strictObject({
      enabled: z.boolean(),
      /** Redis `maxmemory` as a memory quantity (`192Mi`): above it Redis evicts by `maxmemoryPolicy`. */
      maxmemory: memory,
      /** What Redis evicts at `maxmemory`; `noeviction` refuses writes instead (never for a cache). */
      maxmemoryPolicy: z.enum(REDIS_EVICTION_POLICIES),
      /** RDB snapshots on a PersistentVolumeClaim, so a restarted cache starts warm; off: nothing is written to disk. */
      persistence: z.strictObject({ enabled: z.boolean(), storageSize: storage, storageClass }),
      resources: resourcesSchema,
      exporterResources: resourcesSchema,
    }),

    backup: z.strictObject({
      timeZone: z.string().min(1),
      storageSize: storage,
      storageClass,
      resources: resourcesSchema,
      full: z.strictObject({ schedule: cron, keep: z.number().int().min(1).max(90) }),
      incremental: z.strictObject({ schedule: cron }),
      /** Days of backups kept; the newest good backup is never deleted. */
      retentionDays: z.number().int().min(1).max(400),
      /** Share of the backup volume in use above which a run warns. */
      volumeWarnRatio: z.number().min(0.5).max(0.99),
      /**
       * The encrypted off-site copy (libs/backup offsite.sh): every published full backup and WAL
       * file copied to S3-compatible object storage by CronJob `bitpin-offsite-backup`, encrypted
       * before upload (rclone crypt). Keys (`access-key-id`, `secret-access-key`, `password`,
       * `salt`) come from Secret `secretName` (an ExternalSecret where externalSecrets is on).
       */
      offsite: z.strictObject({
        enabled: z.boolean(),
        /** `https://host[:port]` of the store. */
        endpoint: z
          .string()
          .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, { error: 'must be an http(s) URL of the S3 endpoint such as "https://s3.eu-central-1.example.com" (no path)' })
          .optional(),
        bucket: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name (3-63 characters: a-z, 0-9, ".", "-")' })
          .optional(),
        /** Path inside the bucket, so several envs can share one. */
        prefix: z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,200}$/, { error: 'must be a path such as "bitpin/prod" (a-z, 0-9, ".", "_", "-", "/")' }),
        region: z.string().min(1),
        /** rclone's s3 provider (`Other` speaks plain S3; `AWS`, `Ceph`, `SeaweedFS`, ...). */
        provider: z.string().regex(/^[A-Za-z0-9]+$/),
        schedule: cron,
        /** Full backups kept off-site (with the WAL from the oldest one's start). */
        keepFull: z.number().int().min(1).max(400),
        /** Secret with access-key-id, secret-access-key, password, salt. */
        secretName: dnsLabel,
        /** The store's addresses and ports: the only egress the off-site Pods get (NetworkPolicy). */
        egress: z.strictObject({ cidrs: z.array(cidr), ports: z.array(port).min(1) }),
      }),
      /**
       * Continuous WAL streaming (libs/backup wal-receiver.sh, Deployment `bitpin-wal-receiver`):
       * the archive is seconds behind the primary instead of up to one incremental run.
       */
      walReceiver: z.strictObject({
        enabled: z.boolean(),
        /**
         * Synchronous mode, through the CloudNativePG Cluster's `postgresql.synchronous`
         * (synchronous_standby_names): `off` — commits never wait for the receiver (it is seconds
         * behind at worst); `strict` — `FIRST 1 (receiver)`: a commit is acknowledged only once the
         * receiver has it on the backup volume, and while the receiver is down writes wait;
         * `fallback` — `FIRST 1 (receiver, standbys)`: the receiver while it is connected, else a
         * standby instance, so writes wait only when both are down.
         */
        synchronous: z.enum(['off', 'strict', 'fallback']),
        /** Seconds behind the primary before BackupWALReceiverLagging fires (after 5 minutes). */
        lagAlertSeconds: z.number().int().min(5).max(3_600),
      }),
    }),

    monitoring: z.strictObject({
      prometheus: z.strictObject({
        scrapeInterval: duration,
        evaluationInterval: duration,
        retentionTime: duration,
        retentionSize: byteSize,
        storageSize: storage,
        storageClass,
        resources: resourcesSchema,
      }),
      alertmanager: z.strictObject({
        /** Replicas gossiping silences and notification state; more than one gets a PodDisruptionBudget. */
        replicas: z.number().int().min(1).max(5),
        storageSize: storage,
        resources: resourcesSchema,
        /** Secret (created by the operator, never in the repo) holding the receivers' config. */
        receiversSecret: dnsLabel,
        /**
         * When the receivers Secret is missing, let the deployer create it with receivers that send
         * nowhere, so Alertmanager starts (envs nobody is paged from: local, dev). Never in staging/prod.
         */
        placeholderReceivers: z.boolean(),
      }),
      grafana: z.strictObject({ port, storageSize: storage, resources: resourcesSchema }),
      nodeExporter: z.strictObject({ port, resources: resourcesSchema }),
      kubeStateMetrics: z.strictObject({ resources: resourcesSchema }),
    }),

    logging: z.strictObject({
      /**
       * The log store: `loki` (the seed's; rendered only, AGPL) or `victorialogs` (Apache-2.0,
       * accepts Loki's push API at /insert/loki/api/v1/push, queried with LogsQL).
       */
      backend: z.enum(['loki', 'victorialogs']),
      /** The DaemonSet tailing /var/log/pods: Promtail and Alloy push to either store; vlagent only to VictoriaLogs. */
      agent: z.enum(['promtail', 'alloy', 'vlagent']),
      loki: z.strictObject({
        port,
        storageSize: storage,
        storageClass,
        retentionPeriod: duration,
        resources: resourcesSchema,
      }),
      /** Used when `backend` is `victorialogs`: StatefulSet `victorialogs` on :9428 with a PVC. */
      victorialogs: z.strictObject({
        port,
        storageSize: storage,
        storageClass,
        /** `-retentionPeriod`: whole hours, days, weeks or years (`31d`, `4w`, `1y`); at least 1d. */
        retentionPeriod: z.string().regex(VICTORIALOGS_RETENTION_PATTERN, { error: 'must be a VictoriaLogs retention such as "31d", "4w", "1y" or "744h"' }),
        /** `-retention.maxDiskSpaceUsageBytes`: oldest days are dropped above it (`40GiB`, `45GB`); at most 90% of storageSize. */
        maxDiskSpaceUsage: z.string().regex(VICTORIALOGS_BYTES_PATTERN, { error: 'must be a size such as "40GiB" or "45GB" (KB, MB, GB, TB, KiB, MiB, GiB, TiB)' }),
        resources: resourcesSchema,
      }),
      agentResources: resourcesSchema,
      grafana: z.strictObject({
        /** A dedicated logging Grafana (the seed's) instead of folding Loki into the monitoring Grafana. */
        separate: z.boolean(),
        port,
        nodePort,
        resources: resourcesSchema,
      }),
    }),

    features: z.strictObject({
      /**
       * NetworkPolicies: every platform namespace denies all traffic both ways, then each library
       * allows exactly the flows of the seed. The peers outside the platform are named here.
       */
      networkPolicies: z.strictObject({
        enabled: z.boolean(),
        /**
         * The cluster's own address ranges. CNIs that match ipBlocks against pod IPs (Calico,
         * Cilium, …) would let a block that means "outside" (the receivers, a wide API server or
         * node block) reach pods too, so every such ipBlock carries `except` for these ranges.
         */
        cluster: z.strictObject({
          /** Pod addresses: kube-controller-manager `--cluster-cidr`, the CNI's IP pools. */
          podCidrs: z.array(cidr).min(1),
          /** ClusterIP addresses: kube-apiserver `--service-cluster-ip-range`. */
          serviceCidrs: z.array(cidr).min(1),
          /** Node addresses: Prometheus scrapes the kubelets (10250) and node-exporter (host network) here. */
          nodeCidrs: z.array(cidr).min(1),
        }),
        /** Where the Kubernetes API server answers (CloudNativePG instances, Prometheus and the log agent call it). */
        apiServer: z.strictObject({ cidrs: z.array(cidr).min(1), ports: z.array(port).min(1) }),
        /** The cluster DNS pods every pod may query on port 53. */
        dns: z.strictObject({ namespace: dnsLabel, podLabels: z.record(z.string(), z.string()) }),
        /** Namespace of the CloudNativePG operator, which calls every instance (status port 8000, PostgreSQL 5432). */
        cnpgOperatorNamespace: dnsLabel,
        /** Where Alertmanager may send notifications (receivers outside the cluster: the pod, service and node ranges are excepted). */
        alertReceivers: z.strictObject({ cidrs: z.array(cidr).min(1), ports: z.array(port).min(1) }),
        /**
         * Explicit exceptions: `apiServer` / `nodeCidrs` → why that address block may be wide
         * (shorter than /8, e.g. `0.0.0.0/0`). Without one, an env with network policies on refuses it.
         */
        allowWide: z.partialRecord(z.enum(WIDE_ALLOWABLE), z.string().min(10, { error: 'give the reason (≥ 10 chars)' })),
      }),
      podSecurityLevel: z.enum(['privileged', 'baseline', 'restricted']),
      /**
       * A ResourceQuota and a LimitRange per platform namespace, sized from the env's own workloads
       * at their peak (HPA maximum + rollout surge, every CronJob running, one agent per node)
       * times `headroom`; anything else that lands in the namespace gets the LimitRange's defaults.
       */
      resourceQuotas: z.strictObject({
        enabled: z.boolean(),
        /** Nodes a DaemonSet may run on: its share of the quota is one pod per node. */
        maxNodes: z.number().int().min(1).max(5000),
        /** Room above the platform's own peak, e.g. 1.25 = 25 % for debugging pods and one-off Jobs. */
        headroom: z.number().min(1).max(4),
      }),
      ingress: z.strictObject({
        /** Ingress + TLS in front of bitpin-app-svc instead of NodePort 30505. */
        enabled: z.boolean(),
        className: dnsLabel,
        /** Namespace of the ingress controller: with network policies on, only it reaches the app. */
        controllerNamespace: dnsLabel,
        host: z.string().regex(/^[a-z0-9.-]+$/).optional(),
        tlsSecretName: dnsLabel.optional(),
        clusterIssuer: dnsLabel.optional(),
      }),
      /**
       * ExternalSecret objects (external-secrets.io/v1) instead of Secrets created by hand or
       * generated by the deployer: the backup role's credentials, Alertmanager's receivers and the
       * Grafana admins come from the store, at `<remoteKeyPrefix>/<env>/<namespace>/<secret>`.
       */
      externalSecrets: z.strictObject({
        enabled: z.boolean(),
        secretStore: dnsLabel.optional(),
        storeKind: z.enum(['ClusterSecretStore', 'SecretStore']),
        /** A Go duration (the operator parses it with time.ParseDuration): `1h`, `30m`, `1h30m`. */
        refreshInterval: z.string().regex(/^(\d+(h|m|s))+$/, { error: 'must be a Go duration such as "1h", "30m" or "1h30m" (no d/w/y)' }),
        remoteKeyPrefix: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { error: 'must be a path such as "bitpin" or "kv/bitpin"' }),
      }),
    }),
  })
  .superRefine((env, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

    // Images: prod-like envs refuse content that is not pinned unless the env says why.
    if (env.imagePolicy.requireImmutable) {
      for (const key of IMAGE_KEYS) {
        const ref = env.images[key];
        if (isMutableImageRef(ref) && !env.imagePolicy.allowMutable[key]) {
          issue(
            ['images', key],
            `"${ref}" is a mutable tag; pin a digest (repo@sha256:…) or an immutable version tag, or add imagePolicy.allowMutable.${key} with the reason`,
          );
        }
      }
    }

    const a = env.app.autoscaling;
    if (a.maxReplicas < a.minReplicas) {
      issue(['app', 'autoscaling', 'maxReplicas'], `must be ≥ minReplicas (${a.minReplicas}), got ${a.maxReplicas}`);
    }
    if (a.enabled && env.app.replicas < a.minReplicas) {
      issue(['app', 'replicas'], `must be ≥ autoscaling.minReplicas (${a.minReplicas}) when autoscaling is enabled`);
    }

    if (env.app.service.nodePort === env.logging.grafana.nodePort) {
      issue(['logging', 'grafana', 'nodePort'], `clashes with app.service.nodePort ${env.app.service.nodePort}`);
    }

    const ing = env.features.ingress;
    if (ing.enabled && !ing.host) issue(['features', 'ingress', 'host'], 'is required when features.ingress.enabled is true');
    if (ing.enabled && !ing.tlsSecretName) {
      issue(['features', 'ingress', 'tlsSecretName'], 'is required when features.ingress.enabled is true (TLS is not optional)');
    }
    const es = env.features.externalSecrets;
    if (es.enabled && !es.secretStore) {
      issue(['features', 'externalSecrets', 'secretStore'], 'is required when features.externalSecrets.enabled is true');
    }

    checkNetworkAddresses(env.features.networkPolicies, issue);
    checkBackupOffsite(env, issue);

    // Prometheus deletes blocks past retentionSize, but the WAL and the compaction being written
    // sit on the same volume: keep a tenth of it free (Prometheus sizes are powers of 2, like Gi).
    const prom = env.monitoring.prometheus;
    const retentionBytes = parsePrometheusByteSize(prom.retentionSize);
    const volumeBytes = parseQuantity(prom.storageSize);
    if (retentionBytes !== undefined && volumeBytes !== undefined && retentionBytes > 0.9 * volumeBytes) {
      issue(
        ['monitoring', 'prometheus', 'retentionSize'],
        `${prom.retentionSize} leaves no headroom on the ${prom.storageSize} volume; use at most 90% of monitoring.prometheus.storageSize`,
      );
    }

    const retention = parseDuration(env.logging.loki.retentionPeriod) ?? 0;
    if (retention < 24 * 3600) issue(['logging', 'loki', 'retentionPeriod'], 'must be at least 24h (Loki compactor minimum)');

    // vlagent speaks VictoriaLogs' native protocol only; Promtail and Alloy push Loki's API, which both stores accept.
    if (env.logging.agent === 'vlagent' && env.logging.backend !== 'victorialogs') {
      issue(['logging', 'agent'], `vlagent sends only to VictoriaLogs, but logging.backend is ${env.logging.backend}; set logging.backend: victorialogs or logging.agent: promtail | alloy`);
    }
    if (env.logging.backend === 'victorialogs' && !env.logging.grafana.separate) {
      issue(['logging', 'grafana', 'separate'], 'must be true with logging.backend: victorialogs (only the logging Grafana carries the VictoriaLogs data source plugin); set logging.grafana.separate: true or logging.backend: loki');
    }
    const vl = env.logging.victorialogs;
    const vlRetention = parseVictoriaLogsRetention(vl.retentionPeriod);
    if (vlRetention !== undefined && vlRetention < 24 * 3600) issue(['logging', 'victorialogs', 'retentionPeriod'], `${vl.retentionPeriod} is below 1d (VictoriaLogs keeps whole days)`);
    const vlBytes = parseVictoriaLogsBytes(vl.maxDiskSpaceUsage);
    const vlVolume = parseQuantity(vl.storageSize);
    if (vlBytes !== undefined && vlVolume !== undefined && vlBytes > 0.9 * vlVolume) {
      issue(['logging', 'victorialogs', 'maxDiskSpaceUsage'], `${vl.maxDiskSpaceUsage} leaves no headroom on the ${vl.storageSize} volume; use at most 90% of logging.victorialogs.storageSize`);
    }

    // Redis needs room above maxmemory (allocator fragmentation, client buffers, replication of
    // nothing but still the output buffers), and an RDB snapshot forks: copy-on-write can touch up
    // to the whole dataset again while the child writes it.
    const cache = env.cache;
    const maxmemory = parseQuantity(cache.maxmemory);
    const cacheLimit = parseQuantity(cache.resources.limits.memory);
    const share = cache.persistence.enabled ? 0.5 : 0.75;
    if (maxmemory !== undefined && cacheLimit !== undefined && maxmemory > share * cacheLimit) {
      issue(
        ['cache', 'maxmemory'],
        `${cache.maxmemory} leaves Redis no headroom under its ${cache.resources.limits.memory} memory limit; use at most ${share * 100}% of cache.resources.limits.memory${cache.persistence.enabled ? ' (persistence on: the snapshot fork may copy the whole dataset)' : ''}`,
      );
    }
    if (cache.maxmemoryPolicy === 'noeviction') {
      issue(['cache', 'maxmemoryPolicy'], 'noeviction makes a full cache refuse writes (Django would see errors); use allkeys-lru (the default) or another evicting policy');
    }

    // The poolers' server connections must fit under max_connections with room for what connects
    // directly (the backup jobs' replication, the operator, an operator's psql): at most 80 %.
    const dbc = env.database;
    const pool = dbc.pooler;
    if (pool.minPoolSize > pool.defaultPoolSize) {
      issue(['database', 'pooler', 'minPoolSize'], `${pool.minPoolSize} is above database.pooler.defaultPoolSize (${pool.defaultPoolSize}); lower it`);
    }
    const poolerServerConns = pool.instances * (pool.defaultPoolSize + pool.reservePoolSize);
    if (pool.enabled && poolerServerConns > 0.8 * dbc.maxConnections) {
      issue(
        ['database', 'pooler', 'defaultPoolSize'],
        `the rw pooler may open ${poolerServerConns} server connections (instances ${pool.instances} × (defaultPoolSize ${pool.defaultPoolSize} + reservePoolSize ${pool.reservePoolSize})), over 80% of database.maxConnections (${dbc.maxConnections}); lower them or raise database.maxConnections`,
      );
    }
    if (dbc.readReplicas.enabled && dbc.instances < 2) {
      issue(['database', 'readReplicas', 'enabled'], `needs a replica to read from, but database.instances is ${dbc.instances}; set database.instances to 2 or more, or turn read replicas off`);
    }

    // Slots may hold back at most max_slot_wal_keep_size of WAL, on the volume that holds pg_wal:
    // above half of it, a lagging slot (the backup's, a standby's) fills the disk before it is cut.
    const db = env.database;
    const walVolume = parseQuantity(db.walStorageSize ?? db.storageSize);
    const slotKeep = parsePrometheusByteSize(db.maxSlotWalKeepSize);
    if (walVolume !== undefined && slotKeep !== undefined && slotKeep > 0.5 * walVolume) {
      issue(
        ['database', 'maxSlotWalKeepSize'],
        `${db.maxSlotWalKeepSize} is over half of the ${db.walStorageSize ?? db.storageSize} volume that holds the WAL (database.${db.walStorageSize ? 'walStorageSize' : 'storageSize'}); lower it or give the WAL its own, larger volume (database.walStorageSize)`,
      );
    }
  });

export type EnvConfig = z.infer<typeof envConfigSchema>;

type NetworkConfig = EnvConfig['features']['networkPolicies'];

/**
 * The network ranges hold together: pods, ClusterIPs and nodes are distinct ranges; the API
 * server, the nodes and the receivers are not inside the pod or service ranges (NetworkPolicy
 * could not tell them apart); and with policies on, a wide API server or node block needs the
 * env's reason (`allowWide`), which is refused when nothing is wide.
 */
/** The off-site copy, when on, names its store, and the NetworkPolicy can reach exactly it. */
function checkBackupOffsite(env: EnvConfig, issue: (path: (string | number)[], message: string) => void): void {
  const o = env.backup.offsite;
  const at = (...p: string[]) => ['backup', 'offsite', ...p];
  if (!o.enabled) return;
  if (!o.endpoint) issue(at('endpoint'), 'is required when backup.offsite.enabled is true: the S3 endpoint, e.g. "https://s3.eu-central-1.example.com"');
  if (!o.bucket) issue(at('bucket'), 'is required when backup.offsite.enabled is true: the bucket the encrypted copy goes to');
  if (env.features.networkPolicies.enabled) {
    if (o.egress.cidrs.length === 0) {
      issue(at('egress', 'cidrs'), "is empty but network policies are on: give the object store's addresses (e.g. its /32s), the only egress the off-site Pods get");
    }
    const m = o.endpoint ? /^(https?):\/\/[^/:]+(?::(\d+))?/.exec(o.endpoint) : null;
    const endpointPort = m ? Number(m[2] ?? (m[1] === 'https' ? 443 : 80)) : undefined;
    if (endpointPort !== undefined && !o.egress.ports.includes(endpointPort)) {
      issue(at('egress', 'ports'), `(${o.egress.ports.join(', ')}) must include the endpoint's port ${endpointPort} (${o.endpoint}), or the NetworkPolicy blocks every upload`);
    }
  }
}

function checkNetworkAddresses(net: NetworkConfig, issue: (path: (string | number)[], message: string) => void): void {
  const at = (...p: (string | number)[]) => ['features', 'networkPolicies', ...p];
  // Malformed blocks are reported by their own schema; nothing to compare them with.
  const all = [...net.cluster.podCidrs, ...net.cluster.serviceCidrs, ...net.cluster.nodeCidrs, ...net.apiServer.cidrs, ...net.alertReceivers.cidrs];
  if (!all.every(isIpv4Cidr)) return;
  const ranges = [
    ...net.cluster.podCidrs.map((cidr, i) => ({ cidr, what: 'pod range', path: `cluster.podCidrs.${i}` })),
    ...net.cluster.serviceCidrs.map((cidr, i) => ({ cidr, what: 'service (ClusterIP) range', path: `cluster.serviceCidrs.${i}` })),
  ];
  net.cluster.serviceCidrs.forEach((svc, j) => {
    for (const [i, pod] of net.cluster.podCidrs.entries()) {
      if (cidrsOverlap(svc, pod)) {
        issue(at('cluster', 'serviceCidrs', j), `${svc} overlaps the pod range ${pod} (cluster.podCidrs.${i}); give the cluster's own ranges (--service-cluster-ip-range, --cluster-cidr), which never overlap`);
      }
    }
  });
  const notInside = (cidrs: readonly string[], path: string[], what: string) =>
    cidrs.forEach((cidr, i) => {
      const r = ranges.find((x) => cidrContains(x.cidr, cidr));
      if (r) issue(at(...path, i), `${cidr} lies inside the ${r.what} ${r.cidr} (${r.path}): a NetworkPolicy cannot tell ${what} from those addresses; give addresses outside it`);
    });
  notInside(net.cluster.nodeCidrs, ['cluster', 'nodeCidrs'], 'the nodes');
  notInside(net.apiServer.cidrs, ['apiServer', 'cidrs'], 'the API server');
  notInside(net.alertReceivers.cidrs, ['alertReceivers', 'cidrs'], 'the alert receivers');
  net.alertReceivers.cidrs.forEach((cidr, i) => {
    const node = net.cluster.nodeCidrs.find((n) => !isWideCidr(n) && cidrContains(n, cidr));
    if (node) issue(at('alertReceivers', 'cidrs', i), `${cidr} lies inside the node range ${node}: receivers are outside the cluster; give their own addresses`);
  });

  if (!net.enabled) return;
  const wide = {
    apiServer: { cidrs: net.apiServer.cidrs, path: ['apiServer', 'cidrs'], fix: "the API server's addresses (the control-plane nodes' /32s, or the managed endpoint)", reach: `any machine on ${net.apiServer.ports.join(', ')}` },
    nodeCidrs: { cidrs: net.cluster.nodeCidrs, path: ['cluster', 'nodeCidrs'], fix: "the nodes' subnets", reach: 'any machine on the kubelet and node-exporter ports' },
  } as const;
  for (const key of WIDE_ALLOWABLE) {
    const w = wide[key];
    const i = w.cidrs.findIndex(isWideCidr);
    if (i >= 0 && !net.allowWide[key]) {
      issue(at(...w.path, i), `${w.cidrs[i]} is wider than /${WIDE_PREFIX_BELOW}: the policies would let pods reach ${w.reach}, not only the ${key === 'apiServer' ? 'API server' : 'nodes'}; give ${w.fix}, or add features.networkPolicies.allowWide.${key} with the reason`);
    }
    if (i < 0 && net.allowWide[key]) {
      issue(at('allowWide', key), `is not needed: ${w.path.join('.')} has no block wider than /${WIDE_PREFIX_BELOW}; remove it`);
    }
  }
}
export type EnvConfigInput = z.input<typeof envConfigSchema>;
