/**
 * How a pod's container becomes a log stream, shared by Promtail and Alloy: one rule table,
 * rendered as Promtail `relabel_configs` and as Alloy `discovery.relabel` rules.
 */

/** Where the kubelet writes container logs: `<dir>/<ns>_<pod>_<uid>/<container>/<restart>.log`. */
export const POD_LOGS_DIR = '/var/log/pods';

/** The stream labels every pod's logs carry (plus `stream`, set by the CRI stage). */
export const POD_LOG_LABELS = ['namespace', 'pod', 'container', 'app', 'node_name'] as const;
export type PodLogLabel = (typeof POD_LOG_LABELS)[number];

/** One Prometheus relabel rule (Promtail and Alloy both run Prometheus' relabel code). */
export interface RelabelRule {
  readonly sourceLabels?: readonly string[];
  /** @default ';' */
  readonly separator?: string;
  /** Anchored at both ends by Prometheus. @default '(.*)' */
  readonly regex?: string;
  readonly targetLabel?: string;
  /** @default '$1' */
  readonly replacement?: string;
  /** @default 'replace' */
  readonly action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep';
}

/** First non-empty value of the joined source labels (they are joined with `;`). */
const FIRST_NON_EMPTY = '^;*([^;]+)(;.*)?$';

/**
 * The rules, in order:
 * - `__host__` = the pod's node: Promtail ignores targets of other nodes (the discovery is
 *   already filtered to this node by a field selector; this is the second guard).
 * - `app` = the pod label `app` (the seed's `app=bitpin-app`), else `app.kubernetes.io/name`,
 *   else the controller's name without its pod-template hash, else the pod name.
 * - `namespace`, `pod`, `container`, `node_name` from the pod's metadata.
 * - `__path__` = `/var/log/pods/*<uid>/<container>/*.log`; for static (mirror) pods the
 *   directory carries the config hash instead of the API object's uid.
 */
export function podLogRelabelRules(podLogsDir: string = POD_LOGS_DIR): RelabelRule[] {
  return [
    { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: '__host__' },
    {
      sourceLabels: ['__meta_kubernetes_pod_controller_name'],
      regex: '([0-9a-z-.]+?)(-[0-9a-f]{8,10})?',
      targetLabel: '__tmp_controller_name',
    },
    {
      sourceLabels: [
        '__meta_kubernetes_pod_label_app',
        '__meta_kubernetes_pod_label_app_kubernetes_io_name',
        '__tmp_controller_name',
        '__meta_kubernetes_pod_name',
      ],
      regex: FIRST_NON_EMPTY,
      targetLabel: 'app',
    },
    { sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace' },
    { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
    { sourceLabels: ['__meta_kubernetes_pod_container_name'], targetLabel: 'container' },
    { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node_name' },
    {
      sourceLabels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'],
      separator: '/',
      replacement: `${podLogsDir}/*$1/*.log`,
      targetLabel: '__path__',
    },
    {
      sourceLabels: [
        '__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash',
        '__meta_kubernetes_pod_annotation_kubernetes_io_config_hash',
        '__meta_kubernetes_pod_container_name',
      ],
      separator: '/',
      regex: 'true/(.*)',
      replacement: `${podLogsDir}/*$1/*.log`,
      targetLabel: '__path__',
    },
  ];
}

/** Rules as Promtail / Prometheus YAML (`relabel_configs`). */
export function toPromtailRelabel(rules: readonly RelabelRule[]): Array<Record<string, unknown>> {
  return rules.map((r) => ({
    ...(r.sourceLabels ? { source_labels: [...r.sourceLabels] } : {}),
    ...(r.separator !== undefined ? { separator: r.separator } : {}),
    ...(r.regex !== undefined ? { regex: r.regex } : {}),
    ...(r.targetLabel !== undefined ? { target_label: r.targetLabel } : {}),
    ...(r.replacement !== undefined ? { replacement: r.replacement } : {}),
    action: r.action ?? 'replace',
  }));
}
