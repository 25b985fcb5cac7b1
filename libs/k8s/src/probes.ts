import { k8s } from 'cdk8s-plus-34';

export interface HttpProbeProps {
  readonly path: string;
  /** Port number or container port name. */
  readonly port: number | string;
  /** @default 0 */
  readonly initialDelaySeconds?: number;
  /** @default 10 */
  readonly periodSeconds?: number;
  /** @default 3 */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly failureThreshold?: number;
}

export function httpProbe(props: HttpProbeProps): k8s.Probe {
  return {
    httpGet: {
      path: props.path,
      port: typeof props.port === 'number' ? k8s.IntOrString.fromNumber(props.port) : k8s.IntOrString.fromString(props.port),
    },
    // 0 is the API default and is not stored (omitempty): leave it out so what we send is what is stored.
    ...(props.initialDelaySeconds ? { initialDelaySeconds: props.initialDelaySeconds } : {}),
    periodSeconds: props.periodSeconds ?? 10,
    timeoutSeconds: props.timeoutSeconds ?? 3,
    failureThreshold: props.failureThreshold ?? 3,
    successThreshold: 1,
  };
}
