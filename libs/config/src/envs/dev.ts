import { defineEnv } from '../define.js';

/** Development: the seed architecture as written, smallest footprint. */
export const dev = defineEnv({
  name: 'dev',
  description: 'Local development: the seed architecture as written, smallest footprint',
  kube: { context: 'bitpin-dev' },
  app: { startupProbe: { failureThreshold: 36 } },
  monitoring: {
    prometheus: { retentionTime: '2d', retentionSize: '2GB', storageSize: '5Gi' },
    // Nobody is paged from dev: Alertmanager starts with receivers that send nowhere until an operator provides real ones.
    alertmanager: { placeholderReceivers: true },
  },
  logging: { loki: { storageSize: '5Gi', retentionPeriod: '72h' } },
  backup: { full: { keep: 2 }, retentionDays: 2, storageSize: '10Gi' },
  // The Redis cache (libs/cache) at the defaults: 192Mi, allkeys-lru, no persistence.
  cache: { enabled: true },
});
