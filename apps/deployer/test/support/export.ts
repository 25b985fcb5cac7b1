/**
 * What the GitOps export tests share: the CLI run in-process, the real `kubectl kustomize` (the
 * test control plane's cached kubectl) over an export directory, and the synthesized set to
 * compare with.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '@bitpin/kube-client';
import { run } from '../../src/index.js';
import { objectRef } from '../../src/manifest.js';

export const REPO = 'https://git.example.com/bitpin/deploy.git';

export interface CliRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

export async function deployer(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), tty: false });
  return { code, out, err };
}

/** `kubectl kustomize <dir>`, parsed: what Argo CD or Flux would apply from the directory. */
export async function kustomize(dir: string): Promise<KubeObject[]> {
  // Loaded lazily, as the deployer itself loads the test control plane only for embedded envs.
  const { kubectlPath } = await import('@bitpin/k8s-testenv');
  const text = execFileSync(kubectlPath(), ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`kubectl kustomize ${dir}: ${d.errors[0]!.message}`);
      return d.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => Boolean(o));
}

/** Objects by ref (`Kind/namespace/name`); throws on a duplicate. */
export function byRef(objects: readonly KubeObject[]): Map<string, KubeObject> {
  const m = new Map<string, KubeObject>();
  for (const o of objects) {
    const ref = objectRef(o);
    if (m.has(ref)) throw new Error(`${ref} appears twice`);
    m.set(ref, o);
  }
  return m;
}

/** The object without the given annotations (and without an annotations map left empty). */
export function withoutAnnotations(o: KubeObject, keys: readonly string[]): KubeObject {
  const annotations = Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => !keys.includes(k)));
  const { annotations: _, ...meta } = o.metadata;
  return { ...o, metadata: Object.keys(annotations).length ? { ...meta, annotations } : meta };
}

/** Every file under `dir`: relative path → content. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}
