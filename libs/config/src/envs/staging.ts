import { defineEnv } from '../define.js';

/** Prod's shape at a smaller size: every hardening switch on, so prod's policies are proven here first. */
export const staging = defineEnv({
  name: 'staging',
  description: 'Pre-production: prod hardening at reduced size',
  kube: { context: 'bitpin-staging' },
  deploy: { atomic: true, confirm: true },
  imagePolicy: {
    requireImmutable: true,
    allowMutable: { app: 'upstream publishes only :latest; the release pipeline passes --image app=<repo>@sha256:<digest>' },
  },
  app: {
    replicas: 2,
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
    resources: { requests: { cpu: '250m', memory: '384Mi' }, limits: { memory: '768Mi' } },
  },
  // Prod's pooling and read replicas, at prod's pool sizes (so prod's settings are proven here first).
  database: { storageSize: '10Gi', podAntiAffinity: 'required', readReplicas: { enabled: true }, pooler: { enabled: true } },
  backup: { full: { keep: 7 }, retentionDays: 7 },
  // The Redis cache (libs/cache) at the defaults: 192Mi, allkeys-lru, no persistence.
  cache: { enabled: true },
  monitoring: { alertmanager: { replicas: 2 } },
  features: {
    networkPolicies: {
      enabled: true,
      // The bitpin-staging cluster's address plan, prod's shape: pods and ClusterIPs in kubeadm's
      // ranges (the defaults), nodes in 10.1.0.0/16, the API server on the control-plane nodes in
      // its first /24. Check them against the cluster when it changes (see prod.ts).
      cluster: { nodeCidrs: ['10.1.0.0/16'] },
      apiServer: { cidrs: ['10.1.0.0/24'] },
    },
    podSecurityLevel: 'restricted',
    resourceQuotas: { enabled: true },
  },
});
