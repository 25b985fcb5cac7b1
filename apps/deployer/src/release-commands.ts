import type { KubeObject } from '@bitpin/kube-client';
import { PreflightError } from '@bitpin/kube-client';
import {
  defaultRollbackTarget,
  encodeSetAsync,
  gitState,
  imagesOf,
  RELEASE_NAMESPACE,
  ReleaseStore,
  revisionsToTrim,
  type Outcome,
  type ReleaseInfo,
  type RequestClient,
} from './releases.js';
import type { Reporter } from './reporter.js';

/** What an apply records about itself. */
export interface RecordOptions {
  /** `apply`, `apply --from dist/manifests/prod`, `rollback to 3`. */
  readonly description: string;
  /** Revisions kept per env (the env's `deploy.history`). */
  readonly keep: number;
  /** The kubeconfig user of the context. */
  readonly user: string;
  /** The platform parts the apply covered (`--only`); all when absent. */
  readonly parts?: readonly string[];
  /** A rollback records the commit of the revision it restores, not the workspace's. */
  readonly git?: { commit: string; dirty: boolean } | undefined;
}

/**
 * One apply's revision: `begin` stores the applied set as `pending` right after the writes (so a
 * deployer that dies while waiting still leaves a revision to roll back from), `finish` sets the
 * outcome, marks the revision it replaced `superseded` and trims the history to `keep`.
 */
export class RevisionRecorder {
  readonly store: ReleaseStore;
  private history: ReleaseInfo[] | undefined;
  private info: ReleaseInfo | undefined;

  constructor(
    client: RequestClient,
    readonly env: string,
    readonly context: string,
    private readonly opts: RecordOptions,
  ) {
    this.store = new ReleaseStore(client, env);
  }

  private reading: Promise<ReleaseInfo[]> | undefined;

  private prepared: { set: readonly KubeObject[]; data: Promise<string> } | undefined;
  private git: Promise<{ commit: string; dirty: boolean } | undefined> | undefined;

  /**
   * Starts what a revision needs while the apply's writes travel: the history read, the workspace's
   * git state and, given the set to record, its encoding. {@link before} and {@link begin} await them.
   */
  prefetch(set?: readonly KubeObject[]): void {
    this.reading ??= this.store.history();
    this.reading.catch(() => undefined); // awaited by before(); this only keeps an early failure from counting as unhandled
    this.git ??= 'git' in this.opts ? Promise.resolve(this.opts.git) : gitState();
    if (set && !this.prepared) {
      this.prepared = { set, data: encodeSetAsync(set) };
      this.prepared.data.catch(() => undefined);
    }
  }

  /** The history as it was before this apply (read once). */
  async before(): Promise<ReleaseInfo[]> {
    this.prefetch();
    this.history ??= await this.reading!;
    return this.history;
  }

  get revision(): ReleaseInfo | undefined {
    return this.info;
  }

  /**
   * Stores the revision: `pending` while it is waited for, or straight away `deployed` when the
   * apply does not wait (one write fewer).
   */
  async begin(set: readonly KubeObject[], outcome: 'pending' | 'deployed' = 'pending'): Promise<ReleaseInfo> {
    const history = await this.before();
    const git = await this.git;
    const info: ReleaseInfo = {
      env: this.env,
      revision: (history[0]?.revision ?? 0) + 1,
      time: new Date().toISOString(),
      outcome,
      ...(git ? { commit: git.commit, dirty: git.dirty } : {}),
      user: this.opts.user,
      context: this.context,
      images: imagesOf(set),
      objects: set.length,
      ...(this.opts.parts ? { parts: [...this.opts.parts] } : {}),
      description: this.opts.description,
    };
    await this.store.create({ ...info, set }, this.prepared?.set === set ? await this.prepared.data : undefined);
    this.info = info;
    if (outcome === 'deployed') await this.settle();
    return info;
  }

  async finish(outcome: Exclude<Outcome, 'pending' | 'superseded'>, reason?: string): Promise<ReleaseInfo | undefined> {
    if (!this.info) return undefined;
    if (this.info.outcome !== outcome || reason) this.info = await this.store.setOutcome(this.info, outcome, reason);
    else return this.info; // stored as deployed already (no wait)
    await this.settle();
    return this.info;
  }

  /** The revision it replaces becomes `superseded` (when this one is deployed); the history is trimmed to `keep`. */
  private async settle(): Promise<void> {
    if (!this.info) return;
    const history = [this.info, ...(this.history ?? [])];
    const writes: Promise<unknown>[] = [];
    if (this.info.outcome === 'deployed') {
      for (const old of history.slice(1).filter((r) => r.outcome === 'deployed')) {
        writes.push(this.store.setOutcome(old, 'superseded').then((next) => (history[history.indexOf(old)] = next)));
      }
    }
    await Promise.all(writes);
    await Promise.all(revisionsToTrim(history, this.opts.keep).map((old) => this.store.delete(old.revision)));
  }
}

export interface HistoryReport {
  readonly env: string;
  readonly revisions: readonly ReleaseInfo[];
}

const short = (c: string | undefined, dirty: boolean | undefined) => (c ? `${c.slice(0, 10)}${dirty ? '+dirty' : ''}` : '-');

/** The env's revisions, newest first, as a table (or JSON). */
export async function historyCommand(client: RequestClient, env: string, report: Reporter): Promise<HistoryReport> {
  const revisions = await new ReleaseStore(client, env).history();
  if (!revisions.length) {
    report.line(`history ${env}: no revisions in this cluster (namespace ${RELEASE_NAMESPACE}); the first apply that changes something records revision 1`);
    return { env, revisions };
  }
  const rows = [
    ['REVISION', 'UPDATED', 'OUTCOME', 'COMMIT', 'USER', 'OBJECTS', 'DESCRIPTION'],
    ...revisions.map((r) => [
      String(r.revision),
      r.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      r.outcome,
      short(r.commit, r.dirty),
      r.user,
      String(r.objects),
      `${r.description}${r.parts ? ` (only ${r.parts.join(',')})` : ''}${r.reason ? ` — ${r.reason}` : ''}`,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  for (const row of rows) report.line(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
  return { env, revisions };
}

/** The revision `rollback` restores: `--to`, or the previous one that was deployed. Throws a one-line error otherwise. */
export async function rollbackTarget(store: ReleaseStore, to: number | undefined): Promise<{ target: ReleaseInfo; history: ReleaseInfo[] }> {
  const history = await store.history();
  if (!history.length) {
    throw new PreflightError(`rollback ${store.env}: no release history in this cluster (namespace ${RELEASE_NAMESPACE}); nothing to roll back to`);
  }
  const known = history.map((r) => `${r.revision} (${r.outcome})`).join(', ');
  if (to !== undefined) {
    const target = history.find((r) => r.revision === to);
    if (!target) throw new PreflightError(`rollback ${store.env}: no revision ${to}; the cluster keeps ${known}`);
    return { target, history };
  }
  const target = defaultRollbackTarget(history);
  if (!target) throw new PreflightError(`rollback ${store.env}: no earlier revision was ever deployed (history: ${known}); pick one with --to=<revision>`);
  return { target, history };
}
