import { homedir } from 'node:os';
import { join } from 'node:path';
import { KUBERNETES_VERSION } from './versions.js';

/** Cache root for heavy artefacts: `$BITPIN_CACHE` or `~/.cache/bitpin`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env['BITPIN_CACHE'] || join(homedir(), '.cache', 'bitpin');
}

/** Where scripts/build.sh puts the binaries: `<cache>/k8s/<kubernetes version>/bin`. */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'k8s', KUBERNETES_VERSION, 'bin');
}

/** State of the running instance (PKI, kubeconfigs, etcd data, logs, PIDs): `$BITPIN_TESTENV_DIR` or `<cache>/k8s-testenv/state`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['BITPIN_TESTENV_DIR'] || join(cacheRoot(env), 'k8s-testenv', 'state');
}

/**
 * The binaries `up` needs, in start order. `missingBinaries()`/`assertBinaries()` check exactly these,
 * so a cache built before kubectl was added still starts the control plane.
 */
export const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type BinaryName = (typeof BINARIES)[number];

/** Built into the same bin dir by scripts/build.sh but not needed by `up` (see `kubectlPath()`). */
export const TOOLS = ['kubectl'] as const;
export type ToolName = (typeof TOOLS)[number];

/** Path of a cached binary (whether or not it was built): `<binDir>/<name>`. */
export function binPath(name: BinaryName | ToolName, env: NodeJS.ProcessEnv = process.env): string {
  return join(binDir(env), name);
}

/** The command that builds the binaries (printed when they are missing). */
export const BUILD_COMMAND = 'bash tools/k8s-testenv/scripts/build.sh';
