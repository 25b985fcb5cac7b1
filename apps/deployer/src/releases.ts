import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { METADATA_ONLY, METADATA_ONLY_LIST, type HttpMethod, type KubeObject, type RequestOptions } from '@bitpin/kube-client';
import type { V1PodSpec } from '@kubernetes/client-node';
import { FIELD_MANAGER } from './inventory.js';

/**
 * Release history, stored the way Helm stores releases: one Secret per revision in a namespace
 * the deployer owns (`bitpin-deployer`), because an applied set holds Secrets (generated ones,
 * ExternalSecret targets) and must never be readable where a ConfigMap would be. The revision's
 * facts (number, time, commit, user, images, outcome …) sit in an annotation, so `history` is one
 * metadata-only LIST; the applied set itself (gzip'd JSON) is read only by `rollback`.
 *
 * Outcomes (Helm's statuses, kapp/Argo's words where Helm has none):
 * - `pending`     written before the wait: applied, not yet known to be ready;
 * - `deployed`    applied and ready — the revision the cluster runs; at most one per env;
 * - `failed`      refused part-way or not ready within the timeout;
 * - `rolled-back` failed, then `--atomic` went back to the previous revision;
 * - `superseded`  was deployed, a later revision replaced it.
 */
export const RELEASE_NAMESPACE = 'bitpin-deployer';
export const RELEASE_SECRET_TYPE = 'bitpin.io/release.v1';
export const LABEL_ENV = 'bitpin.io/release-env';
export const LABEL_REVISION = 'bitpin.io/revision';
export const LABEL_OUTCOME = 'bitpin.io/outcome';
export const ANN_RELEASE = 'bitpin.io/release';
const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';

export const OUTCOMES = ['pending', 'deployed', 'failed', 'rolled-back', 'superseded'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What a revision records; everything but the applied set itself. */
export interface ReleaseInfo {
  readonly env: string;
  readonly revision: number;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly outcome: Outcome;
  /** The workspace's git commit, and whether its tree had uncommitted changes. */
  readonly commit?: string;
  readonly dirty?: boolean;
  /** The kubeconfig user of the context that applied it. */
  readonly user: string;
  readonly context: string;
  /** Every container image of the set, sorted, unique. */
  readonly images: readonly string[];
  readonly objects: number;
  /** The platform parts it covered (`--only`); every part when absent. */
  readonly parts?: readonly string[];
  /** What made it: `apply`, `apply --from <dir>`, `rollback to 3`, … */
  readonly description: string;
  /** Why it failed or was rolled back, one line. */
  readonly reason?: string;
}

export interface Release extends ReleaseInfo {
  readonly set: readonly KubeObject[];
}

/** The part of the Kubernetes client the store needs. */
export interface RequestClient {
  request<T = unknown>(method: HttpMethod, path: string, opts?: RequestOptions): Promise<T>;
}

export function releaseSecretName(env: string, revision: number): string {
  return `bitpin-release.${env}.v${revision}`;
}

/** Every container image of the set's pod templates (and bare pods, CNPG's imageName), sorted. */
export function imagesOf(set: readonly KubeObject[]): string[] {
  const out = new Set<string>();
  const fromPod = (spec: Partial<V1PodSpec> | undefined): void => {
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) if (typeof c?.image === 'string') out.add(c.image);
  };
  type Spec = Partial<V1PodSpec> & {
    template?: { spec?: V1PodSpec };
    jobTemplate?: { spec?: { template?: { spec?: V1PodSpec } } };
    imageName?: string;
  };
  for (const o of set as readonly (KubeObject & { spec?: Spec })[]) {
    fromPod(o.spec);
    fromPod(o.spec?.template?.spec);
    fromPod(o.spec?.jobTemplate?.spec?.template?.spec);
    if (typeof o.spec?.imageName === 'string') out.add(o.spec.imageName);
  }
  return [...out].sort();
}

const execFileAsync = promisify(execFile);
const gzipAsync = promisify(gzip);

/** The workspace's commit and whether it is dirty; undefined outside a git checkout. */
export async function gitState(cwd = process.cwd()): Promise<{ commit: string; dirty: boolean } | undefined> {
  try {
    const opts = { cwd, encoding: 'utf8' as const, timeout: 5_000 };
    const [head, status] = await Promise.all([
      execFileAsync('git', ['rev-parse', 'HEAD'], opts),
      execFileAsync('git', ['status', '--porcelain', '--untracked-files=no'], opts),
    ]);
    return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== '' };
  } catch {
    return undefined;
  }
}

export function encodeSet(set: readonly KubeObject[]): string {
  return gzipSync(JSON.stringify(set), { level: 6 }).toString('base64');
}

/**
 * {@link encodeSet} off the hot path: it starts after the current I/O turn, and the compression
 * runs on libuv's thread pool while the apply's requests travel.
 */
export async function encodeSetAsync(set: readonly KubeObject[]): Promise<string> {
  await new Promise((r) => setImmediate(r));
  return (await gzipAsync(JSON.stringify(set), { level: 6 })).toString('base64');
}

export function decodeSet(data: string, name: string): KubeObject[] {
  try {
    return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as KubeObject[];
  } catch (e) {
    throw new Error(`release ${RELEASE_NAMESPACE}/${name} is unreadable (${(e as Error).message}); pick another revision with --to`, { cause: e });
  }
}

/** The Secret that stores one revision (`encoded`: the set already encoded by {@link encodeSetAsync}). */
export function releaseSecret(release: Release, encoded?: string): KubeObject {
  const { set, ...info } = release;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: RELEASE_SECRET_TYPE,
    metadata: {
      name: releaseSecretName(info.env, info.revision),
      namespace: RELEASE_NAMESPACE,
      labels: {
        [LABEL_MANAGED_BY]: FIELD_MANAGER,
        [LABEL_ENV]: info.env,
        [LABEL_REVISION]: String(info.revision),
        [LABEL_OUTCOME]: info.outcome,
      },
      annotations: { [ANN_RELEASE]: JSON.stringify(info) },
    },
    immutable: false,
    data: { release: encoded ?? encodeSet(set) },
  } as KubeObject;
}

/** The namespace that holds the history: restricted, owned by the deployer. */
export function releaseNamespace(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: RELEASE_NAMESPACE,
      labels: {
        [LABEL_MANAGED_BY]: FIELD_MANAGER,
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
      annotations: { 'bitpin.io/purpose': 'release history of bitpin-deployer (one Secret per revision); deleting it loses rollback' },
    },
  };
}

function infoOf(meta: { name: string; annotations?: Record<string, string> }): ReleaseInfo | undefined {
  const raw = meta.annotations?.[ANN_RELEASE];
  if (!raw) return undefined;
  try {
    const info = JSON.parse(raw) as ReleaseInfo;
    return Number.isInteger(info.revision) && typeof info.env === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The revision `rollback` goes to when no `--to` is given: the newest revision before the latest
 * one that was once deployed and ready (`deployed` or `superseded`). After a failed apply that is
 * the revision still running; after a good one, the one before it (Helm's `rollback <name>`).
 */
export function defaultRollbackTarget(history: readonly ReleaseInfo[]): ReleaseInfo | undefined {
  const sorted = [...history].sort((a, b) => b.revision - a.revision);
  return sorted.slice(1).find((r) => r.outcome === 'deployed' || r.outcome === 'superseded');
}

/** Revisions to delete to keep `keep` of them: the oldest first, never the deployed one. */
export function revisionsToTrim(history: readonly ReleaseInfo[], keep: number): ReleaseInfo[] {
  const sorted = [...history].sort((a, b) => b.revision - a.revision);
  const deployed = sorted.find((r) => r.outcome === 'deployed');
  return sorted.slice(Math.max(1, keep)).filter((r) => r !== deployed);
}

/** Reads and writes one env's revisions. */
export class ReleaseStore {
  constructor(
    private readonly client: RequestClient,
    readonly env: string,
  ) {}

  private get base(): string {
    return `/api/v1/namespaces/${RELEASE_NAMESPACE}/secrets`;
  }

  /** Every revision's facts, newest first: one metadata-only LIST, no Secret data. */
  async history(): Promise<ReleaseInfo[]> {
    const list = await this.client.request<{ items: { metadata: { name: string; annotations?: Record<string, string> } }[] }>('GET', this.base, {
      query: { labelSelector: `${LABEL_MANAGED_BY}=${FIELD_MANAGER},${LABEL_ENV}=${this.env}` },
      accept: METADATA_ONLY_LIST,
      allow404: true,
    });
    const out: ReleaseInfo[] = [];
    for (const item of list?.items ?? []) {
      const info = infoOf(item.metadata);
      if (info && info.env === this.env) out.push(info);
    }
    return out.sort((a, b) => b.revision - a.revision);
  }

  /** One revision with its applied set; undefined when it does not exist. */
  async get(revision: number): Promise<Release | undefined> {
    const name = releaseSecretName(this.env, revision);
    const s = await this.client.request<{ metadata: { name: string; annotations?: Record<string, string> }; data?: { release?: string } }>(
      'GET',
      `${this.base}/${name}`,
      { allow404: true },
    );
    if (!s) return undefined;
    const info = infoOf(s.metadata);
    if (!info || !s.data?.release) throw new Error(`release ${RELEASE_NAMESPACE}/${name} is not a bitpin-deployer release; pick another revision with --to`);
    return { ...info, set: decodeSet(s.data.release, name) };
  }

  /** Stores a new revision (creating the history namespace the first time). Never overwrites one. */
  async create(release: Release, encoded?: string): Promise<void> {
    const body = releaseSecret(release, encoded);
    const post = () =>
      this.client.request('POST', this.base, { body, query: { fieldManager: FIELD_MANAGER }, accept: METADATA_ONLY });
    try {
      await post();
    } catch (e) {
      if ((e as { status?: number }).status !== 404) throw e;
      await this.client.request('PATCH', `/api/v1/namespaces/${RELEASE_NAMESPACE}`, {
        body: releaseNamespace(),
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: FIELD_MANAGER, force: true },
      });
      await post();
    }
  }

  /** Changes a revision's outcome (and reason), keeping everything else. */
  async setOutcome(info: ReleaseInfo, outcome: Outcome, reason?: string): Promise<ReleaseInfo> {
    const next: ReleaseInfo = { ...info, outcome, ...(reason ? { reason } : {}) };
    await this.client.request('PATCH', `${this.base}/${releaseSecretName(this.env, info.revision)}`, {
      body: { metadata: { labels: { [LABEL_OUTCOME]: outcome }, annotations: { [ANN_RELEASE]: JSON.stringify(next) } } },
      contentType: 'application/merge-patch+json',
      accept: METADATA_ONLY,
    });
    return next;
  }

  /** Deletes every revision of the env (destroy); the namespace stays for the other envs. */
  async deleteAll(): Promise<void> {
    await this.client.request('DELETE', this.base, {
      query: { labelSelector: `${LABEL_MANAGED_BY}=${FIELD_MANAGER},${LABEL_ENV}=${this.env}` },
      allow404: true,
    });
  }

  async delete(revision: number): Promise<void> {
    await this.client.request('DELETE', `${this.base}/${releaseSecretName(this.env, revision)}`, { allow404: true });
  }
}
