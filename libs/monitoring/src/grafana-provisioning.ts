import { SEED, type EnvConfig } from '@bitpin/config';
import { MONITORING, serviceHost } from './names.js';

/*
 * Grafana file provisioning (grafana docs: administration/provisioning): one data sources file and
 * one dashboard provider file, both read at start-up from /etc/grafana/provisioning. Data sources
 * have fixed uids (`SEED.grafana.datasources`), which is what the dashboards reference.
 */

export interface GrafanaDatasource {
  readonly name: string;
  readonly type: string;
  readonly uid: string;
  readonly access: 'proxy';
  readonly url: string;
  readonly isDefault: boolean;
  readonly editable: boolean;
  readonly version: number;
  readonly jsonData: Record<string, unknown>;
}

export interface GrafanaDatasourcesFile {
  readonly apiVersion: 1;
  /** Removes provisioned data sources that are no longer in this file (Grafana ≥ 11.1). */
  readonly prune: boolean;
  readonly datasources: readonly GrafanaDatasource[];
}

export interface GrafanaDashboardProvider {
  readonly name: string;
  readonly orgId: number;
  readonly folder: string;
  readonly folderUid: string;
  readonly type: 'file';
  readonly disableDeletion: boolean;
  readonly allowUiUpdates: boolean;
  readonly updateIntervalSeconds: number;
  readonly options: { readonly path: string; readonly foldersFromFilesStructure: boolean };
}

export interface GrafanaDashboardProvidersFile {
  readonly apiVersion: 1;
  readonly providers: readonly GrafanaDashboardProvider[];
}

/** The URLs Grafana reaches its data sources on (in-cluster Service DNS names). */
export function datasourceUrls(env: EnvConfig): { prometheus: string; loki: string; alertmanager: string } {
  const m = MONITORING;
  return {
    prometheus: `http://${serviceHost(m.prometheus.name, m.namespace)}:${m.prometheus.port}`,
    loki: `http://${serviceHost(SEED.logging.loki.name, SEED.namespaces.logging)}:${env.logging.loki.port}`,
    alertmanager: `http://${serviceHost(m.alertmanager.name, m.namespace)}:${m.alertmanager.port}`,
  };
}

/**
 * Prometheus (default), Loki and Alertmanager, with the fixed uids. Loki is always there: the
 * seed gives the monitoring Grafana both, and when the env runs no separate logging Grafana
 * (`logging.grafana.separate: false`) this one is where logs are read.
 */
export function grafanaDatasources(env: EnvConfig): GrafanaDatasourcesFile {
  const ds = SEED.grafana.datasources;
  const urls = datasourceUrls(env);
  const common = { access: 'proxy', editable: false, version: 1 } as const;
  return {
    apiVersion: 1,
    prune: true,
    datasources: [
      {
        ...common,
        name: ds.prometheus.name,
        type: ds.prometheus.type,
        uid: ds.prometheus.uid,
        url: urls.prometheus,
        isDefault: true,
        jsonData: {
          httpMethod: 'POST',
          // $__rate_interval needs to know the scrape interval.
          timeInterval: env.monitoring.prometheus.scrapeInterval,
          alertmanagerUid: ds.alertmanager.uid,
        },
      },
      {
        ...common,
        name: ds.loki.name,
        type: ds.loki.type,
        uid: ds.loki.uid,
        url: urls.loki,
        isDefault: false,
        jsonData: { maxLines: 1000, timeout: 60 },
      },
      {
        ...common,
        name: ds.alertmanager.name,
        type: ds.alertmanager.type,
        uid: ds.alertmanager.uid,
        url: urls.alertmanager,
        isDefault: false,
        // Plain Prometheus Alertmanager; Grafana's own alerting keeps its built-in one.
        jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
      },
    ],
  };
}

/**
 * One file provider: every dashboard JSON in /etc/grafana/dashboards, in the `Bitpin` folder,
 * read-only in the UI (the repo is the source; a dashboard's `uid` makes it an upsert).
 */
export function grafanaDashboardProviders(_env: EnvConfig): GrafanaDashboardProvidersFile {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'bitpin',
        orgId: 1,
        folder: SEED.grafana.folder,
        folderUid: SEED.grafana.folder.toLowerCase(),
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: MONITORING.grafana.dashboardsDir, foldersFromFilesStructure: false },
      },
    ],
  };
}
