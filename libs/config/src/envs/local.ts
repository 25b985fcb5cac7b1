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
  // The embedded control plane's ranges (tools/k8s-testenv: --service-cluster-ip-range,
  // kwok's --cidr, the fake nodes' InternalIPs), for when network policies are tried here.
  features: { networkPolicies: { cluster: { podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/16'], nodeCidrs: ['10.255.0.0/24'] } } },
});
