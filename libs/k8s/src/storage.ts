import { k8s } from 'cdk8s-plus-34';

export interface VolumeClaimSpecProps {
  /** Requested size, a Kubernetes quantity (`10Gi`). */
  readonly size: string;
  /**
   * StorageClass of the claim.
   * @default - none: the cluster's default StorageClass
   */
  readonly storageClass?: string;
}

/**
 * The spec of a ReadWriteOnce PersistentVolumeClaim (one pod's volume): for a claim object and
 * for a StatefulSet's `volumeClaimTemplates` alike.
 */
export function volumeClaimSpec(props: VolumeClaimSpecProps): k8s.PersistentVolumeClaimSpec {
  return {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: k8s.Quantity.fromString(props.size) } },
    ...(props.storageClass ? { storageClassName: props.storageClass } : {}),
  };
}
