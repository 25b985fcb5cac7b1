import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../src/index.js';
import { platformGraph } from '../src/graph.js';

const graph = platformGraph(synthesize('prod').objects);

describe('deployer graph', () => {
  it('draws the seed request flow: NodePort 30505 → bitpin-app-svc → bitpin-app → bitpin-cluster-rw (local: directly)', () => {
    expect(graph).toContain('users((users)) -->|NodePort 30505| Service_bitpin_task_bitpin_app_svc');
    expect(graph).toContain('Service_bitpin_task_bitpin_app_svc --> Deployment_bitpin_task_bitpin_app');
    const local = platformGraph(synthesize('local').objects);
    expect(local).toContain('Deployment_bitpin_task_bitpin_app -->|bitpin-cluster-rw:5432| Cluster_bitpin_task_bitpin_cluster');
    expect(local).not.toMatch(/Pooler|redis/);
  });

  it('prod: the app reaches the database only through the Poolers, and Redis; the backup jobs go to -rw directly', () => {
    const app = graph.split('\n').filter((l) => l.startsWith('  Deployment_bitpin_task_bitpin_app -->'));
    expect(app.sort()).toEqual(
      [
        '  Deployment_bitpin_task_bitpin_app -->|bitpin-cluster-pooler-ro:5432| Pooler_bitpin_task_bitpin_cluster_pooler_ro',
        '  Deployment_bitpin_task_bitpin_app -->|bitpin-cluster-pooler-rw:5432| Pooler_bitpin_task_bitpin_cluster_pooler_rw',
        '  Deployment_bitpin_task_bitpin_app -->|bitpin-redis:6379| Service_bitpin_task_bitpin_redis',
      ].sort(),
    );
    expect(graph).toContain('Pooler_bitpin_task_bitpin_cluster_pooler_rw -->|bitpin-cluster-rw:5432| Cluster_bitpin_task_bitpin_cluster');
    expect(graph).toContain('Pooler_bitpin_task_bitpin_cluster_pooler_ro -->|bitpin-cluster-ro:5432| Cluster_bitpin_task_bitpin_cluster');
    expect(graph).toContain('CronJob_bitpin_task_bitpin_full_backup -->|bitpin-cluster-rw:5432| Cluster_bitpin_task_bitpin_cluster');
    expect(graph).toContain('StatefulSet_monitoring_prometheus -. "scrape :9127" .-> Pooler_bitpin_task_bitpin_cluster_pooler_rw');
  });

  it('draws the metrics flow: Prometheus scrapes the sidecar, the database, node-exporter and the log agent', () => {
    expect(graph).toContain('StatefulSet_monitoring_prometheus -. "scrape :9102" .-> Deployment_bitpin_task_bitpin_app');
    expect(graph).toContain('StatefulSet_monitoring_prometheus -. "scrape :9187" .-> Cluster_bitpin_task_bitpin_cluster');
    expect(graph).toContain('StatefulSet_monitoring_prometheus -. "scrape :9100" .-> DaemonSet_monitoring_node_exporter');
    expect(graph).toContain('Deployment_monitoring_grafana -. "query" .-> Service_monitoring_prometheus');
  });

  it('draws the logs flow: the agent ships to Loki, both Grafanas query it', () => {
    expect(graph).toContain('DaemonSet_logging_promtail == "logs" ==> Service_logging_loki');
    expect(graph).toContain('Deployment_logging_grafana -. "query" .-> Service_logging_loki');
    expect(graph).toContain('users((users)) -->|NodePort 30030| Service_logging_grafana');
  });

  it('the README embeds the current prod diagram (regenerate: npx nx run deployer:readme-graph)', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('<!-- graph:prod:start -->'), readme.indexOf('<!-- graph:prod:end -->'));
    expect(block).toBe(`<!-- graph:prod:start -->\n\`\`\`mermaid\n${graph}\`\`\`\n`);
  });
});
