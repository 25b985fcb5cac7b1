import { SEED, parseQuantity, toYaml, type Resources } from '@bitpin/config';
import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import type { PlatformChart } from './chart.js';
import { CONFIG_CHECKSUM_ANNOTATION, configChecksum } from './checksum.js';
import { PlatformExternalSecret } from './external-secret.js';
import { GeneratedSecret } from './generated-secret.js';
import {
  grafanaDashboardProviders,
  grafanaDatasourcesFile,
  lokiDatasource,
  type GrafanaDashboardProvidersFile,
  type GrafanaDatasource,
  type GrafanaDatasourcesFile,
} from './grafana-provisioning.js';
import { selectorLabels, standardLabels } from './labels.js';
import { httpProbe } from './probes.js';
import { toResourceRequirements } from './resources.js';
import { restrictedContainerSecurity, restrictedPodSecurity } from './security.js';
import { volumeClaimSpec } from './storage.js';

/** The grafana/grafana image's user and group. */
export const GRAFANA_UID = 472;
/** Grafana's HTTP port in the pod unless `containerPort` says otherwise. */
export const GRAFANA_PORT = 3000;

/** Where the pieces sit in the Grafana container. */
export const GRAFANA_PATHS = {
  provisioning: '/etc/grafana/provisioning',
  dashboards: '/etc/grafana/dashboards',
  admin: '/etc/grafana/admin',
  data: '/var/lib/grafana',
} as const;

/** The keys of the admin Secret. */
export const GRAFANA_ADMIN_KEYS = { user: 'admin-user', password: 'admin-password' } as const;

/** One provisioned dashboard: its JSON in a ConfigMap of its own (a ConfigMap holds at most 1 MiB). */
export interface GrafanaDashboardFile {
  /** The dashboard's uid; also the construct id suffix (`Dashboard-<uid>`). */
  readonly uid: string;
  readonly configMapName: string;
  /** File name in the dashboards directory (`*.json`). */
  readonly fileName: string;
  /** The dashboard JSON text. */
  readonly text: string;
}

/**
 * A Grafana plugin that comes unpacked in an image (at `<imageDir>/<pluginId>/`), so Grafana needs
 * no download when it starts: an init container copies it into the plugins emptyDir.
 */
export interface GrafanaPluginImage {
  readonly image: string;
  /** The plugin id (its directory name). */
  readonly pluginId: string;
  /** The directory in the image holding `<pluginId>/`. */
  readonly imageDir: string;
  /** Admit the plugin although it is unsigned (`GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS`, this id only). @default false */
  readonly unsigned?: boolean;
  /** The init container's name. @default 'install-plugin' */
  readonly initContainerName?: string;
}

/** Grafana's plugin directory in the pod (`GF_PATHS_PLUGINS`) when a plugin is installed from an image: an emptyDir the init container fills. */
export const GRAFANA_PLUGINS_DIR = '/var/lib/grafana-plugins';

export interface PlatformGrafanaProps {
  /**
   * Name of the Deployment, Service, ServiceAccount (and PVC), and `app.kubernetes.io/name`; the
   * provisioning ConfigMaps are `<name>-datasources` and `<name>-dashboard-providers`.
   * @default 'grafana'
   */
  readonly name?: string;
  /** @default 'monitoring' */
  readonly namespace?: string;
  /**
   * `app.kubernetes.io/component` of every object.
   * @default 'dashboards'
   */
  readonly component?: string;
  /**
   * The provisioned data sources (fixed uids; at most one default). Grafana reads them at start-up
   * only, so their checksum is on the pod template: a change rolls the pod.
   * @default - Loki alone, as the default data source ({@link lokiDatasource})
   */
  readonly datasources?: readonly GrafanaDatasource[];
  /**
   * Dashboards to provision, one ConfigMap each, re-read every 30 s (a change needs no restart).
   * Given (even empty), a file provider for `dashboardFolder` is provisioned too.
   * @default - no dashboard provisioning at all
   */
  readonly dashboards?: readonly GrafanaDashboardFile[];
  /**
   * Folder the provisioned dashboards appear in.
   * @default 'Bitpin' (SEED.grafana.folder)
   */
  readonly dashboardFolder?: string;
  /**
   * Grafana's HTTP port in the pod (`GF_SERVER_HTTP_PORT`, container port `http`).
   * @default 3000
   */
  readonly containerPort?: number;
  /**
   * The Service's port.
   * @default - the container port
   */
  readonly port?: number;
  /**
   * Expose the Service as a NodePort on this port (30000-32767).
   * @default - none: a ClusterIP Service
   */
  readonly nodePort?: number;
  /**
   * Requests and limits of the Grafana container.
   * @default - the env's `monitoring.grafana.resources`
   */
  readonly resources?: Resources;
  /**
   * Keep Grafana's database (users, sessions, UI preferences) on a PersistentVolumeClaim of this
   * size; the Deployment then replaces its pod with `Recreate` (one ReadWriteOnce volume).
   * @default - none: the database is an emptyDir (1Gi); everything shown is provisioned, so a restart loses sessions only
   */
  readonly storageSize?: string;
  /**
   * StorageClass of that claim.
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;
  /**
   * Secret with keys `admin-user` and `admin-password`, mounted read-only as files and read through
   * `GF_SECURITY_ADMIN_USER__FILE` / `GF_SECURITY_ADMIN_PASSWORD__FILE`: the password is never a
   * value in the pod's environment, and Grafana's built-in admin/admin is never used.
   * @default 'grafana-admin'
   */
  readonly adminSecretName?: string;
  /**
   * Declare the admin Secret as generated: the deployer creates it once with user `admin` and a
   * random password (never in the repo, never printed) when it is missing. Disable when an
   * operator provides it. With `features.externalSecrets` on, an ExternalSecret provides it instead.
   * @default true
   */
  readonly generateAdminSecret?: boolean;
  /**
   * Extra labels on the pod template (never in the selector).
   * @default - none
   */
  readonly podLabels?: Readonly<Record<string, string>>;
  /**
   * Extra annotations on the pod template.
   * @default - none
   */
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const isPort = (n: number, min = 1, max = 65535) => Number.isInteger(n) && n >= min && n <= max;
const PROVISIONING_HEADER = ['Generated by bitpin-platform (PlatformGrafana, libs/k8s). Do not edit: the deployer overwrites it.'];

/**
 * Grafana, the platform's way: a one-replica Deployment running as the image's user (472) with the
 * restricted security context and a read-only root filesystem; provisioned data sources (and
 * optionally dashboards) from ConfigMaps; a Service (ClusterIP, or NodePort); health probes on
 * `/api/health` with a start-up probe for the first database migration; sign-up, anonymous access,
 * Gravatar and phoning home off; and the admin credentials read from files of a Secret
 * (`GF_SECURITY_ADMIN_PASSWORD__FILE`), never from an env var value. The admin Secret is declared
 * as generated (a recipe the deployer fills once) or, with `features.externalSecrets`, comes from
 * the external store. The credentials seed the admin account on first start only; later changes
 * need `grafana cli admin reset-admin-password`.
 *
 * The monitoring Grafana (`@bitpin/monitoring`) and the logging Grafana (`@bitpin/logging`) are
 * both this construct with their own props.
 */
export class PlatformGrafana extends Construct {
  readonly name: string;
  readonly namespace: string;
  /** The Service's port. */
  readonly port: number;
  /** Grafana's HTTP port in the pod. */
  readonly containerPort: number;
  readonly nodePort?: number;
  readonly adminSecretName: string;
  /** The data sources provisioning file, as data and rendered. */
  readonly datasources: GrafanaDatasourcesFile;
  readonly datasourcesYaml: string;
  /** The dashboard provider file, as data and rendered, when dashboards are provisioned. */
  readonly providers?: GrafanaDashboardProvidersFile;
  readonly providersYaml?: string;
  readonly dashboards?: readonly GrafanaDashboardFile[];
  /** The claim holding Grafana's database, when `storageSize` is set. */
  readonly storageSize?: string;
  /** Plugin ids installed from images ({@link installPluginFromImage}). */
  readonly plugins: string[] = [];

  constructor(scope: PlatformChart, id: string, props: PlatformGrafanaProps = {}) {
    super(scope, id);
    const owner = new.target.name;
    const env = scope.env;
    this.name = props.name ?? SEED.monitoring.grafana.name;
    this.namespace = props.namespace ?? SEED.namespaces.monitoring;
    this.containerPort = props.containerPort ?? GRAFANA_PORT;
    this.port = props.port ?? this.containerPort;
    this.nodePort = props.nodePort;
    this.adminSecretName = props.adminSecretName ?? 'grafana-admin';
    this.storageSize = props.storageSize;
    this.dashboards = props.dashboards;
    const datasources = props.datasources ?? [lokiDatasource(env, { isDefault: true })];
    checkProps(owner, this, props, datasources);

    this.datasources = grafanaDatasourcesFile(datasources);
    this.datasourcesYaml = toYaml(this.datasources, { header: PROVISIONING_HEADER });
    if (this.dashboards) {
      this.providers = grafanaDashboardProviders({ folder: props.dashboardFolder, path: GRAFANA_PATHS.dashboards });
      this.providersYaml = toYaml(this.providers, { header: PROVISIONING_HEADER });
    }
    const datasourcesConfigMap = `${this.name}-datasources`;
    const providersConfigMap = `${this.name}-dashboard-providers`;

    const labels = standardLabels(env, { name: this.name, component: props.component ?? 'dashboards' });
    const selector = selectorLabels({ name: this.name });
    const meta = (name: string = this.name): k8s.ObjectMeta => ({ name, namespace: this.namespace, labels });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(), automountServiceAccountToken: false });
    const adminKeys = [GRAFANA_ADMIN_KEYS.user, GRAFANA_ADMIN_KEYS.password];
    if (env.features.externalSecrets.enabled) {
      new PlatformExternalSecret(this, 'AdminSecret', { name: this.adminSecretName, namespace: this.namespace, labels, keys: adminKeys });
    } else if (props.generateAdminSecret ?? true) {
      new GeneratedSecret(this, 'AdminSecret', {
        name: this.adminSecretName,
        namespace: this.namespace,
        labels,
        keys: { [GRAFANA_ADMIN_KEYS.user]: { literal: 'admin' }, [GRAFANA_ADMIN_KEYS.password]: { randomBytes: 24 } },
      });
    }

    new k8s.KubeConfigMap(this, 'Datasources', { metadata: meta(datasourcesConfigMap), data: { 'datasources.yaml': this.datasourcesYaml } });
    if (this.dashboards && this.providersYaml) {
      new k8s.KubeConfigMap(this, 'DashboardProviders', { metadata: meta(providersConfigMap), data: { 'providers.yaml': this.providersYaml } });
      for (const d of this.dashboards) {
        new k8s.KubeConfigMap(this, `Dashboard-${d.uid}`, { metadata: meta(d.configMapName), data: { [d.fileName]: d.text } });
      }
    }

    if (this.storageSize) {
      new k8s.KubePersistentVolumeClaim(this, 'Storage', {
        metadata: meta(),
        spec: volumeClaimSpec({ size: this.storageSize, storageClass: props.storageClass }),
      });
    }

    new k8s.KubeService(this, 'Service', {
      metadata: meta(),
      spec: {
        type: this.nodePort === undefined ? 'ClusterIP' : 'NodePort',
        selector,
        ports: [
          {
            name: 'http',
            port: this.port,
            targetPort: k8s.IntOrString.fromString('http'),
            ...(this.nodePort === undefined ? {} : { nodePort: this.nodePort }),
            protocol: 'TCP',
          },
        ],
      },
    });

    const gf = (name: string, value: string): k8s.EnvVar => ({ name: `GF_${name}`, value });
    const P = GRAFANA_PATHS;
    const mounts: k8s.VolumeMount[] = [
      { name: 'datasources', mountPath: `${P.provisioning}/datasources`, readOnly: true },
      ...(this.dashboards
        ? [
            { name: 'dashboard-providers', mountPath: `${P.provisioning}/dashboards`, readOnly: true },
            { name: 'dashboards', mountPath: P.dashboards, readOnly: true },
          ]
        : []),
      { name: 'admin', mountPath: P.admin, readOnly: true },
      { name: 'data', mountPath: P.data },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const grafana: k8s.Container = {
      name: 'grafana',
      image: env.images.grafana,
      imagePullPolicy: 'IfNotPresent',
      env: [
        gf('SERVER_HTTP_PORT', String(this.containerPort)),
        gf('PATHS_DATA', P.data),
        gf('PATHS_PROVISIONING', P.provisioning),
        gf('LOG_MODE', 'console'),
        // `__FILE`: read from the mounted Secret, so the values never sit in the pod's env.
        gf('SECURITY_ADMIN_USER__FILE', `${P.admin}/${GRAFANA_ADMIN_KEYS.user}`),
        gf('SECURITY_ADMIN_PASSWORD__FILE', `${P.admin}/${GRAFANA_ADMIN_KEYS.password}`),
        gf('SECURITY_DISABLE_GRAVATAR', 'true'),
        gf('USERS_ALLOW_SIGN_UP', 'false'),
        gf('AUTH_ANONYMOUS_ENABLED', 'false'),
        gf('ANALYTICS_REPORTING_ENABLED', 'false'),
        gf('ANALYTICS_CHECK_FOR_UPDATES', 'false'),
        gf('ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', 'false'),
      ],
      ports: [{ name: 'http', containerPort: this.containerPort, protocol: 'TCP' }],
      readinessProbe: httpProbe({ path: '/api/health', port: 'http', periodSeconds: 10 }),
      livenessProbe: httpProbe({ path: '/api/health', port: 'http', periodSeconds: 20, failureThreshold: 6 }),
      // First start migrates the database; allow 5 minutes before liveness counts.
      startupProbe: httpProbe({ path: '/api/health', port: 'http', periodSeconds: 10, failureThreshold: 30 }),
      resources: toResourceRequirements(props.resources ?? env.monitoring.grafana.resources),
      securityContext: restrictedContainerSecurity({ runAsUser: GRAFANA_UID }),
      volumeMounts: mounts,
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };

    const volumes: k8s.Volume[] = [
      { name: 'datasources', configMap: { name: datasourcesConfigMap } },
      ...(this.dashboards
        ? [
            { name: 'dashboard-providers', configMap: { name: providersConfigMap } },
            this.dashboards.length > 0
              ? { name: 'dashboards', projected: { sources: this.dashboards.map((d) => ({ configMap: { name: d.configMapName } })) } }
              : { name: 'dashboards', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Mi') } },
          ]
        : []),
      // Generated by the deployer when missing (random password), never printed.
      {
        name: 'admin',
        secret: {
          secretName: this.adminSecretName,
          defaultMode: 0o440,
          items: adminKeys.map((key) => ({ key, path: key })),
        },
      },
      this.storageSize
        ? { name: 'data', persistentVolumeClaim: { claimName: this.name } }
        : { name: 'data', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
    ];

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: meta(),
      spec: {
        replicas: 1,
        // One ReadWriteOnce volume: the old pod must let go before the new one mounts it.
        ...(this.storageSize ? { strategy: { type: 'Recreate' } } : {}),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...labels, ...props.podLabels },
            annotations: {
              [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(this.datasourcesYaml, ...(this.providersYaml ? [this.providersYaml] : [])),
              ...props.podAnnotations,
            },
          },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity({ runAsUser: GRAFANA_UID, fsGroup: GRAFANA_UID }),
            containers: [grafana],
            volumes,
          },
        },
      },
    });
  }

  /**
   * Installs a plugin from an image (one call, one plugin): an init container copies
   * `<imageDir>/<pluginId>` into an emptyDir that Grafana reads plugins from (`GF_PATHS_PLUGINS`,
   * mounted read-only), so no internet is needed when Grafana starts. JSON patches on the
   * rendered Deployment.
   */
  installPluginFromImage(plugin: GrafanaPluginImage): void {
    if (this.plugins.length > 0) throw new Error(`${this.node.path}: installPluginFromImage is called once (has ${this.plugins.join(', ')}; asked for ${plugin.pluginId})`);
    this.plugins.push(plugin.pluginId);
    const deployment = ApiObject.of(this.node.findChild('Resource'));
    const q = (v: string) => k8s.Quantity.fromString(v);
    const init = {
      name: plugin.initContainerName ?? 'install-plugin',
      image: plugin.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['cp', '-R', `${plugin.imageDir}/${plugin.pluginId}`, `${GRAFANA_PLUGINS_DIR}/`],
      // Quantities, not strings: KubeDeployment maps its JSON (patches included) through the typed
      // serializer, which reads a quantity's `.value` and drops a plain string.
      resources: { requests: { cpu: q('10m'), memory: q('16Mi') }, limits: { memory: q('32Mi') } },
      securityContext: restrictedContainerSecurity({ runAsUser: GRAFANA_UID }),
      volumeMounts: [{ name: 'plugins', mountPath: GRAFANA_PLUGINS_DIR }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };
    deployment.addJsonPatch(
      JsonPatch.add('/spec/template/spec/initContainers', [init]),
      JsonPatch.add('/spec/template/spec/volumes/-', { name: 'plugins', emptyDir: { sizeLimit: q('128Mi') } }),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'plugins', mountPath: GRAFANA_PLUGINS_DIR, readOnly: true }),
      JsonPatch.add('/spec/template/spec/containers/0/env/-', { name: 'GF_PATHS_PLUGINS', value: GRAFANA_PLUGINS_DIR }),
      ...(plugin.unsigned ? [JsonPatch.add('/spec/template/spec/containers/0/env/-', { name: 'GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS', value: plugin.pluginId })] : []),
    );
  }
}

/** Rejects props Kubernetes or Grafana would refuse, with one line naming the prop and the value. */
function checkProps(owner: string, g: PlatformGrafana, props: PlatformGrafanaProps, datasources: readonly GrafanaDatasource[]): void {
  const fail = (prop: string, value: unknown, rule: string): never => {
    throw new Error(`${owner}: '${prop}' (${typeof value === 'string' ? value : JSON.stringify(value)}) ${rule}`);
  };
  const dnsLabel = "must be a DNS label (lowercase letters, digits, '-')";
  if (!DNS_LABEL.test(g.name) || g.name.length > 63) fail('name', g.name, dnsLabel);
  if (!DNS_LABEL.test(g.namespace) || g.namespace.length > 63) fail('namespace', g.namespace, dnsLabel);
  if (!DNS_LABEL.test(g.adminSecretName) || g.adminSecretName.length > 63) fail('adminSecretName', g.adminSecretName, dnsLabel);
  if (!isPort(g.containerPort, 1024)) fail('containerPort', g.containerPort, 'must be an integer from 1024 to 65535 (Grafana runs unprivileged)');
  if (!isPort(g.port)) fail('port', g.port, 'must be an integer from 1 to 65535');
  if (g.nodePort !== undefined && !isPort(g.nodePort, 30000, 32767)) fail('nodePort', g.nodePort, 'must be an integer from 30000 to 32767 (the NodePort range)');
  if (g.storageSize !== undefined && !(parseQuantity(g.storageSize) ?? 0)) fail('storageSize', g.storageSize, "must be a positive Kubernetes quantity such as '1Gi'");
  if (props.storageClass !== undefined && props.storageSize === undefined) fail('storageClass', props.storageClass, "needs 'storageSize' (without it the database is an emptyDir)");
  if (datasources.length === 0) fail('datasources', [], 'must name at least one data source');
  const uids = new Set<string>();
  datasources.forEach((d, i) => {
    if (uids.has(d.uid)) fail(`datasources[${i}].uid`, d.uid, 'is used by an earlier data source; uids must be unique');
    uids.add(d.uid);
  });
  const defaults = datasources.filter((d) => d.isDefault).map((d) => d.uid);
  if (defaults.length > 1) fail('datasources', defaults, 'has more than one default data source; Grafana allows one');
  const names = new Set<string>();
  (props.dashboards ?? []).forEach((d, i) => {
    if (!DNS_SUBDOMAIN.test(d.configMapName) || d.configMapName.length > 253) {
      fail(`dashboards[${i}].configMapName`, d.configMapName, 'must be a DNS subdomain (lowercase letters, digits, - and .)');
    }
    if (names.has(d.configMapName)) fail(`dashboards[${i}].configMapName`, d.configMapName, 'is used by an earlier dashboard');
    names.add(d.configMapName);
  });
}
