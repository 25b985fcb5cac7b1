import { k8s } from 'cdk8s-plus-34';

export interface ContainerSecurityProps {
  /**
   * Mount the root filesystem read-only; writable paths must be volumes.
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;
  /**
   * The UID to run as.
   * @default - the image's own user (which must be non-root: `runAsNonRoot` is always set)
   */
  readonly runAsUser?: number;
  /** @default - same as runAsUser */
  readonly runAsGroup?: number;
}

/**
 * A container security context that passes the `restricted` Pod Security Standard: non-root,
 * no privilege escalation, every capability dropped, RuntimeDefault seccomp.
 */
export function restrictedContainerSecurity(props: ContainerSecurityProps = {}): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: props.readOnlyRootFilesystem ?? true,
    runAsNonRoot: true,
    ...(props.runAsUser !== undefined ? { runAsUser: props.runAsUser } : {}),
    ...(props.runAsGroup ?? props.runAsUser) !== undefined ? { runAsGroup: props.runAsGroup ?? props.runAsUser } : {},
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export interface PodSecurityProps {
  /** @default - the image's own user */
  readonly runAsUser?: number;
  /** @default - same as runAsUser */
  readonly runAsGroup?: number;
  /**
   * Group that owns mounted volumes, so a non-root process can write to its PVC.
   * @default - none
   */
  readonly fsGroup?: number;
}

/** Pod-level half of the `restricted` profile. */
export function restrictedPodSecurity(props: PodSecurityProps = {}): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    ...(props.runAsUser !== undefined ? { runAsUser: props.runAsUser } : {}),
    ...((props.runAsGroup ?? props.runAsUser) !== undefined ? { runAsGroup: props.runAsGroup ?? props.runAsUser } : {}),
    ...(props.fsGroup !== undefined ? { fsGroup: props.fsGroup, fsGroupChangePolicy: 'OnRootMismatch' } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
