/**
 * TEST-ONLY rewrite of a generated prometheus.yml for running it outside a cluster: every
 * `kubernetes_sd_configs` becomes `static_configs` (there is no API server to discover from, and
 * Debian's 2.42 build has no Kubernetes discovery at all), relabel rules that read
 * `__meta_kubernetes_*` labels go with it (static targets have none), and the https jobs
 * (apiserver, kubelet) are scraped over plain http without the in-cluster token and CA. Everything
 * else — job names, metrics paths, the job/metrics_path relabelling, honor_labels, rule_files,
 * intervals — is left as generated.
 */
import { parse, stringify } from 'yaml';

export function staticDiscovery(prometheusYml: string, targetFor: (job: string) => string, alertmanager: string): string {
  const cfg = parse(prometheusYml);
  const swap = (sc: any, target: string) => {
    delete sc.kubernetes_sd_configs;
    sc.static_configs = [{ targets: [target] }];
    const rules = (sc.relabel_configs ?? []).filter(
      (r: any) => !(r.source_labels ?? []).some((l: string) => l.startsWith('__meta_kubernetes_')),
    );
    if (rules.length) sc.relabel_configs = rules;
    else delete sc.relabel_configs;
    if (sc.scheme === 'https') {
      sc.scheme = 'http';
      delete sc.tls_config;
      delete sc.authorization;
    }
  };
  for (const sc of cfg.scrape_configs) swap(sc, targetFor(sc.job_name));
  for (const am of cfg.alerting.alertmanagers) swap(am, alertmanager);
  return stringify(cfg, { lineWidth: 0 });
}
