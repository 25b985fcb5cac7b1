import { PlatformGrafana, victoriaLogsPlugin, type PlatformChart, type PlatformGrafanaProps } from '@bitpin/k8s';
import { monitoringDatasources } from './grafana-provisioning.js';
import { checkDashboards, type DashboardInput } from './inputs.js';
import { MONITORING } from './names.js';

export interface GrafanaProps extends Pick<PlatformGrafanaProps, 'generateAdminSecret'> {
  /**
   * Dashboards (from dashboards/, handed in by the deployer), one ConfigMap each, provisioned
   * into the `Bitpin` folder.
   * @default - none: Grafana starts with its data sources only
   */
  readonly dashboards?: readonly DashboardInput[];
}

/**
 * The monitoring Grafana: the shared {@link PlatformGrafana} on the env's port (3000) with
 * provisioned data sources (Prometheus, Loki, Alertmanager with fixed uids) and dashboards, its
 * SQLite database on a PersistentVolumeClaim, and the admin credentials read from files of Secret
 * `grafana-admin` (keys `admin-user`, `admin-password`), declared as a generated Secret (a recipe,
 * no values) that the deployer creates when missing. Grafana reads the data sources only at
 * start-up, so their checksum is on the pod template (a change rolls the pod); dashboards are
 * re-read every 30 s and change without a restart.
 */
export class Grafana extends PlatformGrafana {
  constructor(scope: PlatformChart, id: string, props: GrafanaProps = {}) {
    const env = scope.env;
    const cfg = env.monitoring.grafana;
    super(scope, id, {
      name: MONITORING.grafana.name,
      namespace: MONITORING.namespace,
      component: 'dashboards',
      datasources: monitoringDatasources(env),
      dashboards: checkDashboards('Grafana', MONITORING.grafana.dashboardConfigMapPrefix, props.dashboards ?? []),
      containerPort: cfg.port,
      port: cfg.port,
      resources: cfg.resources,
      storageSize: cfg.storageSize,
      // Grafana's volume goes where the env puts the stack's data (Prometheus' class).
      storageClass: env.monitoring.prometheus.storageClass,
      generateAdminSecret: props.generateAdminSecret,
    });
    // With logging.backend victorialogs the log data source is VictoriaLogs': its plugin comes
    // from the pinned image (an init container copies it; nothing is downloaded at start).
    if (env.logging.backend === 'victorialogs') this.installPluginFromImage(victoriaLogsPlugin(env));
  }
}
