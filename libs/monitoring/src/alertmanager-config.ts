import type { EnvConfig } from '@bitpin/config';
import { MONITORING } from './names.js';

/*
 * Alertmanager's configuration has two owners:
 *
 * - the repo owns the routing tree, inhibition and timing (this file, rendered into the
 *   `alertmanager-routing` ConfigMap as routing.yml);
 * - the operator owns the receivers — webhook URLs, Slack tokens, SMTP passwords — in a Secret
 *   (`env.monitoring.alertmanager.receiversSecret`, key `receivers.yaml`) that never enters the
 *   repo.
 *
 * routing.yml has every top-level key except `receivers`; receivers.yaml has only `receivers`.
 * The assemble script (also in the ConfigMap) concatenates the two into one alertmanager.yml,
 * checks it with the image's own `amtool check-config`, and only then hands it to Alertmanager:
 * once in an init container (a broken Secret keeps the pod from starting, with amtool's message in
 * the init container's log) and then every 30 s in a sidecar, which swaps in a changed and valid
 * result and POSTs /-/reload (a broken edit of the Secret is logged and the running config kept).
 */

/** Receivers the routing tree sends to; the operator's Secret must define each (it may define more). */
export const ALERTMANAGER_RECEIVERS = {
  /** Anything not matched below (severity `info` or none). */
  default: 'default',
  /** `severity="critical"`: pages someone. */
  critical: 'critical',
  /** `severity="warning"`: a ticket or a chat message. */
  warning: 'warning',
  /** The always-firing `Watchdog` alert, every minute, to an external dead man's switch. */
  watchdog: 'watchdog',
} as const;

/**
 * A receivers.yaml that defines every routed-to receiver with no integration: alerts are accepted,
 * grouped, inhibited and visible in Alertmanager's UI and API, but sent nowhere. For envs without
 * real receivers (local, a developer's dev): the deployer may create the receivers Secret from it
 * when the Secret is missing — never in an env whose alerts someone must see.
 */
export function placeholderReceivers(): string {
  return [
    '# Placeholder: no integrations, alerts go nowhere. Replace with real receivers (libs/monitoring/README.md).',
    'receivers:',
    ...Object.values(ALERTMANAGER_RECEIVERS).map((name) => `  - name: ${name}`),
    '',
  ].join('\n');
}

/**
 * Labels that must be equal for a critical alert to silence the warning (and a warning the info)
 * of the same alert on the same target. A label missing from both counts as equal, so the list
 * may be long: it only narrows inhibition to true pairs. Give both severities of a condition the
 * same `alertname`, as the Kubernetes mixins do.
 */
export const INHIBIT_EQUAL_LABELS = [
  'alertname',
  'namespace',
  'job',
  'instance',
  'service',
  'pod',
  'container',
  'node',
  'persistentvolumeclaim',
  'mountpoint',
  'device',
  'cronjob',
] as const;

/**
 * Alert names of dashboards/ that the inhibitions below refer to (libs/monitoring does not import
 * dashboards/; its tests check these names against the generated rules).
 */
export const INHIBITION_ALERTS = {
  /** A node whose Ready condition is false: its pods' alerts (label `node`) are the same failure. */
  nodeDown: ['KubeNodeNotReady'],
  /** Volume alerts of one component that KubePersistentVolumeFillingUp duplicates (same PVC). */
  componentVolumes: ['CNPGVolumeFillingUp', 'BackupVolumeFillingUp'],
  genericVolume: 'KubePersistentVolumeFillingUp',
  /** The whole database cluster is gone: its per-instance and replication alerts say nothing more. */
  clusterDown: 'CNPGClusterOffline',
  clusterInstance: [
    'CNPGInstanceDown',
    'CNPGNoPrimary',
    'CNPGStreamingReplicasMissing',
    'CNPGReplicationLag',
    'CNPGWALArchiveFailing',
    'BitpinAppDatabaseUnreachable',
  ],
  /** A whole scrape job is gone (label `job`): TargetDown and per-target down alerts of the job repeat it. */
  jobGone: [
    'KubeAPIDown',
    // Not KubeletCAdvisorDown: the kubelet job's TargetDown also counts the /metrics targets.
    'KubeletDown',
    'NodeExporterDown',
    'KubeStateMetricsDown',
    'BitpinAppMetricsAbsent',
    'LokiDown',
    'LogAgentDown',
    'AlertmanagerDown',
    'AlertmanagerClusterDown',
    'GrafanaDown',
    'PrometheusSelfScrapeDown',
  ],
  jobTarget: ['TargetDown', 'BitpinAppSidecarDown'],
  /** Django is down (the sidecars' probes fail): the error, burn and upstream alerts are its symptoms. */
  appDown: 'BitpinAppDown',
  appSymptoms: [
    'BitpinAppHighErrorRate',
    'BitpinAppErrorBudgetBurnFast',
    'BitpinAppErrorBudgetBurnSlow',
    'BitpinAppLatencyBudgetBurnFast',
    'BitpinAppLatencyBudgetBurnSlow',
    'BitpinAppUpstreamFailures',
  ],
  /** A high 5xx rate already pages; the availability burn alerts of the same namespace repeat it. */
  appErrors: 'BitpinAppHighErrorRate',
  appErrorBurn: ['BitpinAppErrorBudgetBurnFast', 'BitpinAppErrorBudgetBurnSlow'],
} as const;

const anyName = (names: readonly string[]) => `alertname=~"${names.join('|')}"`;

export interface AlertmanagerRoute {
  readonly receiver?: string;
  readonly matchers?: readonly string[];
  readonly group_by?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly mute_time_intervals?: readonly string[];
  readonly continue?: boolean;
  readonly routes?: readonly AlertmanagerRoute[];
}

export interface InhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal: readonly string[];
}

/** Everything of alertmanager.yml except `receivers` (which comes from the operator's Secret). */
export interface AlertmanagerRoutingConfig {
  readonly global: { readonly resolve_timeout: string };
  readonly route: AlertmanagerRoute & { readonly receiver: string };
  readonly inhibit_rules: readonly InhibitRule[];
  readonly time_intervals: readonly { readonly name: string; readonly time_intervals: readonly object[] }[];
}

const ALWAYS = 'always';

/**
 * The repo-owned part of alertmanager.yml: routes by severity, a dead man's switch route for
 * `Watchdog`, and inhibition (critical silences warning and info, warning silences info, of the
 * same alert on the same target; `InfoInhibitor` silences info alerts in its namespace; and
 * {@link inhibitOnePagePerFailure}: node down, volume duplicates, cluster or job gone, app down). The tree
 * is the same in every env today; it takes the env so a per-env difference stays a local change.
 */
export function alertmanagerConfig(_env: EnvConfig): AlertmanagerRoutingConfig {
  const r = ALERTMANAGER_RECEIVERS;
  const equal = [...INHIBIT_EQUAL_LABELS];
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: r.default,
      group_by: ['namespace', 'alertname'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        // First, and final: Watchdog must never be grouped with, or inhibited by, anything else.
        {
          matchers: ['alertname="Watchdog"'],
          receiver: r.watchdog,
          group_by: ['alertname'],
          group_wait: '0s',
          group_interval: '1m',
          repeat_interval: '1m',
        },
        // InfoInhibitor exists only to inhibit; it never notifies (muted at all times).
        { matchers: ['alertname="InfoInhibitor"'], receiver: r.default, mute_time_intervals: [ALWAYS] },
        { matchers: ['severity="critical"'], receiver: r.critical, repeat_interval: '1h' },
        { matchers: ['severity="warning"'], receiver: r.warning },
      ],
    },
    inhibit_rules: [
      { source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal },
      { source_matchers: ['severity="warning"'], target_matchers: ['severity="info"'], equal },
      { source_matchers: ['alertname="InfoInhibitor"'], target_matchers: ['severity="info"'], equal: ['namespace'] },
      ...inhibitOnePagePerFailure(),
    ],
    // A time interval with no fields matches every instant.
    time_intervals: [{ name: ALWAYS, time_intervals: [{}] }],
  };
}

/**
 * One broken thing pages once. Each rule needs the label it compares (`equal`) on both sides: a
 * label missing from both counts as equal in Alertmanager, so target matchers require it.
 */
export function inhibitOnePagePerFailure(): InhibitRule[] {
  const a = INHIBITION_ALERTS;
  return [
    // A NotReady node: the alerts of its pods and targets (they carry `node`).
    {
      source_matchers: [anyName(a.nodeDown)],
      target_matchers: ['node=~".+"', `alertname!~"${a.nodeDown.join('|')}"`],
      equal: ['node'],
    },
    // The same PVC: the component's alert (earlier thresholds, better runbook) silences the generic
    // one — a critical any severity, a warning only the warning, so a critical never goes quiet.
    {
      source_matchers: [anyName(a.componentVolumes), 'severity="critical"'],
      target_matchers: [`alertname="${a.genericVolume}"`, 'persistentvolumeclaim=~".+"'],
      equal: ['namespace', 'persistentvolumeclaim'],
    },
    {
      source_matchers: [anyName(a.componentVolumes), 'severity="warning"'],
      target_matchers: [`alertname="${a.genericVolume}"`, 'severity="warning"', 'persistentvolumeclaim=~".+"'],
      equal: ['namespace', 'persistentvolumeclaim'],
    },
    // The database cluster is offline: not each instance again.
    {
      source_matchers: [`alertname="${a.clusterDown}"`],
      target_matchers: [anyName(a.clusterInstance), 'namespace=~".+"'],
      equal: ['namespace'],
    },
    // A whole scrape job is gone: not TargetDown and per-target alerts of the job.
    {
      source_matchers: [anyName(a.jobGone)],
      target_matchers: [anyName(a.jobTarget), 'job=~".+"'],
      equal: ['job'],
    },
    // Django is down: its symptoms in the same namespace.
    {
      source_matchers: [`alertname="${a.appDown}"`],
      target_matchers: [anyName(a.appSymptoms), 'namespace=~".+"'],
      equal: ['namespace'],
    },
    {
      source_matchers: [`alertname="${a.appErrors}"`],
      target_matchers: [anyName(a.appErrorBurn), 'namespace=~".+"'],
      equal: ['namespace'],
    },
  ];
}

export interface AssembleScriptOptions {
  /**
   * Seconds between checks for a changed routing ConfigMap or receivers Secret.
   * @default 30
   */
  readonly intervalSeconds?: number;
}

/**
 * The POSIX sh script (busybox in the Alertmanager image; dash or bash in tests) that assembles
 * alertmanager.yml. `assemble.sh init` assembles once and fails on an invalid result;
 * `assemble.sh watch` re-assembles every interval and reloads Alertmanager when the result
 * changed and passes `amtool check-config`. Paths, the reload URL and the amtool binary can be
 * overridden with environment variables (the tests run it against real binaries on 127.0.0.1).
 */
export function alertmanagerAssembleScript(env: EnvConfig, options: AssembleScriptOptions = {}): string {
  const am = MONITORING.alertmanager;
  const interval = options.intervalSeconds ?? 30;
  if (!Number.isInteger(interval) || interval < 1 || interval > 600) {
    throw new Error(`alertmanagerAssembleScript: 'intervalSeconds' (${interval}) must be an integer between 1 and 600`);
  }
  const secret = env.monitoring.alertmanager.receiversSecret;
  return `#!/bin/sh
# Assembles alertmanager.yml from the repo-owned routing tree (ConfigMap ${am.configMap}) and the
# operator-owned receivers (Secret ${secret}, key ${am.receiversKey}). Generated by libs/monitoring.
#   assemble.sh init    assemble once; exit 1 when the result does not pass amtool check-config
#   assemble.sh watch   every INTERVAL_SECONDS: re-assemble; when changed and valid, swap it in and
#                       POST RELOAD_URL; when invalid, log amtool's message and keep the running one
set -eu
ROUTING="\${ROUTING_FILE:-${am.routingDir}/${am.routingFile}}"
RECEIVERS="\${RECEIVERS_FILE:-${am.receiversDir}/${am.receiversKey}}"
OUT="\${CONFIG_FILE:-${am.configDir}/${am.configFile}}"
RELOAD_URL="\${RELOAD_URL:-http://127.0.0.1:${am.port}/-/reload}"
INTERVAL_SECONDS="\${INTERVAL_SECONDS:-${interval}}"
AMTOOL="\${AMTOOL:-amtool}"

log() { echo "alertmanager-config: $*" >&2; }

# assemble TARGET: routing.yml, then receivers.yaml without YAML document markers.
assemble() {
  if [ ! -s "$RECEIVERS" ]; then
    log "ERROR: $RECEIVERS is missing or empty. Create Secret ${secret} in namespace ${MONITORING.namespace} with key ${am.receiversKey} holding a 'receivers:' list that defines ${Object.values(ALERTMANAGER_RECEIVERS).join(', ')} (see libs/monitoring/README.md)"
    return 1
  fi
  {
    cat "$ROUTING"
    echo
    echo "# ---- receivers: Secret ${secret}, key ${am.receiversKey} (operator-owned) ----"
    sed -e '/^---[[:space:]]*$/d' -e '/^\\.\\.\\.[[:space:]]*$/d' "$RECEIVERS"
  } >"$1"
}

# check FILE: amtool check-config; its message goes to the log on failure.
check() {
  if out=$("$AMTOOL" check-config "$1" 2>&1); then
    return 0
  fi
  log "ERROR: the assembled config does not pass amtool check-config:"
  printf '%s\\n' "$out" | sed -e "s/^Checking '[^']*' *//" -e '/^[[:space:]]*$/d' >&2
  return 1
}

case "\${1:-}" in
  init)
    assemble "$OUT.next" && check "$OUT.next" || { rm -f "$OUT.next"; exit 1; }
    mv -f "$OUT.next" "$OUT"
    log "assembled $OUT"
    ;;
  watch)
    trap 'exit 0' TERM INT
    pending=
    while :; do
      sleep "$INTERVAL_SECONDS" &
      wait $! || true
      if assemble "$OUT.next"; then
        if cmp -s "$OUT.next" "$OUT"; then
          rm -f "$OUT.next"
        elif check "$OUT.next"; then
          mv -f "$OUT.next" "$OUT"
          pending=1
        else
          log "keeping the running config"
          rm -f "$OUT.next"
        fi
      else
        rm -f "$OUT.next"
      fi
      if [ -n "$pending" ]; then
        if wget -q -O /dev/null --post-data='' "$RELOAD_URL"; then
          pending=
          log "config changed: reloaded"
        else
          log "ERROR: POST $RELOAD_URL failed; retrying in $INTERVAL_SECONDS s"
        fi
      fi
    done
    ;;
  *)
    echo "usage: $0 init|watch" >&2
    exit 2
    ;;
esac
`;
}
