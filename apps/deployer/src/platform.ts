import { AppChart } from '@bitpin/app';
import { BackupChart } from '@bitpin/backup';
import { CacheChart } from '@bitpin/cache';
import type { EnvConfig } from '@bitpin/config';
import { buildDashboards, buildRuleFiles } from '@bitpin/dashboards';
import { DatabaseChart } from '@bitpin/database';
import { NamespaceBudget, type PlatformChart } from '@bitpin/k8s';
import { LoggingChart } from '@bitpin/logging';
import { MonitoringChart } from '@bitpin/monitoring';
import { App, type Chart } from 'cdk8s';

/** One library's share of the platform: one chart, one file in the synthesized output. */
export interface PlatformPart {
  /** The output file's base name, e.g. `app` → `app.yaml`. */
  readonly file: string;
  readonly chart: Chart;
}

/**
 * The whole platform for one env, composed from the libraries. Libraries never import each
 * other; anything one needs from another is passed here: the backup role and its pg_hba rule go
 * into the database, the dashboards and rules into monitoring, every namespace's workloads into
 * its ResourceQuota.
 */
export function buildPlatform(env: EnvConfig): { app: App; parts: PlatformPart[] } {
  const app = new App();
  const backup = new BackupChart(app, 'backup', { env });
  const access = backup.backups.databaseAccess;
  const parts: PlatformPart[] = [
    { file: 'app', chart: new AppChart(app, 'app', { env }) },
    { file: 'database', chart: new DatabaseChart(app, 'database', { env, cluster: { roles: access.roles, pgHba: access.pgHba } }) },
    // The Redis cache only where the env runs one (cache.enabled): no empty cache.yaml elsewhere.
    ...(env.cache.enabled ? [{ file: 'cache', chart: new CacheChart(app, 'cache', { env }) }] : []),
    { file: 'backup', chart: backup },
    { file: 'monitoring', chart: new MonitoringChart(app, 'monitoring', { env, dashboards: buildDashboards(env), ruleFiles: buildRuleFiles(env) }) },
    { file: 'logging', chart: new LoggingChart(app, 'logging', { env }) },
  ];
  if (env.features.resourceQuotas.enabled) {
    // A namespace's budget is sized from every chart's workloads in it (bitpin-task holds the
    // app, the database and the backup jobs); it lives in the chart that creates the namespace.
    const all = parts.flatMap((p) => p.chart.toJson() as { kind: string; metadata: { name: string } }[]);
    for (const part of parts) {
      for (const ns of (part.chart.toJson() as typeof all).filter((o) => o.kind === 'Namespace')) {
        new NamespaceBudget(part.chart as PlatformChart, `Budget-${ns.metadata.name}`, { namespace: ns.metadata.name, objects: all });
      }
    }
  }
  return { app, parts };
}
