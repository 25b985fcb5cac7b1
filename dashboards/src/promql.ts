import { SEED } from '@bitpin/config';

/**
 * Small PromQL helpers shared by the rules and the dashboards, and the label contract with the
 * scrape configuration (libs/monitoring).
 */

/** Scrape job names (`job` label); the scrape config in libs/monitoring uses the same ones. */
export const JOBS = SEED.monitoring.jobs;

/**
 * Target labels the scrape configuration must attach, besides `job` and `instance`:
 * pod-discovered jobs (bitpin-app, cnpg, loki, log-agent, prometheus, alertmanager, grafana) get
 * `namespace` and `pod` from `__meta_kubernetes_namespace` / `__meta_kubernetes_pod_name`;
 * node-discovered jobs (kubelet, node-exporter) get `node` from `__meta_kubernetes_node_name`;
 * the kubelet job scrapes two paths and labels them `metrics_path` (`/metrics`, `/metrics/cadvisor`)
 * as kubernetes-mixin expects. kube-state-metrics is scraped with `honor_labels: true`, so its own
 * `namespace` / `pod` labels (the objects it describes) win.
 */
export const TARGET_LABELS = { namespace: 'namespace', pod: 'pod', node: 'node', metricsPath: 'metrics_path' } as const;

/** Matchers of cAdvisor's container metrics (job kubelet, path /metrics/cadvisor). */
export const CADVISOR = { job: SEED.monitoring.jobs.cadvisor, metrics_path: '/metrics/cadvisor' } as const;

/** The namespaces the platform runs in (the Kubernetes dashboards and alerts watch these). */
export const PLATFORM_NAMESPACES: readonly string[] = [...new Set(Object.values(SEED.namespaces))];

/** A label matcher: a plain string is `=`, the objects give `=~`, `!=` and `!~`. */
export type Matcher = string | { readonly re: string } | { readonly not: string } | { readonly notRe: string };

export const re = (pattern: string): Matcher => ({ re: pattern });
export const notRe = (pattern: string): Matcher => ({ notRe: pattern });
export const not = (value: string): Matcher => ({ not: value });

/** A regex alternative that matches exactly the given values. */
export function anyOf(values: readonly string[]): { readonly re: string } {
  return { re: values.map(escapeRegex).join('|') };
}

/** `metric{a="b", c=~"d"}` with label values escaped. Matchers keep their insertion order. */
export function sel(metric: string, matchers: Readonly<Record<string, Matcher | undefined>> = {}): string {
  const parts = Object.entries(matchers)
    .filter((e): e is [string, Matcher] => e[1] !== undefined)
    .map(([label, m]) => {
      if (typeof m === 'string') return `${label}=${quote(m)}`;
      if ('re' in m) return `${label}=~${quote(m.re)}`;
      if ('not' in m) return `${label}!=${quote(m.not)}`;
      return `${label}!~${quote(m.notRe)}`;
    });
  return parts.length ? `${metric}{${parts.join(', ')}}` : metric;
}

/** A PromQL double-quoted string literal. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The `le` matcher of a histogram bucket bound. Prometheus 3 normalises integral bounds to
 * `1.0` while 2.x keeps the exposition text (`1`), so integral bounds match both spellings.
 */
export function leMatcher(bound: number): Matcher {
  if (!Number.isFinite(bound) || bound <= 0) throw new Error(`leMatcher: bound (${bound}) must be a positive number`);
  return Number.isInteger(bound) ? { re: `${bound}|${bound}\\.0` } : String(bound);
}

/** Parses a PostgreSQL size setting such as "4GB" (units of 1024) to bytes. */
export function pgSizeBytes(size: string): number {
  const m = /^(\d+)(kB|MB|GB|TB)$/.exec(size);
  if (!m) throw new Error(`pgSizeBytes: "${size}" is not a PostgreSQL size such as "4GB"`);
  const pow = { kB: 1, MB: 2, GB: 3, TB: 4 }[m[2] as 'kB' | 'MB' | 'GB' | 'TB'];
  return Number(m[1]) * 1024 ** pow;
}
