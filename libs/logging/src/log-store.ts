import { restrictedPodSecurity, volumeClaimSpec } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import { contentHash, scrapeAnnotations } from './render.js';

/** The label Prometheus' pod discovery keeps targets by; its value is the scrape job name. */
export const SCRAPE_JOB_LABEL = 'bitpin.io/scrape-job';

/** What a single-binary log store (Loki, VictoriaLogs) is made of, beyond its own container. */
export interface LogStoreSpec {
  readonly name: string;
  readonly namespace: string;
  readonly headlessServiceName: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** Its scrape job (pods carry it as {@link SCRAPE_JOB_LABEL}). */
  readonly job: string;
  /** The port its /metrics answers on. */
  readonly metricsPort: number;
  /** Its configuration as text: a change rolls the pod (annotation `checksum/config`). */
  readonly configText: string;
  readonly terminationGracePeriodSeconds: number;
  /** The image's user; the volume is group-owned by it. */
  readonly uid: number;
  readonly container: k8s.Container;
  /** Volumes besides the claim `storage`. */
  readonly volumes?: readonly k8s.Volume[];
  readonly storage: { readonly size: string; readonly storageClass?: string | undefined };
}

/** The client Service `<name>` and the StatefulSet's governing Service `<name>-headless`, both on `ports`. */
export function logStoreServices(scope: Construct, s: Pick<LogStoreSpec, 'name' | 'namespace' | 'headlessServiceName' | 'labels' | 'selector'>, ports: k8s.ServicePort[]): void {
  const meta = (name: string) => ({ name, namespace: s.namespace, labels: s.labels });
  new k8s.KubeService(scope, 'Service', { metadata: meta(s.name), spec: { type: 'ClusterIP', selector: s.selector, ports } });
  new k8s.KubeService(scope, 'HeadlessService', {
    metadata: meta(s.headlessServiceName),
    spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: s.selector, ports },
  });
}

/**
 * One replica with its data on a PersistentVolumeClaim per pod (template `storage`), kept when
 * the StatefulSet is deleted or scaled down: deleting or re-creating it never deletes logs. No
 * API token, no service links, the restricted Pod Security profile.
 */
export function logStoreStatefulSet(scope: Construct, s: LogStoreSpec): void {
  new k8s.KubeStatefulSet(scope, 'Resource', {
    metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
    spec: {
      serviceName: s.headlessServiceName,
      replicas: 1,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      selector: { matchLabels: s.selector },
      template: {
        metadata: {
          labels: { ...s.labels, [SCRAPE_JOB_LABEL]: s.job },
          annotations: { 'checksum/config': contentHash(s.configText), ...scrapeAnnotations(s.metricsPort) },
        },
        spec: {
          serviceAccountName: s.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: s.terminationGracePeriodSeconds,
          securityContext: restrictedPodSecurity({ runAsUser: s.uid, fsGroup: s.uid }),
          containers: [s.container],
          ...(s.volumes?.length ? { volumes: [...s.volumes] } : {}),
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'storage', labels: s.labels }, spec: volumeClaimSpec({ size: s.storage.size, storageClass: s.storage.storageClass }) }],
    },
  });
}
