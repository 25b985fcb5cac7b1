import { SEED, type EnvConfig } from '@bitpin/config';
import type { GrafanaDatasource } from '@bitpin/k8s';
import { victoriaLogsUrl } from './victorialogs-config.js';

/** The VictoriaLogs data source plugin's id (Apache-2.0, VictoriaMetrics/victorialogs-datasource). */
export const VICTORIALOGS_PLUGIN_ID = SEED.grafana.datasources.victorialogs.type;
/** Where the plugin image keeps the unpacked plugin: `/plugins/victoriametrics-logs-datasource/`. */
export const VICTORIALOGS_PLUGIN_IMAGE_DIR = '/plugins';
/** Grafana's plugin directory in the pod (GF_PATHS_PLUGINS): an emptyDir the init container fills. */
export const GRAFANA_PLUGINS_DIR = '/var/lib/grafana-plugins';
/** The data source's fixed uid (dashboards reference it: `SEED.grafana.datasources.victorialogs`). */
export const VICTORIALOGS_DATASOURCE_UID = SEED.grafana.datasources.victorialogs.uid;

export interface VictoriaLogsDatasourceOptions {
  /** @default false */
  readonly isDefault?: boolean;
  /** @default - {@link victoriaLogsUrl} */
  readonly url?: string;
}

/** The VictoriaLogs data source (uid `victorialogs`, plugin {@link VICTORIALOGS_PLUGIN_ID}). */
export function victoriaLogsDatasource(env: Pick<EnvConfig, 'logging'>, options: VictoriaLogsDatasourceOptions = {}): GrafanaDatasource {
  return {
    uid: VICTORIALOGS_DATASOURCE_UID,
    name: SEED.grafana.datasources.victorialogs.name,
    type: VICTORIALOGS_PLUGIN_ID,
    access: 'proxy',
    url: options.url ?? victoriaLogsUrl(env),
    isDefault: options.isDefault ?? false,
    editable: false,
    jsonData: { maxLines: 1000 },
  };
}
