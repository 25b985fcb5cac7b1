/**
 * The field contract with the LogsQL dashboards (dashboards/ reads `SEED.logging.logFields` from
 * libs/config; it cannot import this library): what the agents here put on a log entry must be
 * what that contract names.
 */
import { loadEnvConfig, SEED } from '@bitpin/config';
import { GRAFANA_PLUGINS_DIR } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { LoggingChart, POD_LOG_LABELS, podLogRelabelRules, VICTORIALOGS_DATASOURCE_UID, VICTORIALOGS_PLUGIN_ID, VLAGENT_FIELDS, vlagentArgs, victoriaLogsDatasource } from '../src/index.js';

describe('the log-field contract (SEED.logging.logFields)', () => {
  it("lokiPush: every field is a label the relabel table gives Promtail's and Alloy's pushes", () => {
    const targets = new Set(podLogRelabelRules().map((r) => r.targetLabel));
    for (const label of Object.values(SEED.logging.logFields.lokiPush)) {
      expect(POD_LOG_LABELS, label).toContain(label);
      expect(targets.has(label), label).toBe(true);
    }
  });

  it("vlagent: VLAGENT_FIELDS is the contract's, and vlagent's stream fields are its namespace, pod and container", () => {
    expect(VLAGENT_FIELDS).toEqual(SEED.logging.logFields.vlagent);
    const env = loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });
    const f = SEED.logging.logFields.vlagent;
    expect(vlagentArgs(env)).toContain(`-kubernetesCollector.streamFields=${f.namespace},${f.pod},${f.container}`);
  });

  it("the logging Grafana's data source has the uid and plugin id the dashboards reference", () => {
    const ds = SEED.grafana.datasources.victorialogs;
    expect([VICTORIALOGS_DATASOURCE_UID, VICTORIALOGS_PLUGIN_ID]).toEqual([ds.uid, ds.type]);
    const env = loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });
    expect(victoriaLogsDatasource(env)).toMatchObject({ uid: ds.uid, name: ds.name, type: ds.type });
  });

  it('the logging Grafana installs the plugin from its image: init container with requests and a memory limit, a bounded emptyDir, only that unsigned id', () => {
    const env = loadEnvConfig('prod', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });
    const objs = Testing.synth(new LoggingChart(Testing.app(), 'logging', { env })) as any[];
    const pod = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'grafana').spec.template.spec;
    expect(pod.initContainers).toHaveLength(1);
    expect(pod.initContainers[0]).toMatchObject({
      name: 'install-victorialogs-plugin',
      image: env.images.grafanaVictoriaLogsPlugin,
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
    });
    expect(pod.volumes).toContainEqual({ name: 'plugins', emptyDir: { sizeLimit: '128Mi' } });
    expect(pod.containers[0].env).toContainEqual({ name: 'GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS', value: SEED.grafana.datasources.victorialogs.type });
    expect(pod.containers[0].env).toContainEqual({ name: 'GF_PATHS_PLUGINS', value: GRAFANA_PLUGINS_DIR });
  });
});
