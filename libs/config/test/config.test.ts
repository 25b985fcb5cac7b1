import { describe, expect, it } from 'vitest';
import {
  ENV_NAMES,
  cronProblem,
  isMutableImageRef,
  loadAllEnvConfigs,
  loadEnvConfig,
  parsePrometheusByteSize,
  parseQuantity,
  SEED,
  validateEnvConfig,
} from '../src/index.js';
import { errorOf } from './support/errors.js';


describe('environments', () => {
  it('knows local, dev, staging and prod, and every one validates', () => {
    expect(ENV_NAMES).toEqual(['local', 'dev', 'staging', 'prod']);
    expect(loadAllEnvConfigs().map((e) => e.name)).toEqual(['local', 'dev', 'staging', 'prod']);
  });

  it.each(ENV_NAMES)('%s keeps the seed facts', (name) => {
    const env = loadEnvConfig(name);
    expect(env.app.service).toEqual({ port: 80, nodePort: 30505 });
    expect(env.database.instances).toBe(2);
    expect(env.database.storageSize).toMatch(/^\d+Gi$/);
    expect(env.backup.full.schedule).toBe('0 2 * * *');
    expect(env.backup.incremental.schedule).toBe('*/15 * * * *');
    expect(env.backup.timeZone).toBe('Etc/UTC');
    expect(env.monitoring.prometheus.scrapeInterval).toBe('15s');
    expect(env.monitoring.grafana.port).toBe(3000);
    expect(env.monitoring.nodeExporter.port).toBe(9100);
    expect(env.logging.loki.port).toBe(3100);
    expect(env.logging.grafana).toMatchObject({ port: 80, nodePort: 30030 });
    expect(env.images.postgres).toBe('ghcr.io/cloudnative-pg/postgresql:15.3');
  });

  it('dev is the seed as written: one replica, 5Gi per database instance, the seed image', () => {
    const dev = loadEnvConfig('dev');
    expect(dev.app.replicas).toBe(1);
    expect(dev.database.storageSize).toBe('5Gi');
    expect(dev.images.app).toBe('docker.io/yasaman664/bitpin-task:latest');
    expect(dev.kube).toEqual({ context: 'bitpin-dev', embedded: false });
    expect(dev.logging.agent).toBe('promtail');
  });

  it('local runs on the embedded control plane, which the deployer starts on demand', () => {
    expect(loadEnvConfig('local').kube).toEqual({ context: 'bitpin-local', embedded: true });
  });

  it('prod turns the hardening switches on and deploys to its own context', () => {
    const prod = loadEnvConfig('prod');
    expect(prod.features).toMatchObject({ networkPolicies: { enabled: true }, podSecurityLevel: 'restricted', resourceQuotas: { enabled: true } });
    expect(prod.app.storage.persistent).toBe(true);
    expect(prod.kube.context).toBe('bitpin-prod');
    expect(prod.imagePolicy.requireImmutable).toBe(true);
    expect(prod.monitoring.alertmanager.replicas).toBe(2);
    expect(prod.monitoring.alertmanager.placeholderReceivers).toBe(false);
  });

  it('lets only local and dev start Alertmanager with placeholder receivers', () => {
    expect(loadAllEnvConfigs().filter((e) => e.monitoring.alertmanager.placeholderReceivers).map((e) => e.name)).toEqual(['local', 'dev']);
  });

  it('keeps Prometheus retentionSize within 90% of its volume in every env (sizes are powers of 2)', () => {
    expect(parsePrometheusByteSize('8GB')).toBe(8 * 2 ** 30);
    for (const env of loadAllEnvConfigs()) {
      const p = env.monitoring.prometheus;
      expect(parsePrometheusByteSize(p.retentionSize)!).toBeLessThanOrEqual(0.9 * parseQuantity(p.storageSize)!);
    }
  });

  it('command-line overrides apply on top of the env file', () => {
    const digest = `docker.io/yasaman664/bitpin-task@sha256:${'a'.repeat(64)}`;
    const prod = loadEnvConfig('prod', { overrides: { images: { app: digest } } });
    expect(prod.images.app).toBe(digest);
    expect(prod.images.postgres).toBe('ghcr.io/cloudnative-pg/postgresql:15.3');
  });
});

describe('config errors: one line each, naming env, path and fix', () => {
  it('fails on an unknown env and lists the known ones', () => {
    const e = errorOf(() => loadEnvConfig('prd'));
    expect(e.code).toBe('ENV_UNKNOWN');
    expect(e.message).toBe('unknown env "prd"; known envs: local, dev, staging, prod (add one in libs/config/src/envs/)');
  });

  it('fails on a wrong type', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { app: { replicas: 'two' as unknown as number } } }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/^config error: env "dev" at app\.replicas: .*expected number.*\(got "two"\); fix libs\/config\/src\/envs\/dev\.ts/);
  });

  it('fails on out-of-range values', () => {
    const e = errorOf(() =>
      loadEnvConfig('dev', { overrides: { app: { replicas: 0, service: { nodePort: 8080 } } } }),
    );
    expect(e.lines).toHaveLength(2);
    expect(e.lines[0]).toMatch(/env "dev" at app\.replicas: .*>=1.*\(got 0\)/);
    expect(e.lines[1]).toMatch(/env "dev" at app\.service\.nodePort: must be a NodePort in the default range 30000-32767 \(got 8080\)/);
    for (const line of e.lines) expect(line).not.toContain('\n');
  });

  it('fails on an unknown key instead of ignoring a typo', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { app: { replicaz: 3 } as never } }));
    expect(e.message).toMatch(/at app: unknown key "replicaz" \(typo\?\)/);
  });

  it('fails on a bad cron schedule, storage size, duration and quantity', () => {
    const e = errorOf(() =>
      loadEnvConfig('dev', {
        overrides: {
          backup: { full: { schedule: '0 25 * * *' } },
          database: { storageSize: '5GB' },
          monitoring: { prometheus: { retentionTime: 'forever' } },
          app: { resources: { requests: { cpu: 'lots' } } },
        },
      }),
    );
    const text = e.message;
    expect(text).toMatch(/backup\.full\.schedule: invalid cron schedule: hour value 25 is outside 0-23/);
    expect(text).toMatch(/database\.storageSize: must be a storage size in Mi, Gi or Ti/);
    expect(text).toMatch(/monitoring\.prometheus\.retentionTime: must be a duration/);
    expect(text).toMatch(/app\.resources\.requests\.cpu: must be a CPU quantity/);
  });

  it('fails when Prometheus retentionSize leaves no headroom on its volume', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { monitoring: { prometheus: { retentionSize: '5GB', storageSize: '5Gi' } } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(
      /at monitoring\.prometheus\.retentionSize: 5GB leaves no headroom on the 5Gi volume; use at most 90% of monitoring\.prometheus\.storageSize/,
    );
  });

  it('fails when replication slots may hold more WAL than half the volume that stores it', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { database: { maxSlotWalKeepSize: '4GB' } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/at database\.maxSlotWalKeepSize: 4GB is over half of the 5Gi volume that holds the WAL \(database\.storageSize\); lower it or give the WAL its own, larger volume/);
    // A separate WAL volume carries the budget.
    expect(loadEnvConfig('dev', { overrides: { database: { maxSlotWalKeepSize: '4GB', walStorageSize: '10Gi' } } }).database.walStorageSize).toBe('10Gi');
    // Every shipped env respects it (prod keeps WAL on its own 10Gi volume).
    expect(loadEnvConfig('prod').database).toMatchObject({ storageSize: '5Gi', walStorageSize: '10Gi', maxSlotWalKeepSize: '4GB' });
  });

  it('fails on network peers that are not IPv4 CIDRs and on refresh intervals the operator cannot parse', () => {
    const e = errorOf(() =>
      loadEnvConfig('prod', {
        overrides: {
          features: {
            networkPolicies: { cluster: { nodeCidrs: ['300.0.0.0/8'] }, apiServer: { cidrs: ['10.0.0.1'] } },
            externalSecrets: { refreshInterval: '1d' },
          },
        },
      }),
    );
    expect(e.lines.map((l) => l.replace(/^config error: env "prod" at ([^:]+):.*$/, '$1')).sort()).toEqual([
      'features.externalSecrets.refreshInterval',
      'features.networkPolicies.apiServer.cidrs.0',
      'features.networkPolicies.cluster.nodeCidrs.0',
    ]);
    expect(e.message).toMatch(/nodeCidrs\.0: has an octet above 255/);
    expect(e.message).toMatch(/refreshInterval: must be a Go duration/);
  });

  it('fails on an Alertmanager replica count outside 1-5', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { monitoring: { alertmanager: { replicas: 0 } } } }));
    expect(e.message).toMatch(/monitoring\.alertmanager\.replicas/);
  });

  it('fails when a memory limit is below its request', () => {
    const e = errorOf(() =>
      loadEnvConfig('dev', { overrides: { app: { resources: { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } } } } }),
    );
    expect(e.message).toMatch(/at app\.resources\.limits\.memory: limit 512Mi is below the request 1Gi/);
  });

  it('fails when prod is given a mutable image it has not explicitly allowed', () => {
    const e = errorOf(() => loadEnvConfig('prod', { overrides: { images: { grafana: 'docker.io/grafana/grafana:latest' } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(
      /env "prod" at images\.grafana: "docker\.io\/grafana\/grafana:latest" is a mutable tag; pin a digest .* or add imagePolicy\.allowMutable\.grafana with the reason/,
    );
  });

  it('fails when an env requires pinned images but keeps the seed app image without an exception', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { imagePolicy: { requireImmutable: true } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/at images\.app: "docker\.io\/yasaman664\/bitpin-task:latest" is a mutable tag/);
  });

  it('fails on cross-field mistakes: HPA bounds, NodePort clash, Ingress without host or TLS', () => {
    const e = errorOf(() =>
      loadEnvConfig('dev', {
        overrides: {
          app: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 2 } },
          logging: { grafana: { nodePort: 30505 } },
          features: { ingress: { enabled: true } },
        },
      }),
    );
    expect(e.message).toMatch(/app\.autoscaling\.maxReplicas: must be ≥ minReplicas \(3\), got 2/);
    expect(e.message).toMatch(/app\.replicas: must be ≥ autoscaling\.minReplicas \(3\)/);
    expect(e.message).toMatch(/logging\.grafana\.nodePort: clashes with app\.service\.nodePort 30505/);
    expect(e.message).toMatch(/features\.ingress\.host: is required/);
    expect(e.message).toMatch(/features\.ingress\.tlsSecretName: is required/);
  });

  it('logging: Promtail and Alloy push to either store; vlagent only to VictoriaLogs', () => {
    for (const backend of ['loki', 'victorialogs'] as const) {
      for (const agent of ['promtail', 'alloy'] as const) {
        expect(loadEnvConfig('dev', { overrides: { logging: { backend, agent } } }).logging).toMatchObject({ backend, agent });
      }
    }
    expect(loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } }).logging.agent).toBe('vlagent');
    expect(loadEnvConfig('dev').logging).toMatchObject({ backend: 'loki', agent: 'promtail', victorialogs: { port: 9428 } });
  });

  it('fails on vlagent with Loki, in one line saying what to set', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { logging: { agent: 'vlagent' } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/logging\.agent: vlagent sends only to VictoriaLogs, but logging\.backend is loki; set logging\.backend: victorialogs or logging\.agent: promtail \| alloy/);
  });

  it('fails on a VictoriaLogs retention below a day, in months, or a disk cap beyond 90% of the volume', () => {
    const at = (victorialogs: object) => errorOf(() => loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', victorialogs } } })).message;
    expect(at({ retentionPeriod: '12h' })).toMatch(/logging\.victorialogs\.retentionPeriod: 12h is below 1d/);
    expect(at({ retentionPeriod: '30m' })).toMatch(/logging\.victorialogs\.retentionPeriod: must be a VictoriaLogs retention/);
    expect(at({ maxDiskSpaceUsage: '40Gi' })).toMatch(/logging\.victorialogs\.maxDiskSpaceUsage: must be a size such as "40GiB"/);
    expect(at({ storageSize: '10Gi', maxDiskSpaceUsage: '9.5GiB' })).toMatch(/9\.5GiB leaves no headroom on the 10Gi volume/);
    expect(loadEnvConfig('dev', { overrides: { logging: { victorialogs: { storageSize: '10Gi', maxDiskSpaceUsage: '9GiB' } } } }).logging.victorialogs.maxDiskSpaceUsage).toBe('9GiB');
  });

  it('validateEnvConfig names the source to fix', () => {
    const e = errorOf(() => validateEnvConfig({}, { env: 'x', fixHint: 'somewhere.ts' }));
    expect(e.lines[0]).toMatch(/^config error: env "x" at name: .*; fix somewhere\.ts$/);
  });
});

describe('seed topology', () => {
  it('names the backup contract shared by backup, database and dashboards', () => {
    expect(SEED.backup).toEqual({
      fullCronJob: 'bitpin-full-backup',
      incrementalCronJob: 'bitpin-incremental-backup',
      verifyCronJob: 'bitpin-backup-verify',
      offsiteCronJob: 'bitpin-offsite-backup',
      claimName: 'bitpin-backup',
      role: 'bitpin_backup',
      credentialsSecret: 'bitpin-backup-credentials',
      walSlot: 'bitpin_backup',
      walReceiver: { name: 'bitpin-wal-receiver', slot: 'bitpin_wal_receiver', applicationName: 'bitpin_wal_receiver', metricsPort: 9188 },
    });
    // PostgreSQL identifiers used unquoted in pg_hba and SQL: lower-case, no dashes.
    expect(SEED.backup.role).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(SEED.backup.walSlot).toMatch(/^[a-z0-9_]+$/);
    // synchronous_standby_names lists the receiver unquoted by CloudNativePG's rules too.
    expect(SEED.backup.walReceiver.applicationName).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(SEED.backup.walReceiver.slot).toMatch(/^[a-z0-9_]+$/);
  });

  it('streams WAL in every env; prod acknowledges commits once the receiver (or, without it, the standby) has them', () => {
    for (const name of ENV_NAMES) expect(loadEnvConfig(name).backup.walReceiver.enabled).toBe(true);
    expect(loadEnvConfig('dev').backup.walReceiver.synchronous).toBe('off');
    expect(loadEnvConfig('prod').backup.walReceiver.synchronous).toBe('fallback');
    const e = errorOf(() => validateEnvConfig({ ...loadEnvConfig('dev'), backup: { ...loadEnvConfig('dev').backup, walReceiver: { enabled: true, synchronous: 'always', lagAlertSeconds: 60 } } }, { env: 'dev', fixHint: 'x.ts' }));
    expect(e.lines.join('\n')).toMatch(/backup\.walReceiver\.synchronous/);
  });
});

describe('helpers', () => {
  it('parses quantities', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('5G')).toBe(5e9);
    expect(parseQuantity('abc')).toBeUndefined();
  });

  it('tells mutable image references from pinned ones', () => {
    expect(isMutableImageRef('docker.io/yasaman664/bitpin-task:latest')).toBe(true);
    expect(isMutableImageRef('docker.io/yasaman664/bitpin-task')).toBe(true);
    expect(isMutableImageRef('localhost:5000/app')).toBe(true);
    expect(isMutableImageRef('quay.io/prometheus/prometheus:v3.5.0')).toBe(false);
    expect(isMutableImageRef(`repo/app:latest@sha256:${'0'.repeat(64)}`)).toBe(false);
  });

  it('validates cron expressions like Kubernetes', () => {
    expect(cronProblem('*/15 * * * *')).toBeUndefined();
    expect(cronProblem('0 2 * * 1-5')).toBeUndefined();
    expect(cronProblem('@daily')).toBeUndefined();
    expect(cronProblem('0 2 * *')).toMatch(/expected 5 fields/);
    expect(cronProblem('TZ=UTC 0 2 * * *')).toMatch(/timeZone/);
    expect(cronProblem('*/0 * * * *')).toMatch(/step/);
  });
});
