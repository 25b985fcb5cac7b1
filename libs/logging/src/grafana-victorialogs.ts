import { SEED } from '@bitpin/config';

/*
 * The VictoriaLogs data source and its plugin live in libs/k8s (both Grafanas provision them with
 * `logging.backend: victorialogs`); re-exported here under this library's names.
 */
export {
  GRAFANA_PLUGINS_DIR,
  VICTORIALOGS_PLUGIN_IMAGE_DIR,
  victoriaLogsDatasource,
  victoriaLogsPlugin,
  type VictoriaLogsDatasourceOptions,
} from '@bitpin/k8s';

/** The VictoriaLogs data source plugin's id (Apache-2.0, VictoriaMetrics/victorialogs-datasource). */
export const VICTORIALOGS_PLUGIN_ID = SEED.grafana.datasources.victorialogs.type;
/** The data source's fixed uid (dashboards reference it: `SEED.grafana.datasources.victorialogs`). */
export const VICTORIALOGS_DATASOURCE_UID = SEED.grafana.datasources.victorialogs.uid;
