import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { hasCondition, waitFor, type KubeObject, type ObjectClient } from '@bitpin/kube-client';
import { CNPG_VERSION } from './versions.js';

/** The Go module CloudNativePG's CRDs are read from (never committed to this repo). */
export const CNPG_MODULE = 'github.com/cloudnative-pg/cloudnative-pg';

const moduleDirs = new Map<string, string>();

/**
 * Downloads (or finds in the Go module cache) `module@version` with `go mod download -json` and
 * returns its extracted directory. Works offline once the module is in the cache.
 */
export function goModuleDir(module: string, version: string): string {
  const id = `${module}@${version}`;
  const cached = moduleDirs.get(id);
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync('go', ['mod', 'download', '-json', id], {
      cwd: tmpdir(), // outside any go.mod
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw new Error(`go is not on PATH; it is needed to read ${id}`, { cause: err });
    const detail = e.stdout ? (JSON.parse(e.stdout) as { Error?: string }).Error : undefined;
    throw new Error(`go mod download ${id} failed: ${detail ?? e.stderr?.trim() ?? e.message}`, { cause: err });
  }
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (info.Error || !info.Dir) throw new Error(`go mod download ${id}: ${info.Error ?? 'no Dir'}`);
  moduleDirs.set(id, info.Dir);
  return info.Dir;
}

/** Directory holding the CloudNativePG CRDs (`config/crd/bases`) of `version` (default: the pinned one). */
export function cnpgCrdDir(version: string = CNPG_VERSION): string {
  const dir = join(goModuleDir(CNPG_MODULE, version), 'config', 'crd', 'bases');
  if (!existsSync(dir)) throw new Error(`${CNPG_MODULE}@${version} has no config/crd/bases`);
  return dir;
}

/**
 * Absolute paths of every CloudNativePG CRD file (`postgresql.cnpg.io_*.yaml`, sorted) of `version`
 * (default: the pinned `CNPG_VERSION`). `postgresql.cnpg.io_clusters.yaml` is the `Cluster` CRD.
 */
export function cnpgCrdPaths(version: string = CNPG_VERSION): string[] {
  const dir = cnpgCrdDir(version);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Parses the CustomResourceDefinition documents of the given YAML files. */
export function readCrds(paths: readonly string[]): KubeObject[] {
  const crds: KubeObject[] = [];
  for (const p of paths) {
    for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) {
      if (doc.errors.length) throw new Error(`${p}: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj?.kind === 'CustomResourceDefinition') crds.push(obj);
    }
  }
  return crds;
}

/** Server-side applies CRDs and waits until every one is Established. Returns their names. */
export async function installCrds(client: ObjectClient, paths: readonly string[], timeoutMs = 60_000): Promise<string[]> {
  const crds = readCrds(paths);
  await Promise.all(crds.map((crd) => client.apply(crd, { fieldManager: 'k8s-testenv' })));
  const names = crds.map((c) => c.metadata.name as string);
  await Promise.all(
    names.map((name) =>
      waitFor(
        `CRD ${name} Established`,
        async () => hasCondition(await client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name), 'Established'),
        { timeoutMs },
      ),
    ),
  );
  return names;
}
