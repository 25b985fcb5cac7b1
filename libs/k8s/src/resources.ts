import type { Resources } from '@bitpin/config';
import { k8s } from 'cdk8s-plus-34';

/** Env-config resources → Kubernetes ResourceRequirements. A missing CPU limit stays missing on purpose. */
export function toResourceRequirements(r: Resources): k8s.ResourceRequirements {
  const limits: Record<string, k8s.Quantity> = { memory: k8s.Quantity.fromString(r.limits.memory) };
  if (r.limits.cpu !== undefined) limits['cpu'] = k8s.Quantity.fromString(r.limits.cpu);
  return {
    requests: {
      cpu: k8s.Quantity.fromString(r.requests.cpu),
      memory: k8s.Quantity.fromString(r.requests.memory),
    },
    limits,
  };
}
