import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { cnpgCrdPaths, goModuleDir, installCrds } from './crds.js';
import { hasCondition, KubeClient, ObjectClient, readKubeconfig, waitFor, type KubeList, type KubeObject } from '@bitpin/kube-client';
import { BINARIES, binDir, BinaryName, binPath, BUILD_COMMAND, stateDir as defaultStateDir } from './paths.js';
import { ensurePki, Pki, pkiPaths } from './pki.js';
import { KWOK_VERSION, TestEnvVersions, VERSIONS } from './versions.js';

/** kubeconfig context and cluster name. */
export const CONTEXT_NAME = 'bitpin-local';
/** Annotation that makes kwok manage a node (kwok runs with --manage-nodes-with-annotation-selector). */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** The fake nodes registered by `up` (two, so required pod anti-affinity across hostnames can be met). */
export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1'] as const;
/** The default StorageClass `up` applies: kube-controller-manager's in-tree hostPath provisioner. */
export const STORAGE_CLASS = 'standard';
/**
 * Where the in-tree hostPath provisioner creates volumes: `/tmp/hostpath_pv/<uuid>`, hard-coded in
 * Kubernetes (pkg/volume/hostpath; no flag, `$TMPDIR` is ignored). The PV controller removes a
 * volume's directory when its PV is reclaimed; `down` removes those of PVs still left.
 */
export const HOSTPATH_PV_DIR = '/tmp/hostpath_pv';

/** A running control plane. */
export interface TestEnv {
  /** Admin kubeconfig (context/cluster `bitpin-local`, user in group system:masters). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly stateDir: string;
  readonly versions: TestEnvVersions;
  readonly nodes: readonly string[];
  /** true when `up` found a healthy instance and did not start anything. */
  readonly reused: boolean;
  /** Who started it: `manual` (`nx run k8s-testenv:up`) instances are never stopped by tests. */
  readonly startedBy: 'manual' | 'test';
  readonly pids: Readonly<Record<BinaryName, number>>;
  /** Start timings in ms (only when this call started the instance). */
  readonly timings?: Readonly<{ readyz: number; total: number }>;
  /**
   * Set when the running instance was started with another launch configuration than this version
   * of the package would use (e.g. before `--enable-hostpath-provisioner`); describes the difference
   * (`+flag` / `-flag` per component). `up` restarts such an instance and returns this only when it
   * could not, because other test runs hold leases on it; `status()` always reports it.
   */
  readonly outdated?: string;
}

interface ProcessRecord {
  name: BinaryName;
  pid: number;
  argv: string[];
}

interface StateFile {
  format: 1;
  stateDir: string;
  binDir: string;
  versions: TestEnvVersions;
  server: string;
  kubeconfigPath: string;
  ports: Record<string, number>;
  nodes: string[];
  startedBy: 'manual' | 'test';
  startedAt: string;
  processes: ProcessRecord[];
}

export interface UpOptions {
  /** Default `manual`. Tests pass `test`; such an instance is stopped when its last test run ends. */
  startedBy?: 'manual' | 'test';
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Overall start timeout (default 120 s). */
  timeoutMs?: number;
}

export interface DownOptions {
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

// ---------------------------------------------------------------------------------------------------
// binaries

/** Names of the binaries missing from the cache (empty when everything was built). */
export function missingBinaries(env: NodeJS.ProcessEnv = process.env): BinaryName[] {
  const dir = binDir(env);
  return BINARIES.filter((b) => !existsSync(join(dir, b)));
}

/**
 * Path of the cached `kubectl` (same version and build as the control plane). Throws a one-line error
 * naming the build command when it was not built (caches from before kubectl was added).
 */
export function kubectlPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = binPath('kubectl', env);
  if (!existsSync(path)) throw new Error(`k8s-testenv: kubectl missing in ${binDir(env)}; build it with: ${BUILD_COMMAND}`);
  return path;
}

/** Throws a one-line error naming the build command when binaries are missing. */
export function assertBinaries(env: NodeJS.ProcessEnv = process.env): void {
  const missing = missingBinaries(env);
  if (missing.length) {
    throw new Error(
      `k8s-testenv: control-plane binaries missing in ${binDir(env)} (${missing.join(', ')}); build them with: ${BUILD_COMMAND}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// small process helpers

function readState(dir: string): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

function writeState(state: StateFile): void {
  writeFileSync(join(state.stateDir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive and is still the process we started (same binary and arguments). */
function isOurProcess(rec: ProcessRecord): boolean {
  if (!pidAlive(rec.pid)) return false;
  try {
    const argv = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return argv.length === rec.argv.length && argv.every((a, i) => a === rec.argv[i]);
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function httpGetOk(url: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------
// lock: one up/down at a time per state dir (tests in parallel workers, CI, a developer)

async function withLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'owner'), 'utf8'));
      } catch {
        // owner not written yet, or lock vanished
      }
      let age: number;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      const stale = Number.isFinite(owner) ? !pidAlive(owner) : age > 30_000;
      if (stale) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`k8s-testenv: timed out waiting for lock ${lock} (held by pid ${owner})`, { cause: err });
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// kubeconfigs and kwok config

function kubeconfig(server: string, pki: Pki, user: keyof Pki['clients']): string {
  const b64 = (f: string): string => readFileSync(f).toString('base64');
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': CONTEXT_NAME,
    clusters: [{ name: CONTEXT_NAME, cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [
      {
        name: user === 'admin' ? `${CONTEXT_NAME}-admin` : user,
        user: {
          'client-certificate-data': b64(pki.clients[user].cert),
          'client-key-data': b64(pki.clients[user].key),
        },
      },
    ],
    contexts: [
      { name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: user === 'admin' ? `${CONTEXT_NAME}-admin` : user } },
    ],
  });
}

/**
 * The kwok config file, named by its content's hash: a changed stage set changes kwok's command
 * line, so `up` sees the running instance as launched with another configuration and restarts it.
 */
function kwokConfigPath(dir: string): string {
  return join(dir, `kwok-${createHash('sha256').update(kwokStagesYaml()).digest('hex').slice(0, 12)}.yaml`);
}

/** Pods with this label `"true"` never get ready: the test control plane's stand-in for a crash-looping container. */
export const NEVER_READY_LABEL = 'k8s-testenv.bitpin.io/never-ready';

/**
 * A kwok stage for pods labelled {@link NEVER_READY_LABEL}: they run, but every container waits in
 * CrashLoopBackOff and the pod is never Ready — a rollout that never completes, as a bad image does.
 */
const NEVER_READY_STAGE = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-never-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.labels["${NEVER_READY_LABEL}"]'
      operator: 'In'
      values:
      - 'true'
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 5
        started: false
        state:
          waiting:
            reason: CrashLoopBackOff
            message: "back-off 5m0s restarting failed container (simulated by k8s-testenv)"
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}`;

/**
 * The annotation `up` puts on the CRDs whose objects' status this control plane simulates (value
 * `k8s-testenv`): the deployer waits for such objects although no operator runs, and says that their
 * readiness is simulated. Real clusters never carry it.
 */
export const STATUS_SIMULATED_ANNOTATION = 'bitpin.io/status-simulated-by';

/** The CloudNativePG kinds whose status kwok simulates (see {@link CNPG_CLUSTER_STAGE}). */
export const SIMULATED_CRDS = ['clusters.postgresql.cnpg.io'] as const;

/**
 * A kwok stage standing in for the CloudNativePG operator: a `postgresql.cnpg.io/v1` `Cluster` whose
 * `status.readyInstances` differs from `spec.instances` (new, or scaled) gets the status the operator
 * writes for a healthy cluster — phase `Cluster in healthy state`, `instances`/`readyInstances` =
 * `spec.instances`, instance names `<name>-1..n`, `currentPrimary`/`targetPrimary` `<name>-1`, the
 * `-rw`/`-r` service names and condition `Ready` (reason `ClusterIsReady`) — as a merge patch of the
 * status subresource. No PostgreSQL, pods, PVCs or Services are made; `phaseReason` says so.
 */
export const CNPG_CLUSTER_STAGE = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: cnpg-cluster-healthy
spec:
  resourceRef:
    apiGroup: postgresql.cnpg.io/v1
    kind: Cluster
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.readyInstances == .spec.instances and .status.phase == "Cluster in healthy state"'
      operator: 'In'
      values:
      - 'false'
  next:
    patches:
    - subresource: status
      root: status
      type: merge
      template: |
        {{ $now := Now }}
        {{ $name := .metadata.name }}
        {{ $n := int .spec.instances }}
        phase: "Cluster in healthy state"
        phaseReason: "simulated by k8s-testenv (kwok stage cnpg-cluster-healthy): no PostgreSQL runs"
        instances: {{ $n }}
        readyInstances: {{ $n }}
        latestGeneratedNode: {{ $n }}
        instanceNames:
        {{ range $i := until $n }}
        - {{ printf "%s-%d" $name (add1 $i) | Quote }}
        {{ end }}
        instancesStatus:
          healthy:
          {{ range $i := until $n }}
          - {{ printf "%s-%d" $name (add1 $i) | Quote }}
          {{ end }}
        currentPrimary: {{ printf "%s-1" $name | Quote }}
        targetPrimary: {{ printf "%s-1" $name | Quote }}
        currentPrimaryTimestamp: {{ $now | Quote }}
        targetPrimaryTimestamp: {{ $now | Quote }}
        writeService: {{ printf "%s-rw" $name | Quote }}
        readService: {{ printf "%s-r" $name | Quote }}
        image: {{ or .spec.imageName "" | Quote }}
        conditions:
        - type: Ready
          status: "True"
          reason: ClusterIsReady
          message: "Cluster is Ready (simulated by k8s-testenv)"
          lastTransitionTime: {{ $now | Quote }}`;

/**
 * kwok's default "fast" stage set (what kwokctl uses): node-initialize, node-heartbeat-with-lease,
 * pod-ready, pod-complete (Job pods → Succeeded), pod-delete — read from the pinned kwok module —
 * plus pod-never-ready ({@link NEVER_READY_LABEL}), which pod-ready leaves alone, and
 * cnpg-cluster-healthy ({@link CNPG_CLUSTER_STAGE}).
 */
export function kwokStagesYaml(): string {
  const root = join(goModuleDir('sigs.k8s.io/kwok', KWOK_VERSION), 'kustomize', 'stage');
  const files: string[] = [];
  const walk = (dir: string): void => {
    const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
    for (const r of k.resources ?? []) {
      const p = join(dir, r);
      if (r.endsWith('.yaml')) files.push(p);
      else walk(p);
    }
  };
  walk(join(root, 'fast'));
  if (!files.some((f) => f.endsWith('pod-complete.yaml'))) throw new Error(`kwok ${KWOK_VERSION}: stage/fast has no pod-complete stage`);
  const stages = files.map((f) => {
    const text = readFileSync(f, 'utf8').trim();
    if (!f.endsWith('pod-ready.yaml')) return text;
    // pod-ready must not make a never-ready pod ready.
    const stage = parseYaml(text) as { spec: { selector: { matchExpressions: { key: string; operator: string }[] } } };
    stage.spec.selector.matchExpressions.push({ key: `.metadata.labels["${NEVER_READY_LABEL}"]`, operator: 'DoesNotExist' });
    return stringifyYaml(stage).trim();
  });
  return [...stages, NEVER_READY_STAGE, CNPG_CLUSTER_STAGE].join('\n---\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------
// health

/** Objects this package writes are managed by `k8s-testenv`. */
const CLIENT_OPTIONS = { fieldManager: 'k8s-testenv', userAgent: 'k8s-testenv' } as const;

/** A client for polls: one attempt per call (the caller polls again), answers within `timeoutMs`. */
function probe(kubeconfigPath: string, timeoutMs: number): KubeClient {
  return new KubeClient(readKubeconfig(kubeconfigPath), { attempts: 1, timeoutMs, userAgent: 'k8s-testenv' });
}

async function healthy(state: StateFile): Promise<boolean> {
  if (JSON.stringify(state.versions) !== JSON.stringify(VERSIONS)) return false;
  if (!state.processes.every(isOurProcess)) return false;
  if (!existsSync(state.kubeconfigPath)) return false;
  const client = probe(state.kubeconfigPath, 3000);
  try {
    await client.get('/readyz');
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

/**
 * How the recorded command lines differ from what this version of the package would launch with the
 * same ports, state dir and bin dir (undefined when equal). Catches every flag change, e.g. an
 * instance started before `--enable-hostpath-provisioner` was added.
 */
function launchDrift(state: StateFile, env: NodeJS.ProcessEnv): string | undefined {
  let expected: Record<BinaryName, string[]>;
  try {
    expected = launchArgvs(state.stateDir, binDir(env), state.ports);
  } catch (err) {
    return `cannot rebuild the launch configuration: ${(err as Error).message}`;
  }
  const diffs: string[] = [];
  for (const name of BINARIES) {
    const want = expected[name];
    const rec = state.processes.find((p) => p.name === name);
    if (!rec) {
      diffs.push(`${name}: not recorded`);
      continue;
    }
    if (rec.argv.length === want.length && rec.argv.every((a, i) => a === want[i])) continue;
    const added = want.filter((a) => !rec.argv.includes(a));
    const removed = rec.argv.filter((a) => !want.includes(a));
    const parts = [...added.map((a) => `+${a}`), ...removed.map((a) => `-${a}`)];
    diffs.push(`${name}: ${parts.length ? parts.join(' ') : 'argument order'}`);
  }
  return diffs.length ? diffs.join('; ') : undefined;
}

/** Live test runs other than this process holding a lease on the instance (`users/<pid>`). */
function otherLeaseHolders(dir: string): number[] {
  const users = join(dir, 'users');
  if (!existsSync(users)) return [];
  return readdirSync(users)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid && pidAlive(pid));
}

/** The running healthy instance of this state dir, or undefined. */
export async function status(env: NodeJS.ProcessEnv = process.env): Promise<TestEnv | undefined> {
  const state = readState(defaultStateDir(env));
  if (!state || !(await healthy(state))) return undefined;
  return toTestEnv(state, true, undefined, launchDrift(state, env));
}

function toTestEnv(state: StateFile, reused: boolean, timings?: { readyz: number; total: number }, outdated?: string): TestEnv {
  const pids = Object.fromEntries(state.processes.map((p) => [p.name, p.pid])) as Record<BinaryName, number>;
  return {
    kubeconfigPath: state.kubeconfigPath,
    server: state.server,
    stateDir: state.stateDir,
    versions: state.versions,
    nodes: state.nodes,
    reused,
    startedBy: state.startedBy,
    pids,
    ...(timings ? { timings } : {}),
    ...(outdated ? { outdated } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// storage: a default StorageClass served by kube-controller-manager's in-tree hostPath provisioner

/** The default StorageClass (`standard`, hostPath, Delete, Immediate). */
export function storageClass(): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'kubernetes.io/host-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}

/** Server-side applies the default StorageClass (idempotent; also on a reused instance). */
async function ensureStorageClass(client: ObjectClient): Promise<void> {
  await client.apply(storageClass());
}

const HOSTPATH_VOLUME = new RegExp(`^${HOSTPATH_PV_DIR}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`);

/**
 * Directories of the hostPath volumes this instance provisioned and still has PVs for. Only PVs of
 * this instance's own etcd are listed, and only paths the provisioner makes (`/tmp/hostpath_pv/<uuid>`),
 * so volumes of other instances sharing /tmp/hostpath_pv are never touched. Empty when the API does
 * not answer.
 */
async function provisionedVolumeDirs(state: StateFile, log: (l: string) => void): Promise<string[]> {
  const api = state.processes.find((p) => p.name === 'kube-apiserver');
  if (!api || !isOurProcess(api) || !existsSync(state.kubeconfigPath)) return [];
  const client = probe(state.kubeconfigPath, 5000);
  try {
    const list = await client.get<KubeList>('/api/v1/persistentvolumes');
    return list.items
      .filter((pv) => pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === 'kubernetes.io/host-path')
      .map((pv) => String(pv.spec?.hostPath?.path ?? ''))
      .filter((p) => HOSTPATH_VOLUME.test(p));
  } catch (err) {
    log(`could not list PersistentVolumes (${(err as Error).message}): hostPath volumes under ${HOSTPATH_PV_DIR} may be left behind`);
    return [];
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// up / down

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1, or
 * reuses the running healthy instance of the state dir. Registers two fake nodes, installs the
 * pinned CloudNativePG CRDs and waits until nodes are Ready and controllers work.
 */
export async function up(opts: UpOptions = {}): Promise<TestEnv> {
  const env = opts.env ?? process.env;
  const dir = defaultStateDir(env);
  return withLock(dir, () => upLocked(dir, opts, env));
}

async function upLocked(dir: string, opts: UpOptions, env: NodeJS.ProcessEnv): Promise<TestEnv> {
  const log = opts.log ?? ((): void => undefined);
  const existing = readState(dir);
  let startOpts = opts;
  if (existing && (await healthy(existing))) {
    const drift = launchDrift(existing, env);
    const holders = drift ? otherLeaseHolders(dir) : [];
    if (!drift || holders.length) {
      if (opts.startedBy === 'manual' && existing.startedBy !== 'manual') {
        existing.startedBy = 'manual'; // a developer now owns it: tests must not stop it
        writeState(existing);
      }
      if (drift) {
        log(
          `the running control plane was started with another launch configuration (${drift}); ` +
            `test runs (pid ${holders.join(', ')}) hold it, so it is reused unchanged and restarted by the next up when none does`,
        );
      }
      log(`reusing running control plane at ${existing.server} (kubeconfig ${existing.kubeconfigPath})`);
      const client = new ObjectClient(existing.kubeconfigPath, CLIENT_OPTIONS);
      try {
        await ensureStorageClass(client);
      } finally {
        await client.close();
      }
      return toTestEnv(existing, true, undefined, drift);
    }
    // Only processes this state dir recorded are stopped, each checked against its command line.
    log(`the running control plane was started with another launch configuration (${drift}): restarting it`);
    await stopProcesses(existing, log);
    // A developer's instance stays theirs: tests must not stop its replacement either.
    if (existing.startedBy === 'manual') startOpts = { ...opts, startedBy: 'manual' };
  } else if (existing) {
    log('previous control plane is not healthy: stopping what is left of it');
    await stopProcesses(existing, log);
  }
  assertBinaries(env);
  try {
    return await start(dir, startOpts, env, log);
  } catch (err) {
    // Free ports are picked before the processes bind them; another process may win that race.
    if (!(err instanceof Error) || !/address already in use/.test(err.message)) throw err;
    log('a port was taken in the meantime: starting again on new ports');
    return start(dir, startOpts, env, log);
  }
}

/**
 * Command lines (binary path first) for a state dir, bin dir and ports. Pure: `up` launches exactly
 * these, and compares them with what a running instance recorded to detect a changed configuration.
 */
function launchArgvs(dir: string, bin: string, ports: Record<string, number>): Record<BinaryName, string[]> {
  const port = (name: string): number => {
    const p = ports[name];
    if (!p) throw new Error(`no port '${name}' recorded`);
    return p;
  };
  const pki = pkiPaths(join(dir, 'pki'));
  const etcdUrl = `http://127.0.0.1:${port('etcdClient')}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
  const schedKubeconfig = join(dir, 'scheduler.kubeconfig');
  const kwokConfig = kwokConfigPath(dir);
  const args: Record<BinaryName, string[]> = {
    etcd: [
      '--name=bitpin-local',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${port('etcdPeer')}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${port('etcdPeer')}`,
      `--initial-cluster=bitpin-local=http://127.0.0.1:${port('etcdPeer')}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true', // throw-away test data: no fsync, much faster on shared disks
      '--log-level=warn',
    ],
    'kube-apiserver': [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port('apiserver')}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--anonymous-auth=false',
      '--authorization-mode=Node,RBAC',
      // PodSecurity is on by default since 1.25; listed explicitly so it cannot silently go away.
      '--enable-admission-plugins=NodeRestriction,PodSecurity',
      // Privileged pods are allowed cluster-wide (as on real clusters), so only PodSecurity rejects them.
      '--allow-privileged=true',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      // The `kubernetes` Service would point at 127.0.0.1, which is invalid as an endpoint.
      '--endpoint-reconciler-type=none',
      // Fills kube-system/extension-apiserver-authentication so the controller-manager and the
      // scheduler do not log "missing content for CA bundle" on every resync (no aggregated APIs here).
      `--requestheader-client-ca-file=${pki.caCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      '--profiling=false',
      '--event-ttl=1h',
    ],
    'kube-controller-manager': [
      `--kubeconfig=${cmKubeconfig}`,
      `--authentication-kubeconfig=${cmKubeconfig}`,
      `--authorization-kubeconfig=${cmKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port('controllerManager')}`,
      `--cert-dir=${join(dir, 'controller-manager-certs')}`,
      '--leader-elect=false',
      // Each controller uses its own service account; without this RBAC forbids e.g. endpointslices.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--cluster-name=${CONTEXT_NAME}`,
      // The PV controller provisions StorageClass `standard` (kubernetes.io/host-path) volumes as
      // directories /tmp/hostpath_pv/<uuid> and deletes them on reclaim (see HOSTPATH_PV_DIR).
      '--enable-hostpath-provisioner=true',
      // Reclaiming races with the PV controller's own finalizer update ("the object has been
      // modified"); the failed delete is retried only at the next resync (default 15 s).
      '--pvclaimbinder-sync-period=5s',
      '--profiling=false',
    ],
    'kube-scheduler': [
      `--kubeconfig=${schedKubeconfig}`,
      `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port('scheduler')}`,
      `--cert-dir=${join(dir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--profiling=false',
    ],
    kwok: [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--node-lease-duration-seconds=40', // kwok renews node Leases so nodes are not tainted NotReady
      '--cidr=10.244.0.0/16',
      '--node-ip=127.0.0.1',
    ],
  };
  return Object.fromEntries(BINARIES.map((name) => [name, [join(bin, name), ...args[name]]])) as Record<BinaryName, string[]>;
}

async function start(dir: string, opts: UpOptions, env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<TestEnv> {
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  const remaining = (): number => Math.max(1000, deadline - Date.now());
  const bin = binDir(env);
  const pki = ensurePki(join(dir, 'pki'));
  const logs = join(dir, 'logs');
  rmSync(join(dir, 'etcd-data'), { recursive: true, force: true });
  rmSync(join(dir, 'state.json'), { force: true });
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  for (const d of ['controller-manager-certs', 'scheduler-certs']) mkdirSync(join(dir, d), { recursive: true });

  const ports: Record<string, number> = {};
  for (const name of ['etcdClient', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler']) {
    let p = await freePort();
    while (Object.values(ports).includes(p)) p = await freePort();
    ports[name] = p;
  }
  const server = `https://127.0.0.1:${ports['apiserver']}`;
  const etcdUrl = `http://127.0.0.1:${ports['etcdClient']}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig(server, pki, 'admin'), { mode: 0o600 });
  const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
  writeFileSync(cmKubeconfig, kubeconfig(server, pki, 'controller-manager'), { mode: 0o600 });
  const schedKubeconfig = join(dir, 'scheduler.kubeconfig');
  writeFileSync(schedKubeconfig, kubeconfig(server, pki, 'scheduler'), { mode: 0o600 });
  writeFileSync(kwokConfigPath(dir), kwokStagesYaml());

  const argvs = launchArgvs(dir, bin, ports);

  const processes: ProcessRecord[] = [];
  const exited = new Map<BinaryName, number | null>();
  const launch = (name: BinaryName): void => {
    const [file, ...args] = argvs[name];
    if (!file) throw new Error(`k8s-testenv: no command line for ${name}`);
    const logFile = join(logs, `${name}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], cwd: dir, env: { ...env } });
      if (!child.pid) throw new Error(`k8s-testenv: could not start ${file}`);
      child.on('exit', (code) => exited.set(name, code));
      child.unref();
      processes.push({ name, pid: child.pid, argv: argvs[name] });
    } finally {
      closeSync(fd);
    }
  };
  const waitUp = async (name: BinaryName, description: string, check: () => Promise<boolean>): Promise<void> => {
    await waitFor(
      description,
      async () => {
        if (exited.has(name)) {
          throw new Error(`${name} exited (code ${exited.get(name)}):\n${tail(join(logs, `${name}.log`))}`);
        }
        return check();
      },
      { timeoutMs: remaining(), intervalMs: 100 },
    ).catch((err: Error) => {
      throw new Error(`k8s-testenv: ${err.message}\n--- ${name} log tail ---\n${tail(join(logs, `${name}.log`))}`, { cause: err });
    });
  };

  const partial: StateFile = {
    format: 1,
    stateDir: dir,
    binDir: bin,
    versions: VERSIONS,
    server,
    kubeconfigPath,
    ports,
    nodes: [...FAKE_NODES],
    startedBy: opts.startedBy ?? 'manual',
    startedAt: new Date().toISOString(),
    processes,
  };
  const client = new ObjectClient(kubeconfigPath, CLIENT_OPTIONS);
  const readyz = probe(kubeconfigPath, 2000);
  try {
    log(`starting etcd ${VERSIONS.etcd} on ${etcdUrl}`);
    launch('etcd');
    writeState(partial); // from here on `down` can clean up even if start fails
    await waitUp('etcd', 'etcd /health', () => httpGetOk(`${etcdUrl}/health`));

    log(`starting kube-apiserver ${VERSIONS.kubernetes} on ${server}`);
    const tApi = Date.now();
    launch('kube-apiserver');
    writeState(partial);
    await waitUp('kube-apiserver', 'kube-apiserver /readyz', async () => {
      return readyz.get('/readyz').then(
        () => true,
        () => false,
      );
    });
    const readyzMs = Date.now() - t0;
    log(`kube-apiserver ready in ${Date.now() - tApi} ms (${readyzMs} ms since up)`);

    log('starting kube-controller-manager and kube-scheduler');
    launch('kube-controller-manager');
    launch('kube-scheduler');
    writeState(partial);

    for (const [i, name] of FAKE_NODES.entries()) {
      await client.apply({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'topology.kubernetes.io/zone': `zone-${i}`,
            type: 'kwok',
          },
        },
        status: {
          capacity: { cpu: '32', memory: '128Gi', pods: '110' },
          allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
          addresses: [
            { type: 'InternalIP', address: `10.255.0.${i + 1}` },
            { type: 'Hostname', address: name },
          ],
        },
      });
    }

    log('installing CloudNativePG CRDs ' + VERSIONS.cloudnativePg);
    const crds = await installCrds(client, cnpgCrdPaths(), remaining());
    log(`installed ${crds.length} CRDs (${Date.now() - t0} ms since up)`);
    // kwok starts a stage's controller once, at start, and exits when the stage's kind is not served
    // or its OpenAPI schema (which kwok reads to build patches) is not published yet: it starts
    // after the CRDs it simulates are Established and in /openapi/v3.
    await waitUp('kube-apiserver', 'CloudNativePG Cluster schema in /openapi/v3', () => openApiServes(client, 'postgresql.cnpg.io/v1', 'clusters'));
    await markSimulated(client);
    log('starting kwok');
    launch('kwok');
    writeState(partial);
    await ensureStorageClass(client);
    log(`default StorageClass ${STORAGE_CLASS} (kubernetes.io/host-path, volumes under ${HOSTPATH_PV_DIR})`);

    await waitUp('kwok', 'fake nodes Ready (kwok)', async () => {
      const nodes = await Promise.all(FAKE_NODES.map((n) => client.get('v1', 'Node', n)));
      return nodes.every((n) => hasCondition(n, 'Ready'));
    });
    await waitUp('kube-controller-manager', 'ServiceAccount default/default (controller-manager)', async () =>
      Boolean(await client.tryGet('v1', 'ServiceAccount', 'default', 'default')),
    );
    log(`nodes Ready, controller-manager working (${Date.now() - t0} ms since up)`);
    await waitUp('kube-scheduler', 'kube-scheduler /healthz', async () => {
      const res = await fetchInsecure(`https://127.0.0.1:${ports['scheduler']}/healthz`);
      return res === 200;
    });

    writeState(partial);
    const total = Date.now() - t0;
    log(`control plane up in ${total} ms; kubeconfig ${kubeconfigPath} (context ${CONTEXT_NAME})`);
    return toTestEnv(partial, false, { readyz: readyzMs, total });
  } catch (err) {
    log('start failed: stopping the processes started so far');
    await stopProcesses(partial, log);
    throw err;
  } finally {
    await Promise.all([client.close(), readyz.close()]);
  }
}

/** Whether the API server's OpenAPI v3 document for `groupVersion` has the paths of `resource`. */
async function openApiServes(client: ObjectClient, groupVersion: string, resource: string): Promise<boolean> {
  try {
    const doc = await client.request<{ paths?: Record<string, unknown> }>('GET', `/openapi/v3/apis/${groupVersion}`);
    return Object.keys(doc.paths ?? {}).some((p) => p.endsWith(`/${resource}/{name}`));
  } catch {
    return false;
  }
}

/** Annotates the CRDs whose objects' status kwok simulates ({@link STATUS_SIMULATED_ANNOTATION}). */
async function markSimulated(client: ObjectClient): Promise<void> {
  for (const name of SIMULATED_CRDS) {
    await client.apply(
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name, annotations: { [STATUS_SIMULATED_ANNOTATION]: 'k8s-testenv' } } },
      { fieldManager: 'k8s-testenv-simulation' },
    );
  }
}

/** GET over TLS without verifying the (self-signed, generated) serving cert of a component's health port. */
async function fetchInsecure(url: string): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function stopProcesses(state: StateFile, log: (l: string) => void): Promise<string[]> {
  const stopped: string[] = [];
  // Listed while the API still answers; removed after the controller-manager is gone.
  const volumeDirs = await provisionedVolumeDirs(state, log);
  // Reverse start order: kwok, scheduler, controller-manager, apiserver, etcd.
  const order = [...state.processes].sort((a, b) => BINARIES.indexOf(b.name) - BINARIES.indexOf(a.name));
  for (const rec of order) {
    if (!isOurProcess(rec)) {
      if (pidAlive(rec.pid)) log(`pid ${rec.pid} is no longer ${rec.name} (command line differs): left alone`);
      continue;
    }
    process.kill(rec.pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isOurProcess(rec) && Date.now() < deadline) await sleep(50);
    if (isOurProcess(rec)) {
      log(`${rec.name} (pid ${rec.pid}) ignored SIGTERM: SIGKILL`);
      process.kill(rec.pid, 'SIGKILL');
      while (isOurProcess(rec)) await sleep(50);
    }
    stopped.push(`${rec.name}(${rec.pid})`);
  }
  for (const d of volumeDirs) rmSync(d, { recursive: true, force: true });
  if (volumeDirs.length) log(`removed ${volumeDirs.length} hostPath volume(s) under ${HOSTPATH_PV_DIR}`);
  rmSync(join(state.stateDir, 'state.json'), { force: true });
  return stopped;
}

/** Stops exactly the processes `up` recorded (each PID is checked against its recorded command line). */
export async function down(opts: DownOptions = {}): Promise<string[]> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((): void => undefined);
  const dir = defaultStateDir(env);
  return withLock(dir, async () => {
    const state = readState(dir);
    if (!state) {
      log(`nothing to stop (no ${join(dir, 'state.json')})`);
      return [];
    }
    const stopped = await stopProcesses(state, log);
    log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    return stopped;
  });
}

/**
 * `down`, then deletes the state dir (etcd data, PKI, kubeconfigs, kwok config, logs): the next `up`
 * starts from nothing. Refused, changing nothing, while live test runs hold a lease on the instance.
 * Returns the directory it removed.
 */
export async function wipe(opts: DownOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((): void => undefined);
  const dir = defaultStateDir(env);
  await withLock(dir, async () => {
    const holders = otherLeaseHolders(dir);
    if (holders.length) {
      throw new Error(`k8s-testenv: test runs (pid ${holders.join(', ')}) use the control plane in ${dir}; wipe it when they have ended`);
    }
    const state = readState(dir);
    if (state) {
      const stopped = await stopProcesses(state, log);
      if (stopped.length) log(`stopped ${stopped.join(', ')}`);
    }
    for (const entry of readdirSync(dir)) if (entry !== '.lock') rmSync(join(dir, entry), { recursive: true, force: true });
  });
  rmSync(dir, { recursive: true, force: true });
  log(`removed ${dir}`);
  return dir;
}

// ---------------------------------------------------------------------------------------------------
// shared use by test runs

/**
 * For test runners: `up({startedBy: 'test'})` plus a lease for this process, so parallel test
 * runs share one instance. Pair with `releaseTestEnv()`.
 */
export async function acquireTestEnv(opts: Omit<UpOptions, 'startedBy'> = {}): Promise<TestEnv> {
  const env = opts.env ?? process.env;
  const dir = defaultStateDir(env);
  return withLock(dir, async () => {
    const te = await upLocked(dir, { ...opts, startedBy: 'test' }, env);
    mkdirSync(join(dir, 'users'), { recursive: true });
    writeFileSync(join(dir, 'users', String(process.pid)), new Date().toISOString());
    return te;
  });
}

/**
 * Drops this process's lease. When the instance was started by tests, no other live test run holds
 * a lease and `BITPIN_TESTENV_KEEP` is not set, stops it. Returns whether it stopped it.
 */
export async function releaseTestEnv(opts: DownOptions = {}): Promise<boolean> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((): void => undefined);
  const dir = defaultStateDir(env);
  return withLock(dir, async () => {
    const users = join(dir, 'users');
    rmSync(join(users, String(process.pid)), { force: true });
    const others = existsSync(users)
      ? readdirSync(users).filter((p) => {
          const alive = pidAlive(Number(p));
          if (!alive) rmSync(join(users, p), { force: true });
          return alive;
        })
      : [];
    const state = readState(dir);
    if (!state || state.startedBy !== 'test' || others.length || env['BITPIN_TESTENV_KEEP']) return false;
    await stopProcesses(state, log);
    return true;
  });
}
