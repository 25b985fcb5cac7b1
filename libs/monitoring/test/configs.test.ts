/**
 * The generated configs through the real tools: promtool and amtool of the deployed versions
 * (3.5.0 / 0.28.1, built from their Go modules) and of Debian's packages (2.42 / 0.25). The files
 * checked are the synthesized ConfigMaps' contents; the only rewrites are the directories of the
 * in-cluster files (service-account token and CA, rule files) pointed at a temp directory, and —
 * for Debian's promtool only, which is built without Kubernetes discovery — static targets.
 */
import { ENV_NAMES } from '@bitpin/config';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { placeholderReceivers } from '../src/index.js';
import { SAMPLE_RULES, env, find, synth } from './support/fixtures.js';
import { assemble, receiversFragment } from './support/alertmanager.js';
import { staticDiscovery } from './support/static-discovery.js';
import { runTool as run } from '@bitpin/test-support';
import { describeWithDebian, requireDebian, upstream, type Release } from './support/tools.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const RULES_DIR = '/etc/prometheus/rules';

const SLACK_AND_EMAIL = `receivers:
  - name: default
    email_configs:
      - to: ops@example.org
        from: alertmanager@example.org
        smarthost: smtp.example.org:587
        auth_username: alertmanager
        auth_password: not-a-real-password
  - name: critical
    slack_configs:
      - api_url_file: /etc/alertmanager/receivers/slack-url
        channel: '#bitpin-alerts'
        send_resolved: true
  - name: warning
    slack_configs:
      - api_url_file: /etc/alertmanager/receivers/slack-url
        channel: '#bitpin-warnings'
  - name: watchdog
    webhook_configs:
      - url: https://hc-ping.example.org/bitpin
`;

let tmp: string;
let releases: Release[];
beforeAll(() => {
  if (describeWithDebian.decision.action !== 'run') return;
  tmp = mkdtempSync(join(tmpdir(), 'bitpin-monitoring-configs-'));
  releases = [upstream(), requireDebian()];
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function prepare(envName: string, sub: string) {
  const objs = synth(env(envName), { ruleFiles: [SAMPLE_RULES] });
  const dir = join(tmp, `${envName}-${sub}`);
  const sa = join(dir, 'sa');
  const rules = join(dir, 'rules');
  mkdirSync(sa, { recursive: true });
  mkdirSync(rules, { recursive: true });
  writeFileSync(join(sa, 'token'), 'test-token\n');
  writeFileSync(join(sa, 'ca.crt'), '');
  for (const [name, text] of Object.entries(find(objs, 'ConfigMap', 'prometheus-rules').data ?? {})) writeFileSync(join(rules, name), text);
  const deployed = find(objs, 'ConfigMap', 'prometheus-config').data!['prometheus.yml']!;
  const local = deployed.replaceAll(SA_DIR, sa).replaceAll(RULES_DIR, rules);
  return { objs, dir, deployed, local, rules };
}

describeWithDebian.each(ENV_NAMES)('prometheus.yml of env %s', (envName) => {
  it('passes promtool 3.5.0 check config byte for byte as deployed (syntax, including kubernetes_sd)', () => {
    const { dir, deployed } = prepare(envName, 'syntax');
    writeFileSync(join(dir, 'prometheus.yml'), deployed);
    const r = run(releases[0]!.promtool, ['check', 'config', '--syntax-only', join(dir, 'prometheus.yml')]);
    expect(r.output, r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('passes promtool 3.5.0 check config in full: credential files present, every rule file loaded and checked', () => {
    const { dir, local } = prepare(envName, 'full');
    writeFileSync(join(dir, 'prometheus.yml'), local);
    const r = run(releases[0]!.promtool, ['check', 'config', '--lint=all', '--lint-fatal', join(dir, 'prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
    expect(r.output).toMatch(/SUCCESS: 4 rules found/);
  });

  it('passes Debian promtool 2.42 check config with discovery swapped for static targets (its build has no kubernetes_sd)', () => {
    const { dir, local } = prepare(envName, 'debian');
    writeFileSync(join(dir, 'as-generated.yml'), local);
    const refused = run(releases[1]!.promtool, ['check', 'config', join(dir, 'as-generated.yml')]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/field kubernetes_sd_configs not found/);
    writeFileSync(join(dir, 'prometheus.yml'), staticDiscovery(local, () => '127.0.0.1:9', '127.0.0.1:9'));
    const r = run(releases[1]!.promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
  });
});

describeWithDebian('rule files', () => {
  it('the rules ConfigMap passes promtool check rules of both releases', () => {
    const { rules } = prepare('dev', 'rules');
    for (const rel of releases) {
      const r = run(rel.promtool, ['check', 'rules', join(rules, SAMPLE_RULES.fileName)]);
      expect(r.status, `${rel.name}: ${r.output}`).toBe(0);
      expect(r.output).toMatch(/SUCCESS: 4 rules found/);
    }
  });
});

describeWithDebian.each(ENV_NAMES)('alertmanager.yml of env %s, assembled by the ConfigMap script', (envName) => {
  const objs = synth(env(envName));

  it('passes amtool check-config of both releases with a webhook receivers fragment', () => {
    for (const [i, rel] of releases.entries()) {
      const dir = join(tmp, `${envName}-am-${i}`);
      mkdirSync(dir, { recursive: true });
      const r = assemble(dir, objs, receiversFragment('http://127.0.0.1:9'), rel.amtool);
      expect(r.status, `${rel.name}: ${r.output}`).toBe(0);
      const check = run(rel.amtool, ['check-config', r.out]);
      expect(check.status, check.output).toBe(0);
      expect(check.output).toMatch(/SUCCESS[\s\S]*10 inhibit rules[\s\S]*4 receivers/);
    }
  });

  it('passes amtool check-config of both releases with the placeholder receivers (no integrations)', () => {
    for (const [i, rel] of releases.entries()) {
      const dir = join(tmp, `${envName}-am-placeholder-${i}`);
      mkdirSync(dir, { recursive: true });
      const r = assemble(dir, objs, placeholderReceivers(), rel.amtool);
      expect(r.status, `${rel.name}: ${r.output}`).toBe(0);
    }
  });

  it('passes amtool check-config of both releases with Slack and e-mail receivers', () => {
    for (const [i, rel] of releases.entries()) {
      const dir = join(tmp, `${envName}-am-slack-${i}`);
      mkdirSync(dir, { recursive: true });
      const r = assemble(dir, objs, SLACK_AND_EMAIL, rel.amtool);
      expect(r.status, `${rel.name}: ${r.output}`).toBe(0);
    }
  });
});

describeWithDebian('receivers reading credentials from other keys of the Secret', () => {
  it('passes the deployed amtool 0.28.1 (url_file, auth_password_file, api_url_file); Debian 0.25 lacks url_file', () => {
    const objs = synth(env('prod'));
    const fragment = `${SLACK_AND_EMAIL.replace('auth_password: not-a-real-password', 'auth_password_file: /etc/alertmanager/receivers/smtp-password')}`.replace(
      'url: https://hc-ping.example.org/bitpin',
      'url_file: /etc/alertmanager/receivers/watchdog-url',
    );
    const dir = join(tmp, 'files');
    mkdirSync(dir, { recursive: true });
    const deployed = assemble(dir, objs, fragment, releases[0]!.amtool);
    expect(deployed.status, deployed.output).toBe(0);
    const old = assemble(dir, objs, fragment, releases[1]!.amtool);
    expect(old.status).toBe(1);
    expect(old.output).toMatch(/field url_file not found/);
  });
});

describeWithDebian('a broken receivers Secret never becomes the running config', () => {
  const objs = synth(env('dev'));
  const dir = () => {
    const d = join(tmp, `broken-${Math.random().toString(36).slice(2)}`);
    mkdirSync(d, { recursive: true });
    return d;
  };

  it('fails with amtool\'s reason when a routed-to receiver is missing', () => {
    const r = assemble(dir(), objs, 'receivers:\n  - name: default\n  - name: critical\n  - name: warning\n', releases[0]!.amtool);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/does not pass amtool check-config:\nFAILED: undefined receiver "watchdog" used in route/);
  });

  it('fails when the Secret tries to override the repo-owned routing', () => {
    const r = assemble(dir(), objs, `route:\n  receiver: default\n${receiversFragment('http://127.0.0.1:9').replace('---\n', '')}`, releases[0]!.amtool);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/field route already set/);
  });

  it('fails and says what to create when the Secret has no receivers.yaml', () => {
    const r = assemble(dir(), objs, '', releases[0]!.amtool);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(
      /receivers\.yaml is missing or empty\. Create Secret alertmanager-receivers in namespace monitoring with key receivers\.yaml holding a 'receivers:' list that defines default, critical, warning, watchdog/,
    );
  });
});
