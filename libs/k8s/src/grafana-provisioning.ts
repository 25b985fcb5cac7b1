import { SEED, type EnvConfig } from '@bitpin/config';
import type { GrafanaPluginImage } from './grafana.js';

/*
 * Grafana file provisioning (grafana docs: administration/provisioning): a data sources file and a
 * dashboard provider file, both read from /etc/grafana/provisioning at start-up. Data sources have
 * fixed uids (`SEED.grafana.datasources`), which is what the dashboards reference.
 */

/** A Grafana data source as the platform builds it (the provisioning file adds `orgId` and `version`). */
export interface GrafanaDatasource {
  readonly uid: string;
  readonly name: string;
  readonly type: string;
  readonly access: 'proxy';
  readonly url: string;
  readonly isDefault: boolean;
  readonly editable: boolean;
  readonly jsonData: Readonly<Record<string, unknown>>;
}

/** `provisioning/datasources/datasources.yaml`. */
export interface GrafanaDatasourcesFile {
  readonly apiVersion: 1;
  /** Removes provisioned data sources that are no longer in this file (Grafana ≥ 11.1). */
  readonly prune: boolean;
  readonly datasources: readonly (GrafanaDatasource & { readonly orgId: number; readonly version: number })[];
}

/** The provisioning file for the given data sources, all in the main org, pruning removed ones. */
export function grafanaDatasourcesFile(datasources: readonly GrafanaDatasource[]): GrafanaDatasourcesFile {
  return {
    apiVersion: 1,
    prune: true,
    datasources: datasources.map((d) => ({ ...d, orgId: 1, version: 1 })),
  };
}

/** A log store's in-cluster base URL: `<svc>.<ns>.svc` resolves whatever the cluster domain is. */
function logStoreUrl(name: string, port: number): string {
  return `http://${name}.${SEED.namespaces.logging}.svc:${port}`;
}

/** Loki's in-cluster query and push base URL (`http://loki.logging.svc:3100`). */
export function lokiUrl(env: Pick<EnvConfig, 'logging'>): string {
  return logStoreUrl(SEED.logging.loki.name, env.logging.loki.port);
}

/** VictoriaLogs' in-cluster base URL (`http://victorialogs.logging.svc:9428`). */
export function victoriaLogsUrl(env: Pick<EnvConfig, 'logging'>): string {
  return logStoreUrl(SEED.logging.victorialogs.name, env.logging.victorialogs.port);
}

export interface LogDatasourceOptions {
  /**
   * Make it the default data source (true in the logging Grafana, where it is the only one).
   * @default false
   */
  readonly isDefault?: boolean;
  /**
   * Where Grafana reaches the store.
   * @default - the store's Service in namespace `logging` ({@link lokiUrl}, {@link victoriaLogsUrl})
   */
  readonly url?: string;
}
export type LokiDatasourceOptions = LogDatasourceOptions;
export type VictoriaLogsDatasourceOptions = LogDatasourceOptions;

/** A read-only, proxied log data source from its SEED entry (uid, name, plugin type). */
function logDatasource(
  ds: { readonly uid: string; readonly name: string; readonly type: string },
  url: string,
  options: LogDatasourceOptions,
  jsonData: Record<string, unknown>,
): GrafanaDatasource {
  return { uid: ds.uid, name: ds.name, type: ds.type, access: 'proxy', url: options.url ?? url, isDefault: options.isDefault ?? false, editable: false, jsonData };
}

/**
 * The Loki data source (uid `loki`, the uid dashboards reference). Both Grafanas provision this
 * object: the logging Grafana as its only (default) one, the monitoring Grafana next to Prometheus.
 */
export function lokiDatasource(env: Pick<EnvConfig, 'logging'>, options: LokiDatasourceOptions = {}): GrafanaDatasource {
  return logDatasource(SEED.grafana.datasources.loki, lokiUrl(env), options, { maxLines: 1000, timeout: 60 });
}

/**
 * The VictoriaLogs data source (uid `victorialogs`, plugin `victoriametrics-logs-datasource`:
 * `SEED.grafana.datasources.victorialogs`). The Grafana provisioning it needs the plugin
 * ({@link PlatformGrafana.installPluginFromImage}).
 */
export function victoriaLogsDatasource(env: Pick<EnvConfig, 'logging'>, options: VictoriaLogsDatasourceOptions = {}): GrafanaDatasource {
  return logDatasource(SEED.grafana.datasources.victorialogs, victoriaLogsUrl(env), options, { maxLines: 1000 });
}

/** Where the plugin image (`images.grafanaVictoriaLogsPlugin`, libs/logging/grafana-plugin/Dockerfile) keeps the unpacked plugin. */
export const VICTORIALOGS_PLUGIN_IMAGE_DIR = '/plugins';

/**
 * The VictoriaLogs data source plugin from its pinned image, for
 * {@link PlatformGrafana.installPluginFromImage}: releases up to 0.14 are unsigned, so this id
 * (and only it) is admitted unsigned.
 */
export function victoriaLogsPlugin(env: Pick<EnvConfig, 'images'>): GrafanaPluginImage {
  return {
    image: env.images.grafanaVictoriaLogsPlugin,
    pluginId: SEED.grafana.datasources.victorialogs.type,
    imageDir: VICTORIALOGS_PLUGIN_IMAGE_DIR,
    unsigned: true,
    initContainerName: 'install-victorialogs-plugin',
  };
}

/** The log store's data source for the env (`logging.backend`): Loki's, or VictoriaLogs'. */
export function logStoreDatasource(env: Pick<EnvConfig, 'logging'>, options: { readonly isDefault?: boolean } = {}): GrafanaDatasource {
  return env.logging.backend === 'victorialogs' ? victoriaLogsDatasource(env, options) : lokiDatasource(env, options);
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

/** `provisioning/dashboards/providers.yaml`. */
export interface GrafanaDashboardProvidersFile {
  readonly apiVersion: 1;
  readonly providers: readonly GrafanaDashboardProvider[];
}

export interface GrafanaDashboardProvidersOptions {
  /** Directory the dashboard JSON files are mounted in. */
  readonly path: string;
  /**
   * Folder the dashboards appear in; its uid (and the provider's name) is the folder name in lower
   * case with anything but letters, digits, '-' and '_' replaced by '-'.
   * @default SEED.grafana.folder ('Bitpin')
   */
  readonly folder?: string;
}

/**
 * One file provider: every dashboard JSON in `path`, in one folder, read-only in the UI (the repo
 * is the source; a dashboard's `uid` makes it an upsert), re-read every 30 s.
 */
export function grafanaDashboardProviders(options: GrafanaDashboardProvidersOptions): GrafanaDashboardProvidersFile {
  const folder = options.folder ?? SEED.grafana.folder;
  const folderUid = folder.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  return {
    apiVersion: 1,
    providers: [
      {
        name: folderUid,
        orgId: 1,
        folder,
        folderUid,
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: options.path, foldersFromFilesStructure: false },
      },
    ],
  };
}
