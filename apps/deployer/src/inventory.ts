import { createHash } from 'node:crypto';
import type { KubeObject } from '@bitpin/kube-client';

/**
 * The inventory of what the deployer owns in a cluster, compatible with kubectl's ApplySet
 * (KEP-3659): one cluster-scoped parent object per env (our set spans namespaces, which a
 * ConfigMap or Secret parent cannot), members labelled `applyset.kubernetes.io/part-of=<id>`.
 * `kubectl apply --prune --applyset=releases.deploy.bitpin.io/bitpin-<env>` understands it.
 */
export const PARENT_GROUP = 'deploy.bitpin.io';
export const PARENT_VERSION = 'v1alpha1';
export const PARENT_KIND = 'Release';
export const PARENT_RESOURCE = 'releases';
export const TOOLING = 'bitpin-deployer/v1';
export const FIELD_MANAGER = 'bitpin-deployer';

export const LABEL_PART_OF = 'applyset.kubernetes.io/part-of';
export const LABEL_ID = 'applyset.kubernetes.io/id';
export const ANN_TOOLING = 'applyset.kubernetes.io/tooling';
export const ANN_GROUP_KINDS = 'applyset.kubernetes.io/contains-group-kinds';
export const ANN_NAMESPACES = 'applyset.kubernetes.io/additional-namespaces';

export function parentName(env: string): string {
  return `bitpin-${env}`;
}

/** `applyset-<base64url(sha256("<name>.<namespace>.<Kind>.<group>"))>-v1`, as kubectl computes it. */
export function applysetId(env: string): string {
  const digest = createHash('sha256').update(`${parentName(env)}..${PARENT_KIND}.${PARENT_GROUP}`).digest('base64url');
  return `applyset-${digest}-v1`;
}

/** The CRD of the parent kind; labelled so kubectl accepts it as an ApplySet parent type. */
export function parentCrd(): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PARENT_RESOURCE}.${PARENT_GROUP}`,
      labels: { 'applyset.kubernetes.io/is-parent-type': 'true', 'app.kubernetes.io/managed-by': FIELD_MANAGER },
    },
    spec: {
      group: PARENT_GROUP,
      scope: 'Cluster',
      names: { kind: PARENT_KIND, plural: PARENT_RESOURCE, singular: 'release', listKind: `${PARENT_KIND}List` },
      versions: [
        {
          name: PARENT_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'The inventory of one bitpin-platform environment (an ApplySet parent).',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    env: { type: 'string', description: 'The environment this release deploys.' },
                    context: { type: 'string', description: 'The kube context it was applied from.' },
                  },
                },
              },
            },
          },
          additionalPrinterColumns: [{ name: 'Env', type: 'string', jsonPath: '.spec.env' }],
        },
      ],
    },
  };
}

export interface ParentState {
  /** `Kind.group` strings (group empty for core), sorted. */
  readonly groupKinds: readonly string[];
  readonly namespaces: readonly string[];
}

export function parentObject(env: string, context: string, state: ParentState): KubeObject {
  return {
    apiVersion: `${PARENT_GROUP}/${PARENT_VERSION}`,
    kind: PARENT_KIND,
    metadata: {
      name: parentName(env),
      labels: { [LABEL_ID]: applysetId(env), 'app.kubernetes.io/managed-by': FIELD_MANAGER },
      annotations: {
        [ANN_TOOLING]: TOOLING,
        [ANN_GROUP_KINDS]: state.groupKinds.join(','),
        [ANN_NAMESPACES]: state.namespaces.join(','),
      },
    },
    spec: { env, context },
  };
}

export function readParentState(parent: KubeObject | undefined): ParentState {
  const ann = parent?.metadata.annotations ?? {};
  const split = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : []);
  return { groupKinds: split(ann[ANN_GROUP_KINDS]), namespaces: split(ann[ANN_NAMESPACES]) };
}

export function groupKindOf(o: Pick<KubeObject, 'apiVersion' | 'kind'>): string {
  // schema.GroupKind.String(): "Deployment.apps", and just "Namespace" for the core group.
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return group ? `${o.kind}.${group}` : o.kind;
}

export function stateOf(objects: readonly KubeObject[]): ParentState {
  const gks = new Set<string>();
  const nss = new Set<string>();
  for (const o of objects) {
    gks.add(groupKindOf(o));
    if (o.metadata.namespace) nss.add(o.metadata.namespace);
  }
  return { groupKinds: [...gks].sort(), namespaces: [...nss].sort() };
}

export function unionState(a: ParentState, b: ParentState): ParentState {
  return {
    groupKinds: [...new Set([...a.groupKinds, ...b.groupKinds])].sort(),
    namespaces: [...new Set([...a.namespaces, ...b.namespaces])].sort(),
  };
}

/** Hash of an object's desired content, stored on it so an unchanged object need not be re-sent. */
export const ANN_CONFIG_HASH = 'deploy.bitpin.io/config-hash';

/**
 * Adds the membership label and the content hash to a synthesized object (done at synth, so
 * the YAML is exactly what is applied).
 */
/** The platform part (library) an object comes from: app, database, cache, backup, monitoring, logging. */
export const ANN_PART = 'deploy.bitpin.io/part';
export const PARTS = ['app', 'database', 'cache', 'backup', 'monitoring', 'logging'] as const;

/** The object with its part named (before {@link withMembership}, which stamps the content hash). */
export function withPart<T extends KubeObject>(o: T, part: string): T {
  return { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [ANN_PART]: part } } };
}

export function partOf(o: KubeObject): string | undefined {
  return o.metadata.annotations?.[ANN_PART];
}

export function withMembership<T extends KubeObject>(o: T, env: string): T {
  return stampHash({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [LABEL_PART_OF]: applysetId(env) } } });
}

/**
 * Sets the content-hash annotation from the object itself (everything but that annotation).
 * The deployer re-stamps every object before applying, so a hand-edited `--from` file can never
 * carry a stale hash that hides its edit.
 */
export function stampHash<T extends KubeObject>(o: T): T {
  // Stamped already by this process (synth, or asEnvSet for --from): the same answer, without
  // hashing ~500 KB again on the apply's critical path. Objects are never changed in place here
  // (every step copies), so an object this function returned still matches its hash.
  if (STAMPED.has(o)) return o;
  const { [ANN_CONFIG_HASH]: _old, ...rest } = o.metadata.annotations ?? {};
  const bare = { ...o, metadata: { ...o.metadata, annotations: rest } } as T;
  if (!Object.keys(rest).length) delete (bare.metadata as { annotations?: unknown }).annotations;
  const hash = createHash('sha256').update(stableJson(bare)).digest('base64url').slice(0, 22);
  const stamped = { ...bare, metadata: { ...bare.metadata, annotations: { ...rest, [ANN_CONFIG_HASH]: hash } } };
  STAMPED.add(stamped);
  return stamped;
}

/** Objects {@link stampHash} returned in this process. */
const STAMPED = new WeakSet<object>();

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * True when every field of `want` is stored in `have` with the same value (the server may add
 * defaults; it must not have dropped or changed anything we sent).
 */
export function isStoredIn(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    if (have === undefined && want.length === 0) return true; // omitempty drops empty lists
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isStoredIn(w, have[i]));
  }
  if (want && typeof want === 'object') {
    if (have === undefined) return Object.values(want).every((w) => isStoredIn(w, undefined));
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, w]) => w === undefined || isStoredIn(w, (have as Record<string, unknown>)[k]));
  }
  if (have === undefined) {
    // Go's `omitempty`: the API server does not store zero values (0, false, "", {}) it was sent.
    return want === 0 || want === false || want === '' || want === null;
  }
  return want === have || (want !== null && have !== null && typeof want !== typeof have && String(want) === String(have));
}

/** Whether a live object already holds exactly what we would send (same hash, no drift). */
export function isUpToDate(want: KubeObject, live: KubeObject | undefined): boolean {
  if (!live) return false;
  const hash = want.metadata.annotations?.[ANN_CONFIG_HASH];
  return Boolean(hash) && live.metadata.annotations?.[ANN_CONFIG_HASH] === hash && isStoredIn(want, live);
}
