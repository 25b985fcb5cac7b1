import { SEED } from '@bitpin/config';
import { GRAFANA_PORT, PlatformGrafana, lokiDatasource, type PlatformChart, type PlatformGrafanaProps } from '@bitpin/k8s';
import { SCRAPE_JOB_LABEL } from './loki.js';
import { scrapeAnnotations } from './render.js';

/** The logging Grafana's HTTP port in the pod (the Service maps `logging.grafana.port` to it). */
export const GRAFANA_CONTAINER_PORT = GRAFANA_PORT;

/** The admin Secret's name and whether the deployer generates it; the rest follows the env (`logging.grafana`). */
export type LoggingGrafanaProps = Pick<PlatformGrafanaProps, 'adminSecretName' | 'generateAdminSecret'>;

/**
 * The seed's logging Grafana: Deployment and Service `grafana` in namespace `logging`, exposed
 * as NodePort 30030 on port 80 (env `logging.grafana`), with the Loki data source (uid `loki`,
 * the default) provisioned from the ConfigMap `grafana-datasources`. It is the shared
 * {@link PlatformGrafana} (admin password from a mounted Secret file, restricted security
 * context, probes); its database is an emptyDir: everything it shows is provisioned, so a restart
 * loses nothing but sessions.
 */
export class LoggingGrafana extends PlatformGrafana {
  constructor(scope: PlatformChart, id: string, props: LoggingGrafanaProps = {}) {
    const env = scope.env;
    const cfg = env.logging.grafana;
    super(scope, id, {
      name: SEED.logging.grafana.name,
      namespace: SEED.namespaces.logging,
      component: 'logging-ui',
      datasources: [lokiDatasource(env, { isDefault: true })],
      containerPort: GRAFANA_CONTAINER_PORT,
      port: cfg.port,
      nodePort: cfg.nodePort,
      resources: cfg.resources,
      adminSecretName: props.adminSecretName,
      generateAdminSecret: props.generateAdminSecret,
      podLabels: { [SCRAPE_JOB_LABEL]: SEED.monitoring.jobs.grafana },
      podAnnotations: scrapeAnnotations(GRAFANA_CONTAINER_PORT),
    });
  }
}
