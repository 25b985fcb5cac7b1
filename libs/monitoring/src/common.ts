import type { EnvConfig, Resources } from '@bitpin/config';
import { selectorLabels, standardLabels } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { MONITORING } from './names.js';

/** Object metadata in the monitoring namespace with the standard labels. */
export function monitoringMeta(env: EnvConfig, name: string, component: string, objectName: string = name): k8s.ObjectMeta {
  return {
    name: objectName,
    namespace: MONITORING.namespace,
    labels: standardLabels(env, { name, component }),
  };
}

/** Pod selector of a monitoring workload (`app.kubernetes.io/name` + `instance`). */
export function podSelector(name: string): Record<string, string> {
  return selectorLabels({ name });
}

/** Small fixed resources for helper containers (reloaders, init steps). */
export const HELPER_RESOURCES: Resources = { requests: { cpu: '5m', memory: '16Mi' }, limits: { memory: '48Mi' } };

/** sha256 of config text, put on a pod template (under {@link CONFIG_CHECKSUM_ANNOTATION}) so a change rolls the pods. */
export { CONFIG_CHECKSUM_ANNOTATION, configChecksum as checksum } from '@bitpin/k8s';

export const port = (n: number) => k8s.IntOrString.fromNumber(n);
export const portName = (n: string) => k8s.IntOrString.fromString(n);
