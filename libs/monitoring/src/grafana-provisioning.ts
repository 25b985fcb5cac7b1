import { SEED, type EnvConfig } from '@bitpin/config';
import { grafanaDatasourcesFile, lokiDatasource, victoriaLogsDatasource, type GrafanaDatasource, type GrafanaDatasourcesFile } from '@bitpin/k8s';
import { MONITORING, serviceHost } from './names.js';

/*
 * The monitoring Grafana's data sources. The provisioning file format, the Loki data source and
 * the dashboard provider are shared with the logging Grafana and live in @bitpin/k8s.
 */

/** The URLs Grafana reaches its data sources on (in-cluster Service DNS names). */
export function datasourceUrls(env: EnvConfig): { prometheus: string; loki: string; victorialogs: string; alertmanager: string } {
  const m = MONITORING;
  return {
    prometheus: `http://${serviceHost(m.prometheus.name, m.namespace)}:${m.prometheus.port}`,
    loki: `http://${serviceHost(SEED.logging.loki.name, SEED.namespaces.logging)}:${env.logging.loki.port}`,
    victorialogs: `http://${serviceHost(SEED.logging.victorialogs.name, SEED.namespaces.logging)}:${env.logging.victorialogs.port}`,
    alertmanager: `http://${serviceHost(m.alertmanager.name, m.namespace)}:${m.alertmanager.port}`,
  };
}

/**
 * Prometheus (default), Loki and Alertmanager, with the fixed uids. Loki is always there: the
 * seed gives the monitoring Grafana both, and when the env runs no separate logging Grafana
 * (`logging.grafana.separate: false`) this one is where logs are read.
 */
export function monitoringDatasources(env: EnvConfig): GrafanaDatasource[] {
  const ds = SEED.grafana.datasources;
  const urls = datasourceUrls(env);
  return [
    {
      uid: ds.prometheus.uid,
      name: ds.prometheus.name,
      type: ds.prometheus.type,
      access: 'proxy',
      url: urls.prometheus,
      isDefault: true,
      editable: false,
      jsonData: {
        httpMethod: 'POST',
        // $__rate_interval needs to know the scrape interval.
        timeInterval: env.monitoring.prometheus.scrapeInterval,
        alertmanagerUid: ds.alertmanager.uid,
      },
    },
    // The log store of the env: Loki (the seed's), or with logging.backend victorialogs the
    // VictoriaLogs plugin's data source (the Grafana installs the plugin, see grafana.ts), which
    // the Logs dashboard's LogsQL panels read.
    env.logging.backend === 'victorialogs' ? victoriaLogsDatasource(env, { url: urls.victorialogs }) : lokiDatasource(env, { url: urls.loki }),
    {
      uid: ds.alertmanager.uid,
      name: ds.alertmanager.name,
      type: ds.alertmanager.type,
      access: 'proxy',
      url: urls.alertmanager,
      isDefault: false,
      editable: false,
      // Plain Prometheus Alertmanager; Grafana's own alerting keeps its built-in one.
      jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
    },
  ];
}

/** The monitoring Grafana's data sources provisioning file. */
export function grafanaDatasources(env: EnvConfig): GrafanaDatasourcesFile {
  return grafanaDatasourcesFile(monitoringDatasources(env));
}
