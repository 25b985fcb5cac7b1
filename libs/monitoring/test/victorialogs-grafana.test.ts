/**
 * The monitoring Grafana with `logging.backend: victorialogs` (issue 22): the dashboards it
 * provisions include the Logs dashboard's LogsQL variant, so it carries the VictoriaLogs data
 * source (uid `victorialogs`, instead of Loki's: there is no Loki), the plugin from its pinned
 * image (no download at start), and its egress reaches VictoriaLogs instead of Loki.
 */
import { SEED } from '@bitpin/config';
import { GRAFANA_PLUGINS_DIR } from '@bitpin/k8s';
import { describe, expect, it } from 'vitest';
import { datasourceUrls } from '../src/index.js';
import { configMapYaml, env, find, synth } from './support/fixtures.js';

const VL = { logging: { backend: 'victorialogs', agent: 'vlagent' } };

describe('the monitoring Grafana with logging.backend victorialogs', () => {
  // GIVEN prod's network policies and the VictoriaLogs store
  const e = env('prod', VL);
  const objs = synth(e);
  const deployment = find(objs, 'Deployment', 'grafana');
  const pod = deployment.spec.template.spec;

  it('provisions the VictoriaLogs data source in place of Loki, next to Prometheus and Alertmanager', () => {
    const file = configMapYaml(objs, 'grafana-datasources', 'datasources.yaml');
    const ds = SEED.grafana.datasources;
    expect(file.datasources.map((d: any) => d.uid)).toEqual([ds.prometheus.uid, ds.victorialogs.uid, ds.alertmanager.uid]);
    expect(file.datasources[1]).toMatchObject({ type: ds.victorialogs.type, url: datasourceUrls(e).victorialogs, isDefault: false });
    expect(datasourceUrls(e).victorialogs).toMatch(new RegExp(`^http://victorialogs\\.logging\\.svc\\.[a-z.]+:${e.logging.victorialogs.port}$`));
  });

  it('installs the plugin from the pinned image by an init container, admitting only that unsigned id', () => {
    expect(pod.initContainers).toHaveLength(1);
    const init = pod.initContainers[0];
    expect(init).toMatchObject({ name: 'install-victorialogs-plugin', image: e.images.grafanaVictoriaLogsPlugin, command: ['cp', '-R', `/plugins/${SEED.grafana.datasources.victorialogs.type}`, `${GRAFANA_PLUGINS_DIR}/`] });
    expect(init.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    // Requests and a memory limit survive the typed serializer (a ResourceQuota/LimitRange needs them).
    expect(init.resources).toEqual({ requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } });
    const grafana = pod.containers[0];
    expect(grafana.env).toEqual(
      expect.arrayContaining([
        { name: 'GF_PATHS_PLUGINS', value: GRAFANA_PLUGINS_DIR },
        { name: 'GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS', value: SEED.grafana.datasources.victorialogs.type },
      ]),
    );
    expect(grafana.volumeMounts).toContainEqual({ name: 'plugins', mountPath: GRAFANA_PLUGINS_DIR, readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'plugins', emptyDir: { sizeLimit: '128Mi' } });
  });

  it('lets the Grafana reach VictoriaLogs (logging, :9428) and not Loki', () => {
    const egress = find(objs, 'NetworkPolicy', 'grafana').spec.egress as any[];
    const toLogging = egress.filter((r) => r.to?.some((p: any) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === SEED.namespaces.logging));
    expect(toLogging).toHaveLength(1);
    expect(toLogging[0].to[0].podSelector.matchLabels['app.kubernetes.io/name']).toBe('victorialogs');
    expect(toLogging[0].ports).toEqual([{ protocol: 'TCP', port: e.logging.victorialogs.port }]);
  });

  it('with the Loki backend (every repository env) nothing of this: Loki data source, no init container', () => {
    const loki = synth(env('prod'));
    const file = configMapYaml(loki, 'grafana-datasources', 'datasources.yaml');
    expect(file.datasources.map((d: any) => d.uid)).toContain(SEED.grafana.datasources.loki.uid);
    expect(find(loki, 'Deployment', 'grafana').spec.template.spec.initContainers).toBeUndefined();
  });
});
