import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The pinned versions of everything the test environment runs (tools/k8s-testenv/versions.json). */
export interface TestEnvVersions {
  /** k8s.io/kubernetes tag, e.g. "v1.34.4" (kube-apiserver, kube-controller-manager, kube-scheduler). */
  readonly kubernetes: string;
  /** go.etcd.io/etcd/server/v3 tag, e.g. "v3.6.16". */
  readonly etcd: string;
  /** sigs.k8s.io/kwok tag, e.g. "v0.8.0". */
  readonly kwok: string;
  /** github.com/cloudnative-pg/cloudnative-pg tag whose CRDs are installed, e.g. "v1.28.2". */
  readonly cloudnativePg: string;
}

/** Absolute path of the tools/k8s-testenv package (works from src/ under vitest and from dist/). */
export const PACKAGE_ROOT: string = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** Absolute path of versions.json, the single place the versions are written down (shell reads it too). */
export const VERSIONS_FILE = `${PACKAGE_ROOT}/versions.json`;

function readVersions(): TestEnvVersions {
  const raw: unknown = JSON.parse(readFileSync(VERSIONS_FILE, 'utf8'));
  const obj = raw as Record<string, unknown>;
  const pick = (key: keyof TestEnvVersions): string => {
    const v = obj[key];
    if (typeof v !== 'string' || !/^v\d+\.\d+\.\d+$/.test(v)) {
      throw new Error(`${VERSIONS_FILE}: "${key}" must be a version like v1.2.3, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  return Object.freeze({
    kubernetes: pick('kubernetes'),
    etcd: pick('etcd'),
    kwok: pick('kwok'),
    cloudnativePg: pick('cloudnativePg'),
  });
}

export const VERSIONS: TestEnvVersions = readVersions();
export const KUBERNETES_VERSION: string = VERSIONS.kubernetes;
export const ETCD_VERSION: string = VERSIONS.etcd;
export const KWOK_VERSION: string = VERSIONS.kwok;
/** The pinned CloudNativePG release whose CRDs the control plane installs. */
export const CNPG_VERSION: string = VERSIONS.cloudnativePg;
