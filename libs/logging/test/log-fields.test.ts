/**
 * The field contract with the LogsQL dashboards (dashboards/ reads `SEED.logging.logFields` from
 * libs/config; it cannot import this library): what the agents here put on a log entry must be
 * what that contract names.
 */
import { loadEnvConfig, SEED } from '@bitpin/config';
import { describe, expect, it } from 'vitest';
import { POD_LOG_LABELS, podLogRelabelRules, VICTORIALOGS_DATASOURCE_UID, VICTORIALOGS_PLUGIN_ID, VLAGENT_FIELDS, vlagentArgs, victoriaLogsDatasource } from '../src/index.js';

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
});
