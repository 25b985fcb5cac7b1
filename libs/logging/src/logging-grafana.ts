import { SEED } from '@bitpin/config';
import {
  GRAFANA_PORT,
  GRAFANA_UID,
  PlatformGrafana,
  lokiDatasource,
  restrictedContainerSecurity,
  type PlatformChart,
  type PlatformGrafanaProps,
} from '@bitpin/k8s';
import { ApiObject, JsonPatch } from 'cdk8s';
import { GRAFANA_PLUGINS_DIR, VICTORIALOGS_PLUGIN_ID, VICTORIALOGS_PLUGIN_IMAGE_DIR, victoriaLogsDatasource } from './grafana-victorialogs.js';
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
    if (victoria) this.addVictoriaLogsPlugin(env.images.grafanaVictoriaLogsPlugin);
  }

  /** The init container, volume, mount and env that give Grafana the plugin from an image (JSON patches on the rendered Deployment). */
  private addVictoriaLogsPlugin(image: string): void {
    const deployment = ApiObject.of(this.node.findChild('Resource'));
    const init = {
      name: 'install-victorialogs-plugin',
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['cp', '-R', `${VICTORIALOGS_PLUGIN_IMAGE_DIR}/${VICTORIALOGS_PLUGIN_ID}`, `${GRAFANA_PLUGINS_DIR}/`],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
      securityContext: restrictedContainerSecurity({ runAsUser: GRAFANA_UID }),
      volumeMounts: [{ name: 'plugins', mountPath: GRAFANA_PLUGINS_DIR }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };
    deployment.addJsonPatch(
      JsonPatch.add('/spec/template/spec/initContainers', [init]),
      JsonPatch.add('/spec/template/spec/volumes/-', { name: 'plugins', emptyDir: { sizeLimit: '128Mi' } }),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'plugins', mountPath: GRAFANA_PLUGINS_DIR, readOnly: true }),
      JsonPatch.add('/spec/template/spec/containers/0/env/-', { name: 'GF_PATHS_PLUGINS', value: GRAFANA_PLUGINS_DIR }),
      // Plugin releases up to 0.14 are unsigned; this admits exactly this plugin id, nothing else.
      JsonPatch.add('/spec/template/spec/containers/0/env/-', { name: 'GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS', value: VICTORIALOGS_PLUGIN_ID }),
    );
  }
}
