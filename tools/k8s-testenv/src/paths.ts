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

/** The binaries `up` needs, in start order. */
export const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type BinaryName = (typeof BINARIES)[number];

/** The command that builds the binaries (printed when they are missing). */
export const BUILD_COMMAND = 'bash tools/k8s-testenv/scripts/build.sh';
