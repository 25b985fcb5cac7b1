/**
 * Builds (or finds cached) the deployed Prometheus and Alertmanager versions once per test run:
 * scripts/build-prometheus.sh is a no-op when the cache is warm and takes minutes when cold.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LIB } from './tools.js';

export default function setup(): void {
  const r = spawnSync('bash', [join(LIB, 'scripts/build-prometheus.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`libs/monitoring/scripts/build-prometheus.sh failed (exit ${r.status}); see its message above`);
}
