import { SEED } from '@bitpin/config';
import {
  GeneratedSecret,
  PlatformExternalSecret,
  httpProbe,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  selectorLabels,
  standardLabels,
  toResourceRequirements,
  type PlatformChart,
} from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { grafanaDatasourcesFile, lokiDatasource } from './datasource.js';
import { SCRAPE_JOB_LABEL } from './loki.js';
import { contentHash, scrapeAnnotations, toYaml } from './render.js';

/** The grafana/grafana image's user. */
export const GRAFANA_UID = 472;
export const GRAFANA_CONTAINER_PORT = 3000;

export interface LoggingGrafanaProps {
  /**
   * Secret with keys `admin-user` and `admin-password`. Grafana's built-in admin/admin is never used.
   * @default 'grafana-admin'
   */
  readonly adminSecretName?: string;
  /**
   * Declare the admin Secret as generated: the deployer creates it once with a random password
   * (never in the repo, never printed) when it is missing. Disable when an operator or an
   * external secret store provides it.
   * @default true
   */
  readonly generateAdminSecret?: boolean;
}

/**
 * The seed's logging Grafana: Deployment and Service `grafana` in namespace `logging`, exposed
 * as NodePort 30030 on port 80 (env `logging.grafana`), with the Loki data source (uid `loki`)
 * provisioned from the ConfigMap `grafana-datasources`. Its database is an emptyDir: everything
 * it shows is provisioned, so a restart loses nothing but sessions.
 */
export class LoggingGrafana extends Construct {
  readonly name: string = SEED.logging.grafana.name;
  readonly namespace: string = SEED.namespaces.logging;
  readonly port: number;
  readonly nodePort: number;
  readonly adminSecretName: string;
  /** The provisioning file mounted at /etc/grafana/provisioning/datasources/datasources.yaml. */
  readonly datasourcesYaml: string;

  constructor(scope: PlatformChart, id: string, props: LoggingGrafanaProps = {}) {
    super(scope, id);
    const env = scope.env;
    const cfg = env.logging.grafana;
    this.port = cfg.port;
    this.nodePort = cfg.nodePort;
    this.adminSecretName = props.adminSecretName ?? 'grafana-admin';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.adminSecretName)) {
      throw new Error(`LoggingGrafana: 'adminSecretName' (${this.adminSecretName}) must be a DNS label (lowercase letters, digits, '-')`);
    }

    const labels = standardLabels(env, { name: this.name, component: 'logging-ui' });
    const selector = selectorLabels({ name: this.name });
    const meta = (name: string) => ({ name, namespace: this.namespace, labels });
    this.datasourcesYaml = toYaml(grafanaDatasourcesFile([lokiDatasource(env, { isDefault: true })]));

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(this.name), automountServiceAccountToken: false });
    if (env.features.externalSecrets.enabled) {
      new PlatformExternalSecret(this, 'AdminSecret', { name: this.adminSecretName, namespace: this.namespace, labels, keys: ['admin-user', 'admin-password'] });
    } else if (props.generateAdminSecret ?? true) {
      new GeneratedSecret(this, 'AdminSecret', {
        name: this.adminSecretName,
        namespace: this.namespace,
        labels,
        keys: { 'admin-user': { literal: 'admin' }, 'admin-password': { randomBytes: 24 } },
      });
    }
    new k8s.KubeConfigMap(this, 'Datasources', {
      metadata: meta(`${this.name}-datasources`),
      data: { 'datasources.yaml': this.datasourcesYaml },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: meta(this.name),
      spec: {
        type: 'NodePort',
        selector,
        ports: [
          { name: 'http', port: cfg.port, targetPort: k8s.IntOrString.fromString('http'), nodePort: cfg.nodePort, protocol: 'TCP' },
        ],
      },
    });

    const admin = (name: string, key: string): k8s.EnvVar => ({
      name,
      valueFrom: { secretKeyRef: { name: this.adminSecretName, key } },
    });
    const grafana: k8s.Container = {
      name: 'grafana',
      image: env.images.grafana,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'http', containerPort: GRAFANA_CONTAINER_PORT, protocol: 'TCP' }],
      env: [
        admin('GF_SECURITY_ADMIN_USER', 'admin-user'),
        admin('GF_SECURITY_ADMIN_PASSWORD', 'admin-password'),
        { name: 'GF_SERVER_HTTP_PORT', value: String(GRAFANA_CONTAINER_PORT) },
        { name: 'GF_PATHS_DATA', value: '/var/lib/grafana' },
        { name: 'GF_PATHS_LOGS', value: '/var/log/grafana' },
        { name: 'GF_PATHS_PLUGINS', value: '/var/lib/grafana/plugins' },
        { name: 'GF_PATHS_PROVISIONING', value: '/etc/grafana/provisioning' },
        { name: 'GF_LOG_MODE', value: 'console' },
        { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
        { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' },
        { name: 'GF_ANALYTICS_REPORTING_ENABLED', value: 'false' },
        { name: 'GF_ANALYTICS_CHECK_FOR_UPDATES', value: 'false' },
        { name: 'GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', value: 'false' },
      ],
      readinessProbe: httpProbe({ path: '/api/health', port: 'http', initialDelaySeconds: 5, periodSeconds: 10 }),
      livenessProbe: httpProbe({ path: '/api/health', port: 'http', initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 }),
      resources: toResourceRequirements(cfg.resources),
      securityContext: restrictedContainerSecurity({ runAsUser: GRAFANA_UID }),
      volumeMounts: [
        { name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources', readOnly: true },
        { name: 'data', mountPath: '/var/lib/grafana' },
        { name: 'logs', mountPath: '/var/log/grafana' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: meta(this.name),
      spec: {
        replicas: 1,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...labels, [SCRAPE_JOB_LABEL]: SEED.monitoring.jobs.grafana },
            annotations: { 'checksum/datasources': contentHash(this.datasourcesYaml), ...scrapeAnnotations(GRAFANA_CONTAINER_PORT) },
          },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity({ runAsUser: GRAFANA_UID, fsGroup: GRAFANA_UID }),
            containers: [grafana],
            volumes: [
              { name: 'datasources', configMap: { name: `${this.name}-datasources` } },
              { name: 'data', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
              { name: 'logs', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
            ],
          },
        },
      },
    });
  }
}
