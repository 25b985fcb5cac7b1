import { ENV_NAMES, loadEnvConfig, type EnvConfig } from '@bitpin/config';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRuleFiles } from '../src/index.js';
import { promtool, RuleIndex, writePromtoolSuite, type PromtoolCase } from './promtool.js';
import { deployedRelease, releases } from './support/releases.js';
import { appCases } from './rules/app.cases.js';
import { backupCases } from './rules/backups.cases.js';
import { cacheCases } from './rules/cache.cases.js';
import { databaseCases } from './rules/database.cases.js';
import { kubernetesCases } from './rules/kubernetes.cases.js';
import { loggingCases } from './rules/logging.cases.js';
import { metaCases } from './rules/meta.cases.js';
import { nodeCases } from './rules/nodes.cases.js';
import { scrapeCases } from './rules/scrape.cases.js';

type CaseFactory = (env: EnvConfig, r: RuleIndex) => PromtoolCase[];
/** promtool unit tests, per generated rule file. */
export const CASES: Readonly<Record<string, CaseFactory>> = {
  'bitpin-app.rules.yaml': appCases,
  'cnpg.rules.yaml': databaseCases,
  'backup.rules.yaml': backupCases,
  'kubernetes.rules.yaml': kubernetesCases,
  'nodes.rules.yaml': nodeCases,
  'logging.rules.yaml': loggingCases,
  'meta.rules.yaml': metaCases,
  'scrape.rules.yaml': scrapeCases,
  'redis.rules.yaml': cacheCases,
};

/** Every env of the repository, plus a 3-instance database (the only shape with the warning variant of CNPGStreamingReplicasMissing). */
const ENVS: ReadonlyArray<{ label: string; env: EnvConfig }> = [
  ...ENV_NAMES.map((name) => ({ label: name, env: loadEnvConfig(name) })),
  { label: 'prod-3-instances', env: loadEnvConfig('prod', { overrides: { database: { instances: 3 } } }) },
  // The VictoriaLogs store and vlagent (logging.backend / logging.agent), whose alerts no repository env has yet.
  { label: 'dev-victorialogs', env: loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } }) },
];

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const RELEASES = releases();

it('runs promtool of the deployed Prometheus too, when libs/monitoring has built it', () => {
  // Informational: the deployed release (v3.5.0) is built from its Go module by the monitoring
  // tests; without it only Debian's 2.42 runs.
  if (!deployedRelease()) console.warn('dashboards: Prometheus 3.x promtool not built (libs/monitoring/scripts/build-prometheus.sh); rules tested with 2.42 only');
  expect(RELEASES.length).toBeGreaterThanOrEqual(1);
});

describe.each(ENVS)('rules of env $label', ({ label, env }) => {
  const files = buildRuleFiles(env);
  const r = new RuleIndex(files);

  it.each(RELEASES)('pass promtool check rules of $name', async (release) => {
    const { dir } = await writePromtoolSuite(files, {}, `${label}-check`);
    dirs.push(dir);
    const res = await promtool(release.promtool, ['check', 'rules', ...files.map((f) => join(dir, f.fileName))]);
    expect(res.output).toContain('SUCCESS');
    expect(res.ok, res.output).toBe(true);
  }, 30_000);

  it('have a promtool case for every alert: one where it fires (with its severity) and one where it stays silent', () => {
    const checks = Object.entries(CASES).flatMap(([, make]) => make(env, r).flatMap((c) => c.alert_rule_test));
    const missing: string[] = [];
    for (const rule of r.rules) {
      const sev = rule.labels.severity;
      const fires = checks.some((c) => c.alertname === rule.alert && c.exp_alerts.some((a) => a.exp_labels['severity'] === sev));
      // The Watchdog must always fire; it has no silent case by design.
      const silent = rule.alert === 'Watchdog' || checks.some((c) => c.alertname === rule.alert && c.exp_alerts.length === 0);
      if (!fires) missing.push(`${rule.alert}/${sev}: no case where it fires`);
      if (!silent) missing.push(`${rule.alert}/${sev}: no case where it stays silent`);
    }
    expect(missing).toEqual([]);
    // Every check names an alert that exists in this env's rules.
    const names = new Set(r.rules.map((x) => x.alert));
    expect(checks.filter((c) => !names.has(c.alertname)).map((c) => c.alertname)).toEqual([]);
  });

  // Debian's promtool runs every env; the deployed release (slower to start, same semantics
  // except range edges) runs the prod shapes to keep CPU time down.
  const unitReleases = label.startsWith('prod') ? RELEASES : RELEASES.slice(0, 1);
  it.each(unitReleases)('pass their promtool unit tests with $name', async (release) => {
    const cases = Object.fromEntries(Object.entries(CASES).map(([file, make]) => [file, make(env, r)]));
    const { dir, testFiles } = await writePromtoolSuite(files, cases, label);
    dirs.push(dir);
    const res = await promtool(release.promtool, ['test', 'rules', ...testFiles], dir);
    expect(res.ok, res.output).toBe(true);
  }, 120_000);
});
