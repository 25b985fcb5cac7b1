import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { diff, type DiffEntry } from './diff.js';
import { applyAll, ApplyError, deleteMembers, deleteParent, Engine, ownParent, pendingChanges, plan, readParent, waitNamespacesGone, writeParent, type Change } from './engine/index.js';
import { healthCheckFor } from './health.js';
import { parentName, partOf, PARTS, stateOf, unionState, withMembership, type ParentState } from './inventory.js';
import { KubeClient, loadKubeAccess, PreflightError, type KubeObject } from '@bitpin/kube-client';
import { deployerCacheDir } from './kube/cache.js';
import { objectRef, sortForApply } from './manifest.js';
import { DEFAULT_CONCURRENCY, mapLimit } from './pool.js';
import { contextFor, preflight, startReads, type ClusterReads, type DeployEnv } from './preflight.js';
import type { Reporter } from './reporter.js';
import { cnpgStatusSimulatedBy, isPooler, poolerHealth, waitForReady, type WaitResult } from './wait.js';
import { RevisionRecorder, type RecordOptions } from './release-commands.js';
import { adoptionLines, findUnowned } from './adoption.js';
import type { Confirm } from './confirm.js';
import { declaredPodSecurityNote } from './pod-security.js';
import { defaultRollbackTarget, RELEASE_NAMESPACE, releaseSecretName, type ReleaseInfo } from './releases.js';

/** Refused before anything was written (exit 2), with one line per problem. */
export class RefusedError extends PreflightError {
  constructor(readonly lines: readonly string[]) {
    super(lines.join('; '));
  }
}

export interface ClusterOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly allowContextMismatch?: boolean;
  readonly concurrency?: number;
  readonly forceConflicts?: boolean;
}

/** The *.yaml files of a synth output directory, in file order; throws when there are none. */
export function manifestFiles(dir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  } catch (e) {
    throw new PreflightError(`--from ${dir}: cannot read the directory: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!files.length) throw new PreflightError(`--from ${dir}: no .yaml files; run synth first`);
  return files;
}

/** The *.yaml files of a synth output directory, read (not parsed yet). */
export function readManifestTexts(dir: string): { file: string; text: string }[] {
  return manifestFiles(dir).map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

// A line that is exactly `---` always starts a document (YAML forbids one inside a scalar); a
// file with directives is taken whole.
const documentsOf = (text: string): string[] => (/^%/m.test(text) ? [text] : text.split(/^---[ \t]*$/m));

/**
 * Parses the synth directory's files. js-yaml: ~3× faster than yaml's document model on a synth
 * directory (~500 KB, mostly dashboards), and reading is all --from needs; synth writes with
 * YAML 1.1 quoting, so both agree. Parsing takes ~40 ms, so it goes a document at a time and
 * lets the event loop run every few milliseconds: the requests the caller already sent
 * (preflight and inventory reads) complete meanwhile.
 */
export async function parseManifestTexts(texts: readonly { file: string; text: string }[], cacheDir = deployerCacheDir('yaml')): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  const cache = new ParsedDocuments(cacheDir);
  let slice = performance.now();
  for (const { file, text } of texts) {
    try {
      for (const doc of documentsOf(text)) {
        for (const o of cache.parse(doc) as KubeObject[]) if (o) objects.push(o);
        if (performance.now() - slice > 2) {
          await new Promise((r) => setImmediate(r));
          slice = performance.now();
        }
      }
    } catch (e) {
      let error = e;
      try {
        loadAll(text); // the whole file again: line numbers in the message count from its top
      } catch (whole) {
        error = whole;
      }
      throw new PreflightError(`--from ${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  cache.prune();
  return sortForApply(objects);
}

/**
 * Parsed YAML documents on disk, keyed by the SHA-256 of each document's text (so an entry is
 * never stale): a document seen before is read back as JSON (~10× faster than parsing its YAML),
 * so a re-apply of mostly unchanged manifests parses only what changed. Only results that JSON
 * holds exactly (no dates, binary, NaN…) are stored. Best effort: an unwritable cache only
 * costs the parse.
 */
class ParsedDocuments {
  private written = 0;

  constructor(private readonly dir: string | undefined) {}

  parse(doc: string): unknown[] {
    if (!this.dir) return loadAll(doc);
    const file = join(this.dir, `${createHash('sha256').update(doc).digest('base64url')}.json`);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as unknown[];
    } catch {
      // not cached yet
    }
    const parsed = loadAll(doc);
    if (jsonExact(parsed)) {
      try {
        if (!this.written++) mkdirSync(this.dir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(parsed));
        renameSync(tmp, file);
      } catch {
        // not cached this time
      }
    }
    return parsed;
  }

  /** Now and then (after writing), entries unused for 14 days go. */
  prune(): void {
    if (!this.dir || !this.written || Math.random() > 1 / 16) return;
    const old = Date.now() - 14 * 24 * 3600 * 1000;
    try {
      for (const f of readdirSync(this.dir)) {
        const p = join(this.dir, f);
        if (statSync(p).atimeMs < old) rmSync(p, { force: true });
      }
    } catch {
      // best effort
    }
  }
}

/** True when JSON.stringify/parse gives back exactly this value. */
function jsonExact(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(jsonExact);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every((x) => x !== undefined && jsonExact(x));
  return false;
}

/** The label synthesis puts on every object: the env it was rendered for. */
const ENV_LABEL = 'bitpin.io/env';

/**
 * A `--from` directory's objects as the env's set: refused when they were synthesized for another
 * env (their `bitpin.io/env` label says which — applying them would relabel that env's objects
 * here), and stamped with the env's inventory label like synthesized objects, so hand-written
 * documents are tracked, pruned and destroyed like the rest.
 */
export function asEnvSet(objects: readonly KubeObject[], env: string, dir: string): KubeObject[] {
  const foreign = new Map<string, string[]>();
  for (const o of objects) {
    const other = o.metadata.labels?.[ENV_LABEL];
    if (other !== undefined && other !== env) foreign.set(other, [...(foreign.get(other) ?? []), objectRef(o)]);
  }
  if (foreign.size) {
    const [other, refs] = [...foreign.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    throw new PreflightError(
      `--from ${dir}: ${refs.length} object${refs.length === 1 ? ' was' : 's were'} synthesized for env ${other}, not ${env} (label ${ENV_LABEL}=${other} on ${refs.slice(0, 3).join(', ')}${refs.length > 3 ? ', …' : ''}); run synth --env=${env}, or apply with --env=${other}`,
    );
  }
  return objects.map((o) => withMembership(o, env));
}

/** Reads a synth output directory (every *.yaml, in file order) instead of synthesizing. */
export async function readManifestDir(dir: string): Promise<KubeObject[]> {
  return parseManifestTexts(readManifestTexts(dir));
}

/** Connects to the env's cluster; for an embedded env, starts (or reuses) the local control plane first. */
export async function connect(env: DeployEnv, opts: ClusterOptions, report: Reporter): Promise<Engine> {
  const context = contextFor(env, opts.context, opts.allowContextMismatch ?? false);
  let kubeconfig = opts.kubeconfig;
  if (env.kube.embedded && !kubeconfig) {
    report.progress('control plane', 'starting the embedded control plane (tools/k8s-testenv)…');
    const testenv = await import('@bitpin/k8s-testenv');
    const cp = await testenv.up({ startedBy: 'manual', log: (l) => report.progress('control plane', l) });
    // `up` installs the pinned CloudNativePG CRDs when it starts an instance; preflight checks them.
    report.progress('control plane', `ready at ${cp.server}${cp.reused ? ' (reused)' : ''}`);
    kubeconfig = cp.kubeconfigPath;
  }
  const access = await loadKubeAccess({ ...(kubeconfig ? { kubeconfig } : {}), context });
  const client = new KubeClient(access, { connections: opts.concurrency ?? DEFAULT_CONCURRENCY, userAgent: 'bitpin-deployer' });
  return new Engine(client, {
    env: env.name,
    concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
    forceConflicts: opts.forceConflicts ?? false,
    progress: (e) => report.progress(e.phase, e.total !== undefined ? `${e.done ?? 0}/${e.total}${e.message ? ` — ${e.message}` : ''}` : (e.message ?? '')),
  });
}

export interface ApplyReport {
  readonly env: string;
  readonly context: string;
  readonly serverVersion: string;
  readonly changes: readonly Change[];
  readonly pruned: readonly string[];
  /** Why --prune deleted nothing although objects left the set (the rollout did not get ready). */
  readonly pruneSkipped?: string;
  /** Left the set but kept (PVCs, namespaces): delete them by name with --prune-allow. */
  readonly kept: readonly string[];
  /** Would be pruned with --prune. */
  readonly pruneCandidates: readonly string[];
  readonly wait: readonly WaitResult[];
  readonly ok: boolean;
  /** The API server's warnings (e.g. PodSecurity audit/warn), once per object. */
  readonly warnings: readonly { ref: string; text: string }[];
  /** The revision this apply recorded (none when nothing changed or history is off). */
  readonly revision?: ReleaseInfo;
  /** With --atomic: the rollback that followed a rollout that did not get ready. */
  readonly rolledBack?: { readonly to: number; readonly revision?: ReleaseInfo; readonly ok: boolean; readonly culprit: string };
  readonly requests: number;
  readonly durationMs: number;
}

export interface ApplyOptions {
  readonly prune: boolean;
  readonly pruneAllow: ReadonlySet<string>;
  readonly wait: boolean;
  readonly timeoutMs: number;
  /** Record a revision in the release history when something changes. @default - no history */
  readonly record?: RecordOptions;
  /** A rollout not ready within the timeout goes back to the previous deployed revision. @default false */
  readonly atomic?: boolean;
  /** Take over objects that exist outside the env's inventory (made by hand, by another tool). @default false — refused */
  readonly adopt?: boolean;
  /** Asked before the first write when something would change (the env's deploy.confirm, unless --yes). @default - not asked */
  readonly confirm?: Confirm;
  /**
   * `--only`: apply, wait for and prune only these parts' objects (`deploy.bitpin.io/part`);
   * the rest of the inventory is left untouched. @default - every part
   */
  readonly only?: ReadonlySet<string>;
  /**
   * `--replace`: objects (`Kind/namespace/name`) deleted and re-created when the API server
   * refuses their change as immutable. Never PVCs, namespaces, CRDs, or a StatefulSet whose
   * volumeClaimTemplates change. @default - none
   */
  readonly replace?: ReadonlySet<string>;
}

/**
 * preflight → plan → validate and apply (waves, SSA; engine/apply.ts) → wait → prune (opt-in,
 * once ready) → record (inventory parent, revision).
 * The inventory parent is written twice, as kubectl's ApplySet does: before applying with the
 * union of old and new kinds/namespaces, after pruning with exactly the new set, so an
 * interrupted run never loses track of an object.
 */
export async function applyCommand(
  engine: Engine,
  env: DeployEnv,
  given: readonly KubeObject[],
  opts: ApplyOptions,
  report: Reporter,
  reads?: ClusterReads,
): Promise<ApplyReport> {
  const started = Date.now();
  const whole = given;
  let desired = given;
  const only = opts.only;
  if (only) {
    desired = desired.filter((o) => only.has(partOf(o) ?? ''));
    if (!desired.length) throw new PreflightError(`--only ${[...only].join(',')}: no object of the set belongs to ${only.size === 1 ? 'that part' : 'those parts'}; parts: ${PARTS.join(', ')}`);
  }
  if (!desired.length) throw new PreflightError('the desired set is empty; refusing to apply (it would prune everything)');
  const unknownReplace = [...(opts.replace ?? [])].filter((r) => !desired.some((o) => objectRef(o) === r));
  if (unknownReplace.length) {
    throw new PreflightError(`--replace=${unknownReplace[0]}: no such object in the ${env.name} set; name it as Kind/namespace/name (Kind/name when cluster-scoped), as the refusal printed it`);
  }
  report.progress('preflight', `checking ${engine.client.server}`);
  const pre = await preflight(engine, env, desired, reads);
  report.progress('plan', 'reading the inventory');
  const planned = await plan(engine, desired, opts.pruneAllow, { parent: pre.parent, live: pre.members });
  // With --only, members of the other parts are neither pruned nor kept: they stay as they are.
  const inScope = (m: { object: KubeObject }) => !only || only.has(partOf(m.object) ?? '');
  const untouched = [...planned.live.values()].filter((m) => !inScope(m));
  const p = only ? { ...planned, prune: planned.prune.filter(inScope), kept: planned.kept.filter(inScope) } : planned;
  const adds = p.adds.length;
  report.line(
    `plan ${env.name} → ${pre.context} (${pre.serverVersion}): ${adds} to add, ${desired.length - adds} to apply, ${p.prune.length} to prune${opts.prune || !p.prune.length ? '' : ' (with --prune)'}${p.kept.length ? `, ${p.kept.length} kept` : ''}`,
  );
  for (const m of p.prune) report.line(`  ${opts.prune ? 'delete' : 'would delete'} ${m.ref}`);
  for (const m of p.kept) report.line(`  keep ${m.ref} (${m.object.kind} is never pruned implicitly; --prune-allow ${m.ref} deletes it)`);

  // Objects new to the set that already exist were made by someone else: refused unless --adopt.
  if (adds && !opts.adopt) {
    const addSet = new Set(p.adds);
    const unowned = await findUnowned(engine, desired.filter((o) => addSet.has(objectRef(o))), env.name);
    if (unowned.length) throw new RefusedError(adoptionLines(unowned, env.name));
  }

  // What the apply will send (hashes every object once): the confirmation, the history's read
  // and the apply itself use the same answer.
  const pending = pendingChanges(desired, p.live);
  const { toSend, toGenerate } = pending;

  // An env that asks for confirmation (deploy.confirm) is asked before its first write — the
  // inventory parent's included — and only when something would change.
  if (opts.confirm) {
    const prune = opts.prune ? p.prune.map((m) => m.ref) : [];
    if (toSend.length || toGenerate.length || prune.length) {
      report.done();
      const go = await opts.confirm({
        env: env.name,
        context: pre.context,
        send: toSend.map((o) => ({ object: o, live: p.live.get(objectRef(o))?.object })),
        generate: toGenerate,
        prune,
      });
      if (!go) throw new RefusedError(['not confirmed: nothing was changed']);
    }
  }

  // Two-phase inventory write, skipped when the parent already says exactly that (a no-op run
  // writes nothing). It goes out with the first validation and is stored before any member is.
  const same = (a: ParentState, b: ParentState) => a.groupKinds.join() === b.groupKinds.join() && a.namespaces.join() === b.namespaces.join();
  const before = unionState(p.previous, p.desired);
  const parentWrite = !p.parent || !same(before, p.previous) ? writeParent(engine, pre.context, before, pre.parentServed) : undefined;
  parentWrite?.catch(() => undefined); // awaited by applyAll; this only keeps an early failure from counting as unhandled
  const recorder = opts.record ? new RevisionRecorder(engine.client, env.name, pre.context, opts.record) : undefined;
  // Something will change: the history is read while the writes travel.
  if (recorder && (toSend.length || toGenerate.length || (opts.prune && p.prune.length))) recorder.prefetch(only ? undefined : desired);
  let changes: Change[];
  try {
    changes = await applyAll(engine, desired, p.live, { beforeWrite: parentWrite, pending, ...(opts.replace ? { replace: opts.replace } : {}) });
  } catch (e) {
    // An install that was undone leaves the inventory as it found it, too.
    if (e instanceof ApplyError && e.rolledBack && parentWrite) await restoreParent(engine, pre.context, p.parent, p.previous);
    // Something was written and not undone: the history says so (never hiding the error itself).
    if (recorder && !(e instanceof ApplyError && e.rolledBack) && engine.client.stats.writes > 0) {
      await recorder
        .begin(desired)
        .then(() => recorder.finish('failed', ((e as { lines?: string[] }).lines?.[0] ?? (e as Error).message).split('\n')[0]))
        .catch(() => undefined);
    }
    throw e;
  }

  // The API server's warnings, once per object (kubectl prints them too). A PodSecurity warning the
  // set declares as its namespace's exception (bitpin.io/pod-security-reason) is a note, not a warning.
  const warnings = engine.warningList();
  for (const w of warnings) {
    const note = declaredPodSecurityNote(w.ref, w.text, desired);
    if (note) report.line(note);
    else report.warn(`${w.ref}: ${w.text}`);
  }

  const counts = { add: 0, update: 0, noop: 0 } as Record<string, number>;
  for (const c of changes) counts[c.kind] = (counts[c.kind] ?? 0) + 1;
  const replacedCount = changes.filter((c) => c.replaced).length;
  report.line(`applied: ${counts['add']} added, ${counts['update']} updated${replacedCount ? ` (${replacedCount} replaced)` : ''}, ${counts['noop']} unchanged`);
  for (const c of changes.filter((x) => x.kind !== 'noop')) report.line(`  ${c.kind === 'add' ? 'added   ' : c.replaced ? 'replaced' : 'updated '} ${c.ref}`);

  // Every apply that changes something is a revision: stored (as pending) before the wait, so a
  // deployer that dies while waiting still leaves the set it applied to roll back from.
  const willPrune = opts.prune && p.prune.length > 0;
  const changed = changes.some((c) => c.kind !== 'noop') || willPrune;
  // A revision holds the whole set, so a rollback restores every part: with --only, the other
  // parts come from the revision deployed before (when there is one).
  const revision =
    recorder && changed ? await recorder.begin(only ? await withOtherParts(recorder, desired, only, whole) : desired, opts.wait ? 'pending' : 'deployed') : undefined;
  if (revision) report.line(`revision ${revision.revision} (${RELEASE_NAMESPACE}/${releaseSecretName(env.name, revision.revision)}): ${revision.description}`);

  let wait: WaitResult[] = [];
  const waitStarted = Date.now();
  if (opts.wait) {
    wait = await waitForReady(engine, desired, {
      timeoutMs: opts.timeoutMs,
      onProgress: (ready, total, pending) =>
        report.progress(
          'wait',
          `${ready}/${total} ready after ${Math.round((Date.now() - waitStarted) / 1000)}s${pending[0] ? ` — waiting for ${pending[0].ref}: ${pending[0].health.message}${pending.length > 1 ? ` (+${pending.length - 1} more)` : ''}` : ''}`,
        ),
    });
    reportWait(wait, report);
  }
  const ok = wait.every((w) => w.health.ok && w.health.done);

  // Prune last, once the new set is ready (Argo CD's PruneLast): what left the set keeps serving
  // until what replaces it works, and a rollout that does not get ready prunes nothing.
  const pruned: string[] = [];
  let pruneSkipped: string | undefined;
  if (willPrune && !ok) {
    pruneSkipped = `not pruned: the rollout is not ready, so the ${p.prune.length} object${p.prune.length === 1 ? '' : 's'} that left the set stay until an apply gets ready`;
    report.line(pruneSkipped);
  } else if (willPrune) {
    report.progress('prune', `deleting ${p.prune.length} objects that left the set`);
    await deleteMembers(engine, p.prune);
    pruned.push(...p.prune.map((m) => m.ref));
    report.line(`pruned: ${pruned.length}`);
    for (const r of pruned) report.line(`  deleted ${r}`);
  }
  // After pruning, the parent lists exactly what remains: the new set plus anything kept.
  const others = untouched.map((m) => m.object);
  const remaining = [...desired, ...others, ...p.kept.map((m) => m.object), ...(pruned.length ? [] : p.prune.map((m) => m.object))];
  const after = stateOf(remaining);
  // The parent now says `before`; narrow it to exactly what remains.
  if (!same(after, before)) await writeParent(engine, pre.context, after, true);
  report.done();

  let recorded: ReleaseInfo | undefined;
  let rolledBack: ApplyReport['rolledBack'];
  if (recorder && revision) {
    if (ok) {
      recorded = await recorder.finish('deployed');
    } else {
      const culprit = culpritOf(wait);
      recorded = await recorder.finish('failed', culprit);
      if (opts.atomic) rolledBack = await atomicRollback(engine, env, recorder, revision, culprit, opts, report);
    }
  }
  return {
    env: env.name,
    context: pre.context,
    serverVersion: pre.serverVersion,
    changes,
    pruned,
    kept: p.kept.map((m) => m.ref),
    pruneCandidates: opts.prune ? [] : p.prune.map((m) => m.ref),
    ...(pruneSkipped ? { pruneSkipped } : {}),
    wait,
    ok,
    warnings,
    ...(recorded ? { revision: recorded } : {}),
    ...(rolledBack ? { rolledBack } : {}),
    requests: engine.client.stats.requests,
    durationMs: Date.now() - started,
  };
}

/** The set a --only revision records: its parts' objects, plus the other parts' from the deployed revision. */
async function withOtherParts(recorder: RevisionRecorder, desired: readonly KubeObject[], only: ReadonlySet<string>, whole: readonly KubeObject[]): Promise<KubeObject[]> {
  const deployed = (await recorder.before()).find((r) => r.outcome === 'deployed');
  const base = deployed ? ((await recorder.store.get(deployed.revision))?.set ?? whole) : whole;
  return sortForApply([...base.filter((o) => !only.has(partOf(o) ?? '')), ...desired]);
}

/** One line naming what did not get ready and why (its first piece of evidence: pod reason, event). */
function culpritOf(wait: readonly WaitResult[]): string {
  const bad = wait.find((w) => !(w.health.ok && w.health.done));
  if (!bad) return 'not ready';
  const evidence = bad.evidence?.[0];
  return `${bad.ref}: ${bad.health.message}${evidence ? ` (${evidence.trim()})` : ''}`;
}

/**
 * `--atomic`: the revision that did not get ready is replaced by the previous deployed one —
 * applied with prune and waited for, recorded as a new revision — and marked `rolled-back`.
 */
async function atomicRollback(
  engine: Engine,
  env: DeployEnv,
  recorder: RevisionRecorder,
  failed: ReleaseInfo,
  culprit: string,
  opts: ApplyOptions,
  report: Reporter,
): Promise<NonNullable<ApplyReport['rolledBack']>> {
  const history = await recorder.store.history();
  const target = defaultRollbackTarget(history);
  if (!target) {
    report.line(`--atomic: revision ${failed.revision} did not get ready (${culprit}) and no earlier revision was ever deployed; it stays as applied`);
    return { to: 0, ok: false, culprit };
  }
  report.line(`--atomic: revision ${failed.revision} did not get ready (${culprit}); rolling back to revision ${target.revision}`);
  const previous = await recorder.store.get(target.revision);
  if (!previous) throw new PreflightError(`--atomic: revision ${target.revision} vanished from ${RELEASE_NAMESPACE} while rolling back; roll back by hand with deployer rollback --to=<revision>`);
  const r = await applyCommand(
    engine,
    env,
    previous.set,
    {
      prune: true,
      pruneAllow: new Set(),
      wait: true,
      timeoutMs: opts.timeoutMs,
      atomic: false,
      ...(opts.record
        ? {
            record: {
              ...opts.record,
              description: `rollback to ${target.revision} (--atomic: revision ${failed.revision} was not ready)`,
              git: previous.commit ? { commit: previous.commit, dirty: previous.dirty ?? false } : undefined,
            },
          }
        : {}),
    },
    report,
  );
  await recorder.store.setOutcome(failed, 'rolled-back', culprit);
  report.line(`--atomic: back on revision ${target.revision}${r.revision ? ` (recorded as revision ${r.revision.revision})` : ''}${r.ok ? '' : ', which is not ready either'}`);
  return { to: target.revision, ...(r.revision ? { revision: r.revision } : {}), ok: r.ok, culprit };
}

/** Puts the inventory parent back as it was before an undone install: deleted when there was none. */
async function restoreParent(engine: Engine, context: string, parent: KubeObject | undefined, previous: ParentState): Promise<void> {
  try {
    if (parent) await writeParent(engine, context, previous, true);
    else await deleteParent(engine);
  } catch {
    // It lists kinds with no members left: harmless, and the next apply rewrites it.
  }
}

function reportWait(wait: readonly WaitResult[], report: Reporter): void {
  const bad = wait.filter((w) => !(w.health.ok && w.health.done));
  for (const w of wait.filter((x) => x.skipped)) report.warn(`${w.ref} not waited for: ${w.skipped}`);
  if (!bad.length) {
    // Readiness that no operator reported (the local control plane's simulation) is named as such.
    const simulated = wait.filter((w) => w.simulatedBy).map((w) => `${w.ref} ${w.health.message}, simulated by ${w.simulatedBy}`);
    report.line(`ready: ${wait.filter((w) => !w.skipped).length} objects${simulated.length ? ` (${simulated.join('; ')})` : ''}`);
    return;
  }
  report.line(`not ready: ${bad.length} of ${wait.length}`);
  for (const w of bad) {
    report.line(`  ${w.ref}: ${w.health.done ? 'failed — ' : ''}${w.health.message}`);
    for (const e of w.evidence ?? []) report.line(`    ${e}`);
  }
}

export interface DiffReport {
  readonly env: string;
  readonly entries: readonly DiffEntry[];
  readonly changed: number;
}

export async function diffCommand(engine: Engine, env: DeployEnv, desired: readonly KubeObject[], report: Reporter, reads?: ClusterReads): Promise<DiffReport> {
  const pre = await preflight(engine, env, desired, reads);
  const p = await plan(engine, desired, new Set(), { parent: pre.parent, live: pre.members });
  const entries = await diff(engine, desired, p.prune);
  const changed = entries.filter((e) => e.kind !== 'noop').length;
  report.line(`diff ${env.name} → ${pre.context}: ${changed ? `${changed} changes` : 'no changes'}`);
  for (const e of entries.filter((x) => x.kind !== 'noop')) {
    report.line(`  ${e.kind.padEnd(6)} ${e.ref}`);
    for (const c of e.changes.slice(0, 20)) report.line(`           ${c}`);
    if (e.changes.length > 20) report.line(`           … ${e.changes.length - 20} more`);
  }
  report.done();
  return { env: env.name, entries, changed };
}

export interface StatusReport {
  readonly env: string;
  readonly members: readonly { ref: string; ready: boolean | null; message: string }[];
  readonly missing: readonly string[];
  readonly ok: boolean;
}

/** Health of every member of the env's set, and desired objects that are missing. */
export async function statusCommand(engine: Engine, env: DeployEnv, desired: readonly KubeObject[], report: Reporter, reads?: ClusterReads): Promise<StatusReport> {
  const r = reads ?? startReads(engine, env.name);
  const [parents] = await Promise.all([r.parents, r.discovery]);
  const parent = ownParent(engine, parents.items.find((x) => x.metadata.name === parentName(env.name)));
  const p = await plan(engine, desired, new Set(), { parent, live: r.members });
  // The local control plane simulates Clusters' status (tools/k8s-testenv): said on their line.
  const simulatedBy = [...p.live.values()].some((m) => m.object.kind === 'Cluster') ? await cnpgStatusSimulatedBy(engine) : undefined;
  const members = await mapLimit([...p.live.values()], 8, async (m) => {
    if (isPooler(m.object)) {
      // Its PgBouncer pods are the operator's Deployment; none (no operator here) is unknown, not failed.
      const h = await poolerHealth(engine, m.object);
      return { ref: m.ref, ready: h.absent ? null : h.done && h.ok, message: h.message };
    }
    const check = healthCheckFor(m.object.apiVersion, m.object.kind);
    if (!check) return { ref: m.ref, ready: null, message: 'stored' };
    const h = check(m.object as never);
    // A Cluster nobody reports on (no CloudNativePG operator, e.g. the local control plane) is unknown, not failed.
    if (m.object.kind === 'Cluster' && !(m.object as { status?: unknown }).status) return { ref: m.ref, ready: null, message: h.message };
    const message = m.object.kind === 'Cluster' && simulatedBy ? `${h.message} (simulated by ${simulatedBy})` : h.message;
    return { ref: m.ref, ready: h.done && h.ok, message };
  });
  const missing = desired.map(objectRef).filter((r) => !p.live.has(r));
  report.line(`status ${env.name} (${engine.client.contextName}): ${members.length} objects, ${missing.length} missing`);
  for (const m of members) report.line(`  ${m.ready === null ? '·' : m.ready ? '✓' : '✗'} ${m.ref}${m.message === 'stored' ? '' : ` — ${m.message}`}`);
  for (const r of missing) report.line(`  ? ${r} — not in the cluster`);
  return { env: env.name, members, missing, ok: !missing.length && members.every((m) => m.ready !== false) };
}

/** Deletes every member of the set (PVCs and namespaces only with includeData), then the inventory. */
export async function destroyCommand(
  engine: Engine,
  env: DeployEnv,
  includeData: boolean,
  report: Reporter,
  timeoutMs = 300_000,
): Promise<{ deleted: string[]; kept: string[] }> {
  const [parent] = await Promise.all([readParent(engine), engine.discover()]);
  if (!parent) {
    const { ReleaseStore } = await import('./releases.js');
    await new ReleaseStore(engine.client, env.name).deleteAll();
    report.line(`destroy ${env.name}: no inventory ${parentName(env.name)} in this cluster; nothing to delete`);
    return { deleted: [], kept: [] };
  }
  const p = await plan(engine, [], new Set(), { parent });
  const all = [...p.live.values()];
  const keep = includeData ? [] : all.filter((m) => ['PersistentVolumeClaim', 'Namespace'].includes(m.object.kind));
  const del = all.filter((m) => !keep.includes(m));
  // Workloads first, namespaces last: the reverse of the apply order.
  const ordered = sortForApply(del.map((m) => m.object)).reverse().map((o) => del.find((m) => m.ref === objectRef(o))!);
  await deleteMembers(engine, ordered.filter((m) => m.object.kind !== 'Namespace'));
  const namespaces = ordered.filter((m) => m.object.kind === 'Namespace');
  await deleteMembers(engine, namespaces);
  // A terminating namespace refuses new objects: finish here so a following apply works.
  const [stuck] = await waitNamespacesGone(engine, 
    namespaces.map((m) => m.object.metadata.name),
    timeoutMs,
    (name) => report.progress('destroy', `waiting for namespace ${name} to terminate`),
  );
  if (stuck) throw new PreflightError(`namespace ${stuck} is still terminating after ${timeoutMs / 1000}s; check its finalizers`);
  // Its release history goes with it, as helm uninstall's does: a rollback to a destroyed env is a new apply.
  const { ReleaseStore } = await import('./releases.js');
  await new ReleaseStore(engine.client, env.name).deleteAll();
  if (!keep.length) {
    await deleteParent(engine);
  } else {
    await writeParent(engine, engine.client.contextName, stateOf(keep.map((m) => m.object)), true);
  }
  report.line(`destroy ${env.name}: deleted ${del.length} objects${keep.length ? `, kept ${keep.length} (data: PVCs and namespaces; --include-data deletes them)` : ''}`);
  for (const m of keep) report.line(`  kept ${m.ref}`);
  return { deleted: del.map((m) => m.ref), kept: keep.map((m) => m.ref) };
}

export { ApplyError, startReads };

/**
 * Applies an earlier revision's set again — no checkout, no build: the set comes from the release
 * history — with the same waves, validation and wait as apply, pruning what that revision did not
 * have (PVCs, namespaces and CRDs stay, as with apply --prune), and records itself as a new revision.
 */
export async function rollbackCommand(
  engine: Engine,
  env: DeployEnv,
  to: number | undefined,
  opts: { wait: boolean; timeoutMs: number; confirm?: Confirm; replace?: ReadonlySet<string> },
  report: Reporter,
): Promise<ApplyReport & { readonly from: number | undefined; readonly to: number }> {
  const { ReleaseStore } = await import('./releases.js');
  const { rollbackTarget } = await import('./release-commands.js');
  const store = new ReleaseStore(engine.client, env.name);
  const { target, history } = await rollbackTarget(store, to);
  const release = await store.get(target.revision);
  if (!release) throw new PreflightError(`rollback ${env.name}: revision ${target.revision} vanished from ${RELEASE_NAMESPACE}; run deployer history --env=${env.name}`);
  const current = history.find((r) => r.outcome === 'deployed');
  report.line(`rollback ${env.name}: to revision ${target.revision} (${target.outcome}, ${target.time}, ${release.set.length} objects${target.commit ? `, commit ${target.commit.slice(0, 10)}` : ''})${current ? ` from revision ${current.revision}` : ''}`);
  const r = await applyCommand(
    engine,
    env,
    release.set,
    {
      prune: true,
      pruneAllow: new Set(),
      wait: opts.wait,
      timeoutMs: opts.timeoutMs,
      atomic: false,
      ...(opts.confirm ? { confirm: opts.confirm } : {}),
      ...(opts.replace ? { replace: opts.replace } : {}),
      record: {
        description: `rollback to ${target.revision}`,
        keep: env.deploy.history,
        user: engine.client.userName,
        git: target.commit ? { commit: target.commit, dirty: target.dirty ?? false } : undefined,
        ...(release.parts ? { parts: release.parts } : {}),
      },
    },
    report,
  );
  return { ...r, from: current?.revision, to: target.revision };
}
