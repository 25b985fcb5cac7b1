import { SEED, type EnvConfig } from '@bitpin/config';
import { lokiUrl } from './loki-config.js';

/** A Grafana data source in the provisioning file format (`apiVersion: 1`, `datasources:`). */
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

export interface LokiDatasourceOptions {
  /**
   * Make Loki the default data source (true in the logging Grafana, where it is the only one).
   * @default false
   */
  readonly isDefault?: boolean;
}

/**
 * The Loki data source (uid `loki`, the uid dashboards reference) pointing at Loki's in-cluster
 * Service. The logging Grafana provisions it; when `logging.grafana.separate` is false the
 * monitoring Grafana provisions this same object instead.
 */
export function lokiDatasource(env: Pick<EnvConfig, 'logging'>, options: LokiDatasourceOptions = {}): GrafanaDatasource {
  const ds = SEED.grafana.datasources.loki;
  return {
    uid: ds.uid,
    name: ds.name,
    type: ds.type,
    access: 'proxy',
    url: lokiUrl(env),
    isDefault: options.isDefault ?? false,
    editable: false,
    jsonData: { maxLines: 1000, timeout: 60 },
  };
}

/** A Grafana provisioning file (`provisioning/datasources/*.yaml`) for the given data sources. */
export function grafanaDatasourcesFile(datasources: readonly GrafanaDatasource[]): Record<string, unknown> {
  return {
    apiVersion: 1,
    datasources: datasources.map((d) => ({ ...d, orgId: 1 })),
  };
}
