import { loadEnvConfig } from '@bitpin/config';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  GENERATE_ANNOTATION,
  PlatformChart,
  PlatformGrafana,
  grafanaDatasourcesFile,
  lokiDatasource,
  lokiUrl,
  volumeClaimSpec,
  type PlatformGrafanaProps,
} from '../src/index.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

function synth(props: PlatformGrafanaProps = {}, overrides = {}): Obj[] {
  const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('dev', { overrides }) });
  new PlatformGrafana(chart, 'Grafana', props);
  return Testing.synth(chart) as Obj[];
}
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not synthesized`);
  return o;
};
const grafanaContainer = (objs: Obj[]) => find(objs, 'Deployment', 'grafana').spec.template.spec.containers[0];
const DASHBOARD = { uid: 'ops', configMapName: 'grafana-dashboard-ops', fileName: 'ops.json', text: '{"uid":"ops"}' };

describe('PlatformGrafana', () => {
  it('reads the admin password from a mounted Secret file, never from an env var value', () => {
    // GIVEN the defaults
    // WHEN
    const objs = synth();
    // THEN the password is a file of Secret grafana-admin, and no env var carries a secret
    const grafana = grafanaContainer(objs);
    expect(grafana.env).toContainEqual({ name: 'GF_SECURITY_ADMIN_PASSWORD__FILE', value: '/etc/grafana/admin/admin-password' });
    expect(grafana.env).toContainEqual({ name: 'GF_SECURITY_ADMIN_USER__FILE', value: '/etc/grafana/admin/admin-user' });
    expect(grafana.env.map((v: any) => v.name)).not.toContain('GF_SECURITY_ADMIN_PASSWORD');
    expect(grafana.env.filter((v: any) => v.valueFrom !== undefined)).toEqual([]);
    expect(grafana.volumeMounts).toContainEqual({ name: 'admin', mountPath: '/etc/grafana/admin', readOnly: true });
    const admin = find(objs, 'Deployment', 'grafana').spec.template.spec.volumes.find((v: any) => v.name === 'admin');
    expect(admin.secret).toMatchObject({ secretName: 'grafana-admin', defaultMode: 0o440 });
    expect(admin.secret.items.map((i: any) => `${i.key}→${i.path}`)).toEqual(['admin-user→admin-user', 'admin-password→admin-password']);
    // and the Secret is a recipe for the deployer, with no value in the manifest
    const secret = find(objs, 'Secret', 'grafana-admin');
    expect(JSON.parse(secret.metadata.annotations![GENERATE_ANNOTATION]!)).toEqual({ 'admin-user': 'literal:admin', 'admin-password': 'random:24' });
    expect(secret.data).toBeUndefined();
  });

  it('runs restricted: non-root as Grafana\'s user, read-only root, probes on /api/health, sign-up and anonymous access off', () => {
    const objs = synth();
    const pod = find(objs, 'Deployment', 'grafana').spec.template.spec;
    const grafana = pod.containers[0];
    expect(pod).toMatchObject({ automountServiceAccountToken: false, enableServiceLinks: false, securityContext: { runAsNonRoot: true, fsGroup: 472 } });
    expect(grafana.securityContext).toMatchObject({ runAsUser: 472, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect(grafana[probe], probe).toMatchObject({ httpGet: { path: '/api/health', port: 'http' } });
    }
    expect(grafana.env).toEqual(
      expect.arrayContaining([
        { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
        { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' },
        { name: 'GF_SERVER_HTTP_PORT', value: '3000' },
      ]),
    );
    expect(grafana.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  });

  it('defaults to a ClusterIP Service, Loki as the only data source and an emptyDir database', () => {
    const objs = synth();
    expect(find(objs, 'Service', 'grafana').spec).toMatchObject({
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }],
    });
    const file = parse(find(objs, 'ConfigMap', 'grafana-datasources').data!['datasources.yaml']!);
    expect(file).toEqual({ apiVersion: 1, prune: true, datasources: [{ ...lokiDatasource(loadEnvConfig('dev'), { isDefault: true }), orgId: 1, version: 1 }] });
    expect(objs.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    const deploy = find(objs, 'Deployment', 'grafana');
    expect(deploy.spec.strategy).toBeUndefined();
    expect(deploy.spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: { sizeLimit: '1Gi' } });
    // No dashboards asked for: no provider, no dashboards mount.
    expect(objs.map((o) => o.metadata.name)).not.toContain('grafana-dashboard-providers');
    expect(grafanaContainer(objs).volumeMounts.map((m: any) => m.name)).toEqual(['datasources', 'admin', 'data', 'tmp']);
  });

  it('exposes a NodePort, keeps its database on a claim (Recreate) and provisions dashboards when asked', () => {
    // GIVEN a NodePort, storage and one dashboard
    const props: PlatformGrafanaProps = { namespace: 'logging', port: 80, nodePort: 30031, storageSize: '2Gi', storageClass: 'fast', dashboards: [DASHBOARD] };
    // WHEN
    const objs = synth(props);
    // THEN
    expect(find(objs, 'Service', 'grafana').spec).toMatchObject({
      type: 'NodePort',
      ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30031, protocol: 'TCP' }],
    });
    expect(find(objs, 'PersistentVolumeClaim', 'grafana').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, storageClassName: 'fast' });
    const deploy = find(objs, 'Deployment', 'grafana');
    expect(deploy.metadata.namespace).toBe('logging');
    expect(deploy.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deploy.spec.template.spec.volumes).toEqual(
      expect.arrayContaining([
        { name: 'data', persistentVolumeClaim: { claimName: 'grafana' } },
        { name: 'dashboards', projected: { sources: [{ configMap: { name: 'grafana-dashboard-ops' } }] } },
        { name: 'dashboard-providers', configMap: { name: 'grafana-dashboard-providers' } },
      ]),
    );
    expect(find(objs, 'ConfigMap', 'grafana-dashboard-ops').data).toEqual({ 'ops.json': '{"uid":"ops"}' });
    const providers = parse(find(objs, 'ConfigMap', 'grafana-dashboard-providers').data!['providers.yaml']!);
    expect(providers.providers[0]).toMatchObject({ name: 'bitpin', folder: 'Bitpin', folderUid: 'bitpin', options: { path: '/etc/grafana/dashboards' } });
  });

  it('rolls the pod when the data sources change, not when a dashboard does', () => {
    const sum = (objs: Obj[]) => find(objs, 'Deployment', 'grafana').spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    const base = sum(synth({ dashboards: [DASHBOARD] }));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(sum(synth({ dashboards: [{ ...DASHBOARD, text: '{"uid":"ops","title":"x"}' }] }))).toBe(base);
    expect(sum(synth({ dashboards: [DASHBOARD] }, { logging: { loki: { port: 3101 } } }))).not.toBe(base);
  });

  it('with external secrets on, the admin Secret comes from the store instead of a recipe', () => {
    const objs = synth({}, { features: { externalSecrets: { enabled: true, secretStore: 'vault' } } });
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(find(objs, 'ExternalSecret', 'grafana-admin').spec.target).toMatchObject({ name: 'grafana-admin' });
  });

  it('generateAdminSecret: false leaves the Secret to an operator but still mounts it', () => {
    const objs = synth({ generateAdminSecret: false });
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(grafanaContainer(objs).volumeMounts).toContainEqual({ name: 'admin', mountPath: '/etc/grafana/admin', readOnly: true });
  });

  it('builds the one Loki data source both Grafanas provision', () => {
    const env = loadEnvConfig('dev');
    expect(lokiUrl(env)).toBe('http://loki.logging.svc:3100');
    expect(lokiDatasource(env)).toMatchObject({ uid: 'loki', type: 'loki', url: lokiUrl(env), isDefault: false, editable: false });
    expect(lokiUrl(loadEnvConfig('dev', { overrides: { logging: { loki: { port: 3101 } } } }))).toBe('http://loki.logging.svc:3101');
    expect(lokiDatasource(env, { isDefault: true, url: 'http://loki.example:3100' })).toMatchObject({ isDefault: true, url: 'http://loki.example:3100' });
    expect(grafanaDatasourcesFile([lokiDatasource(env)]).datasources[0]).toMatchObject({ uid: 'loki', orgId: 1, version: 1 });
  });

  it('fails on an admin Secret name that is not a DNS label, naming the construct, the prop and the value', () => {
    // GIVEN a Secret name Kubernetes would refuse
    const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('dev') });
    // WHEN / THEN
    expect(() => new PlatformGrafana(chart, 'Grafana', { adminSecretName: 'Admin_Secret' })).toThrowError(
      "PlatformGrafana: 'adminSecretName' (Admin_Secret) must be a DNS label (lowercase letters, digits, '-')",
    );
  });

  it('volumeClaimSpec: one ReadWriteOnce claim spec, the storage class only when given', () => {
    expect(volumeClaimSpec({ size: '5Gi' })).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: expect.anything() } } });
    expect(volumeClaimSpec({ size: '5Gi', storageClass: 'ssd' }).storageClassName).toBe('ssd');
  });

  it('fails on a NodePort outside 30000-32767', () => {
    expect(() => synth({ nodePort: 8080 })).toThrowError("PlatformGrafana: 'nodePort' (8080) must be an integer from 30000 to 32767 (the NodePort range)");
  });

  it('fails on two default data sources or a repeated uid', () => {
    const env = loadEnvConfig('dev');
    const loki = lokiDatasource(env, { isDefault: true });
    expect(() => synth({ datasources: [loki, { ...loki, uid: 'loki-2' }] })).toThrowError(
      `PlatformGrafana: 'datasources' (["loki","loki-2"]) has more than one default data source; Grafana allows one`,
    );
    expect(() => synth({ datasources: [loki, { ...loki, isDefault: false }] })).toThrowError(
      "PlatformGrafana: 'datasources[1].uid' (loki) is used by an earlier data source; uids must be unique",
    );
    expect(() => synth({ datasources: [] })).toThrowError("PlatformGrafana: 'datasources' ([]) must name at least one data source");
  });

  it('fails on a storage class without a storage size, and on a size that is not a quantity', () => {
    expect(() => synth({ storageClass: 'fast' })).toThrowError("PlatformGrafana: 'storageClass' (fast) needs 'storageSize' (without it the database is an emptyDir)");
    expect(() => synth({ storageSize: 'lots' })).toThrowError("PlatformGrafana: 'storageSize' (lots) must be a positive Kubernetes quantity such as '1Gi'");
  });

  it('errors name the subclass a user instantiated', () => {
    class TeamGrafana extends PlatformGrafana {}
    const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('dev') });
    expect(() => new TeamGrafana(chart, 'Grafana', { containerPort: 80 })).toThrowError(/^TeamGrafana: 'containerPort' \(80\) must be an integer from 1024/);
  });
});
