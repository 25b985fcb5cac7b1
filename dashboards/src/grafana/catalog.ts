/**
 * The platform's dashboards: uid, title and file name of each. The uids are a contract: Grafana
 * upserts provisioned dashboards by uid, bookmarks and links use `/d/<uid>`, so renaming one is a
 * breaking change.
 */
export const DASHBOARDS = {
  app: { uid: 'bitpin-app', title: 'Bitpin / Exchange app' },
  postgres: { uid: 'bitpin-postgres', title: 'Bitpin / PostgreSQL (CloudNativePG)' },
  backups: { uid: 'bitpin-backups', title: 'Bitpin / Backups' },
  workloads: { uid: 'bitpin-workloads', title: 'Bitpin / Kubernetes workloads' },
  nodes: { uid: 'bitpin-nodes', title: 'Bitpin / Nodes (USE method)' },
  logs: { uid: 'bitpin-logs', title: 'Bitpin / Logs' },
  alerts: { uid: 'bitpin-alerts', title: 'Bitpin / Alerts overview' },
} as const satisfies Record<string, { uid: string; title: string }>;

export type DashboardKey = keyof typeof DASHBOARDS;

/** Tag on every platform dashboard; the "Bitpin dashboards" dropdown link lists dashboards by it. */
export const PLATFORM_TAG = 'bitpin';

/** File name under Grafana's provisioning path: `<uid>.json`. */
export const dashboardFileName = (key: DashboardKey): string => `${DASHBOARDS[key].uid}.json`;
