import type { EnvConfig } from '@bitpin/config';

export const PART_OF = 'bitpin-platform';
export const MANAGED_BY = 'bitpin-deployer';
export const ENV_LABEL = 'bitpin.io/env';

export interface LabelProps {
  /** `app.kubernetes.io/name`, e.g. `prometheus`. */
  readonly name: string;
  /** `app.kubernetes.io/component`, e.g. `web`, `database`, `monitoring`. */
  readonly component: string;
  /**
   * `app.kubernetes.io/instance`.
   * @default - the name
   */
  readonly instance?: string;
  /** Extra labels (for example the seed's `app=bitpin-app`). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** The recommended Kubernetes labels plus the env label, identical on every object we own. */
export function standardLabels(env: Pick<EnvConfig, 'name'>, props: LabelProps): Record<string, string> {
  return {
    'app.kubernetes.io/name': props.name,
    'app.kubernetes.io/instance': props.instance ?? props.name,
    'app.kubernetes.io/component': props.component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [ENV_LABEL]: env.name,
    ...props.extra,
  };
}

/** The subset that selects pods: stable for the life of a workload (selectors are immutable). */
export function selectorLabels(props: Pick<LabelProps, 'name' | 'instance'>): Record<string, string> {
  return {
    'app.kubernetes.io/name': props.name,
    'app.kubernetes.io/instance': props.instance ?? props.name,
  };
}
