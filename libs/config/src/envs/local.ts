import { defineEnv } from '../define.js';

/**
 * This machine: the embedded control plane from tools/k8s-testenv (etcd, kube-apiserver,
 * controllers, kwok fake nodes), started on demand by the deployer. Dev's shape, so the README's
 * main command deploys the whole platform for real on a fresh machine.
 */
export const local = defineEnv({
  name: 'local',
  description: 'The embedded local control plane (tools/k8s-testenv), started on demand',
  kube: { context: 'bitpin-local', embedded: true },
  app: { startupProbe: { failureThreshold: 36 } },
  monitoring: {
    prometheus: { retentionTime: '1d', retentionSize: '1GB', storageSize: '2Gi' },
    alertmanager: { placeholderReceivers: true },
  },
  logging: { loki: { storageSize: '2Gi', retentionPeriod: '24h' } },
  backup: { full: { keep: 1 }, retentionDays: 1, storageSize: '5Gi' },
});
