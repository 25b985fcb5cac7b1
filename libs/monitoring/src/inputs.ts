/*
 * What the deployer hands in: the dashboards' JSON and the alert-rule files (dashboards/ builds
 * them; this library never imports it). Structurally typed, checked here with one-line errors.
 */

/** One Grafana dashboard, as `buildDashboards(env)` in dashboards/ returns it. */
export interface DashboardInput {
  /** Grafana uid: 1-40 letters, digits, `-` or `_`. Must equal `json.uid` when the JSON has one. */
  readonly uid: string;
  readonly title: string;
  /** File name in the dashboards directory, e.g. `bitpin-app.json`. */
  readonly fileName: string;
  /** The dashboard model (what Grafana's "Export → JSON" shows), not a Kubernetes envelope. */
  readonly json: Record<string, unknown>;
}

/** One Prometheus rule file, as `buildRuleFiles(env)` in dashboards/ returns it. */
export interface RuleFileInput {
  /** File name in the rules directory, e.g. `kubernetes.rules.yaml` (must end in .yaml or .yml). */
  readonly fileName: string;
  /** The rule file's text (`groups: …`). */
  readonly yaml: string;
}

/**
 * A ConfigMap holds at most 1 MiB in total (keys, values and metadata); stay clear of it so
 * labels and annotations fit too.
 */
export const CONFIGMAP_DATA_LIMIT = 1_000_000;

const RULE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$/;
const DASHBOARD_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.json$/;
const DASHBOARD_UID = /^[A-Za-z0-9_-]{1,40}$/;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const show = (v: unknown) => JSON.stringify(v);

/** Checks the rule files; returns them unchanged. Throws one line naming the prop, the value and the rule. */
export function checkRuleFiles(owner: string, files: readonly RuleFileInput[]): readonly RuleFileInput[] {
  const seen = new Set<string>();
  let total = 0;
  files.forEach((f, i) => {
    const at = `${owner}: 'ruleFiles[${i}]`;
    if (!RULE_FILE_NAME.test(f.fileName)) {
      throw new Error(`${at}.fileName' (${show(f.fileName)}) must be letters, digits, '.', '_' or '-' ending in .yaml or .yml`);
    }
    if (seen.has(f.fileName)) throw new Error(`${at}.fileName' (${show(f.fileName)}) is used by an earlier rule file; file names must be unique`);
    seen.add(f.fileName);
    if (!/^\s*groups\s*:/m.test(f.yaml)) {
      throw new Error(`${at}.yaml' (${f.fileName}) is not a Prometheus rule file: it has no top-level 'groups:' key`);
    }
    total += bytes(f.fileName) + bytes(f.yaml);
  });
  if (total > CONFIGMAP_DATA_LIMIT) {
    throw new Error(
      `${owner}: 'ruleFiles' total ${total} bytes, more than the ${CONFIGMAP_DATA_LIMIT} a ConfigMap can carry; drop or shorten rule files`,
    );
  }
  return files;
}

/** A dashboard checked and ready to mount: `json` carries the uid and title, `configMapName` is unique. */
export interface CheckedDashboard extends DashboardInput {
  readonly configMapName: string;
  readonly text: string;
}

/** Checks the dashboards and names their ConfigMaps. Throws one line naming the prop, the value and the rule. */
export function checkDashboards(owner: string, prefix: string, dashboards: readonly DashboardInput[]): readonly CheckedDashboard[] {
  const uids = new Set<string>();
  const files = new Set<string>();
  const names = new Map<string, string>();
  return dashboards.map((d, i) => {
    const at = `${owner}: 'dashboards[${i}]`;
    if (!DASHBOARD_UID.test(d.uid)) throw new Error(`${at}.uid' (${show(d.uid)}) must be 1-40 letters, digits, '-' or '_' (Grafana's uid rule)`);
    if (uids.has(d.uid)) throw new Error(`${at}.uid' (${show(d.uid)}) is used by an earlier dashboard; uids must be unique`);
    uids.add(d.uid);
    if (!DASHBOARD_FILE_NAME.test(d.fileName)) {
      throw new Error(`${at}.fileName' (${show(d.fileName)}) must be letters, digits, '.', '_' or '-' ending in .json`);
    }
    if (files.has(d.fileName)) throw new Error(`${at}.fileName' (${show(d.fileName)}) is used by an earlier dashboard; file names must be unique`);
    files.add(d.fileName);
    if (typeof d.title !== 'string' || d.title.trim() === '') throw new Error(`${at}.title' (${show(d.title)}) must be a non-empty string`);
    if ('kind' in d.json && 'spec' in d.json) {
      throw new Error(
        `${at}.json' (${d.uid}) is a Kubernetes-style envelope (kind ${show(d.json['kind'])}); pass the dashboard model itself (its 'spec' for v1 dashboards) for file provisioning`,
      );
    }
    if (d.json['uid'] !== undefined && d.json['uid'] !== d.uid) {
      throw new Error(`${at}.json.uid' (${show(d.json['uid'])}) differs from 'dashboards[${i}].uid' (${show(d.uid)}); they must be equal`);
    }
    const configMapName = `${prefix}${d.uid.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.replace(/-+$/, '');
    const clash = names.get(configMapName);
    if (clash) {
      throw new Error(`${at}.uid' (${show(d.uid)}) and uid ${show(clash)} both map to ConfigMap ${configMapName}; make them differ in more than case or '_'`);
    }
    names.set(configMapName, d.uid);
    // Drop a stale numeric id: Grafana assigns its own, and the uid is the identity.
    const { id: _id, ...model } = d.json;
    const json = { ...model, uid: d.uid, title: typeof model['title'] === 'string' ? model['title'] : d.title };
    // Compact: ~40% smaller than indented JSON (prod's dashboards: 142 vs 243 KB), which every
    // write, LIST and watch of these ConfigMaps carries; Grafana reads either. The readable
    // copies are the files dashboards:generate writes.
    const text = JSON.stringify(json);
    if (bytes(text) > CONFIGMAP_DATA_LIMIT) {
      throw new Error(`${at}' (${d.uid}) is ${bytes(text)} bytes of JSON, more than the ${CONFIGMAP_DATA_LIMIT} a ConfigMap can carry; split the dashboard`);
    }
    return { ...d, json, configMapName, text };
  });
}
