import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One Prometheus release under test. */
export interface PrometheusRelease {
  readonly name: string;
  readonly prometheus: string;
  readonly promtool: string;
}

/** Debian bookworm's prometheus package (tools/scripts/install-system.sh). */
export const DEBIAN: PrometheusRelease = {
  name: 'prometheus 2.42 (Debian)',
  prometheus: process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus',
  promtool: process.env['PROMTOOL'] ?? '/usr/bin/promtool',
};

/**
 * The deployed version (the image tag in libs/config, v3.5.0), as libs/monitoring builds it from
 * the Go module into a cache outside the repository (libs/monitoring/scripts/build-prometheus.sh,
 * run by the monitoring tests). Only located here, never built: undefined when it is not there.
 */
export function deployedRelease(): PrometheusRelease | undefined {
  const script = resolve(import.meta.dirname, '../../../libs/monitoring/scripts/build-prometheus.sh');
  if (!existsSync(script)) return undefined;
  const r = spawnSync('bash', [script, '--print-bin-dir'], { encoding: 'utf8', timeout: 30_000 });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  const release = { name: `prometheus ${/\/([\d.]+)_[\d.]+\/bin$/.exec(dir)?.[1] ?? '3.x'} (deployed version)`, prometheus: join(dir, 'prometheus'), promtool: join(dir, 'promtool') };
  return dir && existsSync(release.prometheus) && existsSync(release.promtool) ? release : undefined;
}

/** Debian's release, plus the deployed one when it has been built. */
export function releases(): PrometheusRelease[] {
  const deployed = deployedRelease();
  return deployed ? [DEBIAN, deployed] : [DEBIAN];
}
