import { SEED } from '@bitpin/config';
import {
  GRAFANA_PORT,
  PlatformGrafana,
  lokiDatasource,
  type PlatformChart,
  type PlatformGrafanaProps,
} from '@bitpin/k8s';
import { victoriaLogsDatasource, victoriaLogsPlugin } from './grafana-victorialogs.js';
import { SCRAPE_JOB_LABEL } from './loki.js';
import { scrapeAnnotations } from './render.js';

/** The logging Grafana's HTTP port in the pod (the Service maps `logging.grafana.port` to it). */
export const GRAFANA_CONTAINER_PORT = GRAFANA_PORT;

/** The admin Secret's name and whether the deployer generates it; the rest follows the env (`logging.grafana`). */
export type LoggingGrafanaProps = Pick<PlatformGrafanaProps, 'adminSecretName' | 'generateAdminSecret'>;

/**
 * The seed's logging Grafana: Deployment and Service `grafana` in namespace `logging`, exposed
 * as NodePort 30030 on port 80 (env `logging.grafana`), with the store's data source as the
 * default, provisioned from the ConfigMap `grafana-datasources`: Loki (uid `loki`), or with
 * `logging.backend: victorialogs` the VictoriaLogs plugin's (uid `victorialogs`). The plugin comes
 * from a pinned image (`images.grafanaVictoriaLogsPlugin`) that an init container copies into an
 * emptyDir Grafana loads plugins from — no download when Grafana starts, so no internet at runtime.
 * It is the shared {@link PlatformGrafana} (admin password from a mounted Secret file, restricted
 * security context, probes); its database is an emptyDir: everything it shows is provisioned.
 */
export class LoggingGrafana extends PlatformGrafana {
  constructor(scope: PlatformChart, id: string, props: LoggingGrafanaProps = {}) {
    const env = scope.env;
    const cfg = env.logging.grafana;
    const victoria = env.logging.backend === 'victorialogs';
    super(scope, id, {
      name: SEED.logging.grafana.name,
      namespace: SEED.namespaces.logging,
      component: 'logging-ui',
      datasources: [victoria ? victoriaLogsDatasource(env, { isDefault: true }) : lokiDatasource(env, { isDefault: true })],
      containerPort: GRAFANA_CONTAINER_PORT,
      port: cfg.port,
      nodePort: cfg.nodePort,
      resources: cfg.resources,
      adminSecretName: props.adminSecretName,
      generateAdminSecret: props.generateAdminSecret,
      podLabels: { [SCRAPE_JOB_LABEL]: SEED.monitoring.jobs.grafana },
      podAnnotations: scrapeAnnotations(GRAFANA_CONTAINER_PORT),
    });
    if (victoria) this.installPluginFromImage(victoriaLogsPlugin(env));
  }
}
