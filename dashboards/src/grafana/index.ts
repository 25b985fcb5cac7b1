import type { EnvConfig } from '@bitpin/config';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertsDashboard } from './alerts/index.js';
import { appDashboard } from './app/index.js';
import { backupsDashboard } from './backups/index.js';
import { dashboardFileName, DASHBOARDS, type DashboardKey } from './catalog.js';
import { logsDashboard } from './logs/index.js';
import { nodesDashboard } from './nodes/index.js';
import { postgresDashboard } from './postgres/index.js';
import { addRunbookLinks } from './runbooks.js';
import { workloadsDashboard } from './workloads/index.js';

/** One generated dashboard: what Grafana's file provisioning loads, and where. */
export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  /** File name in the provisioned dashboards directory, e.g. "bitpin-app.json". */
  readonly fileName: string;
  /** The dashboard JSON (classic schema, `schemaVersion` 42) that file provisioning loads. */
  readonly json: Record<string, unknown>;
}

const FACTORIES: Readonly<Record<DashboardKey, (env: EnvConfig) => DashboardBuilder>> = {
  app: appDashboard,
  postgres: postgresDashboard,
  backups: backupsDashboard,
  workloads: workloadsDashboard,
  nodes: nodesDashboard,
  logs: logsDashboard,
  alerts: alertsDashboard,
};

/**
 * Every platform dashboard for an env, in catalog order. `.build()` is called here and only here.
 *
 * The classic dashboard schema (the SDK's `dashboard` package, marked deprecated in favour of
 * `dashboardv2`) is chosen on purpose: Grafana 12's file provisioning loads it without feature
 * flags, while v2 dashboards need the kubernetesDashboards / dashboardNewLayouts toggles.
 */
export function buildDashboards(env: EnvConfig): GrafanaDashboard[] {
  return (Object.keys(DASHBOARDS) as DashboardKey[]).map((key) => {
    const json = FACTORIES[key](env).build() as unknown as Record<string, unknown>;
    // Stable panel ids in layout order (links to a panel, `viewPanel=<id>`, survive regeneration).
    (json['panels'] as Array<Record<string, unknown>>).forEach((p, i) => (p['id'] = i + 1));
    // Panel links to the runbooks of the alerts that watch each panel.
    addRunbookLinks(key, json, env);
    return { uid: DASHBOARDS[key].uid, title: DASHBOARDS[key].title, fileName: dashboardFileName(key), json };
  });
}
