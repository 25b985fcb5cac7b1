import { isMutableImageRef } from '@bitpin/config';

/*
 * The policy check over every synthesized object. Pure: it reads plain JSON objects (what
 * `chart.toJson()` returns) and reports one violation per broken rule, container and object.
 *
 * A documented exception lives next to the object, as an annotation on the object or on its pod
 * template (see {@link policyExceptions}). The key is a rule id (the whole object is exempt) or
 * `<rule>:<container>` (only that container is). Every exception needs a reason of at least
 * {@link MIN_REASON_LENGTH} characters, must name a known rule and must still be needed.
 */

/** Annotation holding a JSON object `{ "<rule>[:<container>]": "<reason>" }`. */
export const POLICY_EXCEPTIONS_ANNOTATION = 'policy.bitpin.io/exceptions';
export const MIN_REASON_LENGTH = 10;

export const POLICY_RULES = [
  'requests-limits',
  'no-privilege-escalation',
  'read-only-root-fs',
  'run-as-non-root',
  'pinned-image',
  'probes',
  'no-privileged',
  'drop-all-capabilities',
  'no-host-namespaces',
  'no-host-path',
] as const;
export type PolicyRuleId = (typeof POLICY_RULES)[number];
/** The rule that checks the exceptions themselves; it cannot be excepted. */
export const EXCEPTION_RULE = 'policy-exceptions';

export interface PolicyViolation {
  readonly rule: PolicyRuleId | typeof EXCEPTION_RULE;
  /** `Kind/namespace/name` (`Kind/name` when cluster-scoped). */
  readonly object: string;
  /** Empty when the violation is about the pod or the object. */
  readonly container: string;
  readonly message: string;
  /** One line: `Deployment/monitoring/grafana container grafana: no memory limit (rule requests-limits)`. */
  readonly line: string;
}

export interface PolicyOptions {
  /** Image refs the env's image policy allows to float (e.g. the app's `:latest` until a digest is passed). */
  readonly allowMutableImages?: readonly string[];
}

/**
 * The annotation entry that records exceptions, to spread into an object's (or pod template's)
 * `metadata.annotations`: `policyExceptions({ 'run-as-non-root': 'reads root-owned 0640 logs' })`.
 */
export function policyExceptions(exceptions: Readonly<Partial<Record<PolicyRuleId | `${PolicyRuleId}:${string}`, string>>>): Record<string, string> {
  const sorted = Object.fromEntries(Object.entries(exceptions).sort(([a], [b]) => a.localeCompare(b)));
  return { [POLICY_EXCEPTIONS_ANNOTATION]: JSON.stringify(sorted) };
}

interface Json {
  [key: string]: unknown;
}
type Obj = Json & { kind?: string; metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };

interface ContainerView {
  readonly c: Json;
  readonly name: string;
  /** Runs for the pod's lifetime (a container of a long-running workload, or a native sidecar there). */
  readonly longRunning: boolean;
}

interface PodView {
  readonly spec: Json;
  readonly templateAnnotations: Record<string, string>;
  readonly containers: readonly ContainerView[];
}

const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

const asObj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const asArr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

function podOf(o: Obj): PodView | undefined {
  let template: Json;
  switch (o.kind) {
    case 'Pod':
      template = o;
      break;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      template = asObj(asObj(o['spec'])['template']);
      break;
    case 'CronJob':
      template = asObj(asObj(asObj(asObj(o['spec'])['jobTemplate'])['spec'])['template']);
      break;
    default:
      return undefined;
  }
  const spec = asObj(template['spec']);
  const longRunning = LONG_RUNNING.has(o.kind);
  const containers: ContainerView[] = [
    ...asArr(spec['initContainers']).map((c) => ({ c, name: String(c['name']), longRunning: longRunning && c['restartPolicy'] === 'Always' })),
    ...asArr(spec['containers']).map((c) => ({ c, name: String(c['name']), longRunning })),
  ];
  const templateAnnotations = (o.kind === 'Pod' ? {} : asObj(asObj(template['metadata'])['annotations'])) as Record<string, string>;
  return { spec, templateAnnotations, containers };
}

interface Finding {
  readonly rule: PolicyRuleId;
  readonly container: string;
  readonly message: string;
}

type Check = (pod: PodView, opts: PolicyOptions) => Finding[];

/** Field of the container's security context, falling back to the pod's where Kubernetes does. */
function effective(pod: PodView, c: Json, field: string): unknown {
  const own = asObj(c['securityContext'])[field];
  return own !== undefined ? own : asObj(pod.spec['securityContext'])[field];
}

const perContainer =
  (rule: PolicyRuleId, test: (c: Json, pod: PodView, opts: PolicyOptions, cv: ContainerView) => string[]): Check =>
  (pod, opts) =>
    pod.containers.flatMap((cv) => test(cv.c, pod, opts, cv).map((message) => ({ rule, container: cv.name, message })));

/** The rule table. */
const RULES: Readonly<Record<PolicyRuleId, Check>> = {
  // CPU limits are deliberately not required: they throttle (CFS quota) without protecting
  // anyone; the CPU request is what the scheduler and the HPA use. Memory is bounded by a limit.
  'requests-limits': perContainer('requests-limits', (c) => {
    const r = asObj(c['resources']);
    const req = asObj(r['requests']);
    const lim = asObj(r['limits']);
    return [
      ...(req['cpu'] === undefined ? ['no cpu request'] : []),
      ...(req['memory'] === undefined ? ['no memory request'] : []),
      ...(lim['memory'] === undefined ? ['no memory limit'] : []),
    ];
  }),
  'no-privilege-escalation': perContainer('no-privilege-escalation', (c) =>
    asObj(c['securityContext'])['allowPrivilegeEscalation'] === false ? [] : ['allowPrivilegeEscalation is not false'],
  ),
  'read-only-root-fs': perContainer('read-only-root-fs', (c) =>
    asObj(c['securityContext'])['readOnlyRootFilesystem'] === true ? [] : ['root filesystem is writable (readOnlyRootFilesystem is not true)'],
  ),
  'run-as-non-root': perContainer('run-as-non-root', (c, pod) => {
    if (effective(pod, c, 'runAsUser') === 0) return ['runs as UID 0'];
    return effective(pod, c, 'runAsNonRoot') === true ? [] : ['runAsNonRoot is not true'];
  }),
  'pinned-image': perContainer('pinned-image', (c, _pod, opts) => {
    const image = typeof c['image'] === 'string' ? c['image'] : '';
    if (!image) return ['no image'];
    if (opts.allowMutableImages?.includes(image)) return [];
    return isMutableImageRef(image) ? [`image "${image}" is not pinned (use a version tag or @sha256 digest)`] : [];
  }),
  probes: perContainer('probes', (c, _pod, _opts, cv) => {
    if (!cv.longRunning) return [];
    return [
      ...(c['readinessProbe'] ? [] : ['no readiness probe']),
      ...(c['livenessProbe'] ? [] : ['no liveness probe']),
    ];
  }),
  'no-privileged': perContainer('no-privileged', (c) => (asObj(c['securityContext'])['privileged'] === true ? ['runs privileged'] : [])),
  'drop-all-capabilities': perContainer('drop-all-capabilities', (c) => {
    const caps = asObj(asObj(c['securityContext'])['capabilities']);
    const drop = asArr(caps['drop']) as unknown[];
    const add = asArr(caps['add']) as unknown[];
    return [
      ...(drop.includes('ALL') ? [] : ['capabilities.drop does not include ALL']),
      ...(add.length ? [`adds capabilities ${add.join(', ')}`] : []),
    ];
  }),
  'no-host-namespaces': (pod) =>
    (['hostNetwork', 'hostPID', 'hostIPC'] as const)
      .filter((f) => pod.spec[f] === true || (f === 'hostPID' && pod.spec['hostPid'] === true))
      .map((f) => ({ rule: 'no-host-namespaces', container: '', message: `uses the host's namespace (${f})` })),
  'no-host-path': (pod) =>
    asArr(pod.spec['volumes'])
      .filter((v) => v['hostPath'] !== undefined)
      .map((v) => ({ rule: 'no-host-path', container: '', message: `volume ${String(v['name'])} is a hostPath (${String(asObj(v['hostPath'])['path'])})` })),
};

export function objectName(o: Obj): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${o.kind}/${m.namespace}/${m.name}` : `${o.kind}/${m.name}`;
}

function violation(rule: PolicyViolation['rule'], object: string, container: string, message: string): PolicyViolation {
  return { rule, object, container, message, line: `${object}${container ? ` container ${container}` : ''}: ${message} (rule ${rule})` };
}

interface ParsedExceptions {
  readonly entries: readonly { key: string; rule: string; container: string; reason: unknown }[];
  readonly problems: readonly string[];
}

function parseExceptions(annotations: Record<string, string>, where: string): ParsedExceptions {
  const raw = annotations[POLICY_EXCEPTIONS_ANNOTATION];
  if (raw === undefined) return { entries: [], problems: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { entries: [], problems: [`${where} annotation ${POLICY_EXCEPTIONS_ANNOTATION} is not JSON`] };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { entries: [], problems: [`${where} annotation ${POLICY_EXCEPTIONS_ANNOTATION} must be a JSON object of rule → reason`] };
  }
  const entries = Object.entries(parsed as Record<string, unknown>).map(([key, reason]) => {
    const i = key.indexOf(':');
    return { key, rule: i < 0 ? key : key.slice(0, i), container: i < 0 ? '' : key.slice(i + 1), reason };
  });
  return { entries, problems: [] };
}

/** Checks every object against every rule. Returns one violation per finding, in object order. */
export function checkPolicies(objects: readonly unknown[], options: PolicyOptions = {}): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  for (const raw of objects) {
    const o = raw as Obj;
    const name = objectName(o);
    const pod = podOf(o);
    const findings: Finding[] = [];
    if (pod) for (const id of POLICY_RULES) findings.push(...RULES[id](pod, options));
    // The operator builds the database pods from the Cluster; its image is ours to pin.
    if (o.kind === 'Cluster' && typeof asObj(o['spec'])['imageName'] === 'string') {
      const image = asObj(o['spec'])['imageName'] as string;
      if (!options.allowMutableImages?.includes(image) && isMutableImageRef(image)) {
        findings.push({ rule: 'pinned-image', container: '', message: `imageName "${image}" is not pinned (use a version tag or @sha256 digest)` });
      }
    }

    const fromObject = parseExceptions(o.metadata?.annotations ?? {}, 'object');
    const fromTemplate = parseExceptions(pod?.templateAnnotations ?? {}, 'pod template');
    for (const p of [...fromObject.problems, ...fromTemplate.problems]) out.push(violation(EXCEPTION_RULE, name, '', p));
    const exceptions = [...fromObject.entries, ...fromTemplate.entries];
    const used = new Set<string>();
    for (const e of exceptions) {
      if (!(POLICY_RULES as readonly string[]).includes(e.rule)) {
        out.push(violation(EXCEPTION_RULE, name, '', `exception "${e.key}" names no known rule (known: ${POLICY_RULES.join(', ')})`));
        used.add(e.key);
      } else if (typeof e.reason !== 'string' || e.reason.trim().length < MIN_REASON_LENGTH) {
        out.push(violation(EXCEPTION_RULE, name, '', `exception "${e.key}" has no reason (give one of at least ${MIN_REASON_LENGTH} characters)`));
        used.add(e.key);
      } else if (e.container && pod && !pod.containers.some((c) => c.name === e.container)) {
        out.push(violation(EXCEPTION_RULE, name, '', `exception "${e.key}" names no container of this object`));
        used.add(e.key);
      }
    }
    const valid = exceptions.filter((e) => !used.has(e.key));
    for (const f of findings) {
      const match = valid.find((e) => e.rule === f.rule && (e.container === '' || e.container === f.container));
      if (match) used.add(match.key);
      else out.push(violation(f.rule, name, f.container, f.message));
    }
    for (const e of valid) {
      if (!used.has(e.key)) out.push(violation(EXCEPTION_RULE, name, '', `exception "${e.key}" is not needed (rule ${e.rule} finds nothing here); remove it`));
    }
  }
  return out;
}
