import { ENV_NAMES, loadEnvConfig, parseDuration, toYaml } from '@bitpin/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  POD_LOG_LABELS,
  alloyConfig,
  lokiConfig,
  lokiLimits,
  podLogRelabelRules,
  promtailConfig,
  toPromtailRelabel,
} from '../src/index.js';
import { checkAlloy, parseAlloy } from './alloy-syntax.js';

describe.each(ENV_NAMES)('generated configs in env %s', (envName) => {
  const env = loadEnvConfig(envName);

  describe('lokiConfig', () => {
    const cfg = lokiConfig(env);

    it('is a single binary with auth off, HTTP 3100 and gRPC 9095, ring in memory', () => {
      expect(cfg.auth_enabled).toBe(false);
      expect(cfg.server).toMatchObject({ http_listen_port: 3100, grpc_listen_port: 9095 });
      expect(cfg.common).toMatchObject({ replication_factor: 1, ring: { kvstore: { store: 'inmemory' } } });
    });

    it('stores TSDB schema v13 with a 24h index on the filesystem', () => {
      expect(cfg.schema_config.configs).toEqual([
        { from: '2024-04-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } },
      ]);
    });

    it('enforces retention through the compactor, with the delete-request store Loki 3.x requires', () => {
      expect(cfg.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
      expect(cfg.limits_config.retention_period).toBe(env.logging.loki.retentionPeriod);
      expect(parseDuration(cfg.limits_config.retention_period)).toBeGreaterThanOrEqual(24 * 3600);
      expect(cfg.limits_config.max_query_lookback).toBe(cfg.limits_config.retention_period);
    });

    it('keeps every path on the volume mounted at /var/loki', () => {
      const paths = JSON.stringify(cfg).match(/"\/[^"]*"/g) ?? [];
      expect(paths.length).toBeGreaterThan(5);
      for (const p of paths) expect(p).toMatch(/^"\/var\/loki(\/|")/);
    });

    it('carries no key Loki 3.x removed, and no 2.x shared_store', () => {
      const text = toYaml(cfg);
      for (const removed of ['shared_store', 'enforce_metric_name', 'max_look_back_period', 'max_transfer_retries', 'boltdb_shipper']) {
        expect(text).not.toContain(removed);
      }
    });
  });

  describe('promtailConfig', () => {
    const cfg = promtailConfig(env) as any;
    const job = cfg.scrape_configs[0];

    it('discovers only the pods of its own node and pushes to the Loki Service', () => {
      expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', selectors: [{ role: 'pod', field: 'spec.nodeName=${HOSTNAME}' }] }]);
      expect(cfg.clients[0].url).toBe('http://loki.logging.svc:3100/loki/api/v1/push');
      expect(cfg.positions.filename).toBe('/run/promtail/positions.yaml');
      expect(cfg.server.http_listen_port).toBe(3101);
    });

    it('parses CRI lines and drops the per-file label', () => {
      expect(job.pipeline_stages).toEqual([{ cri: {} }, { labeldrop: ['filename'] }]);
    });

    it('sets namespace, pod, container, app and node_name, and the /var/log/pods path', () => {
      const targets = job.relabel_configs.map((r: any) => r.target_label);
      for (const l of POD_LOG_LABELS) expect(targets).toContain(l);
      expect(job.relabel_configs).toContainEqual({
        source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'],
        separator: '/',
        target_label: '__path__',
        replacement: '/var/log/pods/*$1/*.log',
        action: 'replace',
      });
    });
  });

  describe('alloyConfig', () => {
    const text = alloyConfig(env);

    it('parses, and uses only known components, attributes and resolvable references', () => {
      const blocks = checkAlloy(text);
      expect(blocks.map((b) => `${b.name}${b.label ? `.${b.label}` : ''}`)).toEqual([
        'logging',
        'discovery.kubernetes.pods',
        'discovery.relabel.pod_logs',
        'local.file_match.pod_logs',
        'loki.source.file.pod_logs',
        'loki.process.pod_logs',
        'loki.write.default',
      ]);
    });

    it('relabels with exactly the rules Promtail gets, in the same order', () => {
      // GIVEN the discovery.relabel rule blocks, read back into Promtail's YAML shape
      const relabel = parseAlloy(text).find((b) => b.name === 'discovery.relabel')!;
      const fromAlloy = relabel.blocks.map((rule) =>
        Object.fromEntries(
          [...rule.attributes].map(([k, v]) => [k, k === 'source_labels' ? (JSON.parse(v.replace(/ , /g, ', ')) as string[]) : (JSON.parse(v) as string)]),
        ),
      );
      // THEN they equal the relabel_configs of the Promtail config (key for key)
      expect(fromAlloy).toEqual((promtailConfig(env) as any).scrape_configs[0].relabel_configs);
    });

    it('filters discovery to its node, parses CRI, drops filename and writes to Loki', () => {
      expect(text).toContain('field = "spec.nodeName=" + sys.env("HOSTNAME")');
      const process = parseAlloy(text).find((b) => b.name === 'loki.process')!;
      expect(process.blocks.map((b) => b.name)).toEqual(['stage.cri', 'stage.label_drop']);
      expect(process.blocks[1]!.attributes.get('values')).toBe('[ "filename" ]');
      expect(parseAlloy(text).find((b) => b.name === 'loki.write')!.blocks[0]!.attributes.get('url')).toBe('"http://loki.logging.svc:3100/loki/api/v1/push"');
    });
  });
});

describe('limits per env', () => {
  it('scale ingestion with Loki memory: dev/staging 1Gi → 4 MB/s, prod 2Gi → 8 MB/s (burst ×2)', () => {
    expect(lokiLimits(loadEnvConfig('dev'))).toMatchObject({ ingestion_rate_mb: 4, ingestion_burst_size_mb: 8, retention_period: '72h' });
    expect(lokiLimits(loadEnvConfig('staging'))).toMatchObject({ ingestion_rate_mb: 4, retention_period: '744h' });
    expect(lokiLimits(loadEnvConfig('prod'))).toMatchObject({ ingestion_rate_mb: 8, ingestion_burst_size_mb: 16, retention_period: '744h' });
  });

  it('take overrides from the caller', () => {
    expect(lokiConfig(loadEnvConfig('dev'), { limits: { ingestion_rate_mb: 16 } }).limits_config.ingestion_rate_mb).toBe(16);
  });
});

describe('the relabel table', () => {
  it('renders Prometheus relabel YAML with explicit actions', () => {
    expect(toPromtailRelabel([{ sourceLabels: ['a'], targetLabel: 'b' }])).toEqual([{ source_labels: ['a'], target_label: 'b', action: 'replace' }]);
    expect(parse(toYaml(toPromtailRelabel(podLogRelabelRules('/x'))))[7].replacement).toBe('/x/*$1/*.log');
  });
});

describe('the Alloy checker is not a rubber stamp', () => {
  const good = alloyConfig(loadEnvConfig('dev'));

  it('fails on an unknown attribute', () => {
    expect(() => checkAlloy(good.replace('path_targets =', 'path_target ='))).toThrowError("local.file_match: unknown attribute 'path_target'");
  });

  it('fails on a reference to an undeclared component', () => {
    expect(() => checkAlloy(good.replace('[loki.write.default.receiver]', '[loki.write.other.receiver]'))).toThrowError(
      "loki.process: reference 'loki.write.other.receiver' names no declared component",
    );
  });

  it('fails on unbalanced braces', () => {
    expect(() => checkAlloy(good.replace('stage.cri {}', 'stage.cri {'))).toThrowError();
  });
});
