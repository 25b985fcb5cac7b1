import { ConfigError, IMAGE_KEYS, isMutableImageRef, loadEnvConfig, type EnvConfig, type ImageKey } from '@bitpin/config';
import { checkPolicies } from '@bitpin/k8s';
import type { KubeObject } from '@bitpin/kube-client';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { withMembership, withPart } from './inventory.js';
import { objectRef, sortForApply } from './manifest.js';
import { buildPlatform } from './platform.js';

export interface SynthOptions {
  /** `--image key=ref` overrides, e.g. a release pipeline pinning the app image by digest. */
  readonly images?: Readonly<Partial<Record<ImageKey, string>>>;
}

export interface SynthFile {
  /** File name, e.g. `app.yaml`. */
  readonly name: string;
  readonly objects: readonly KubeObject[];
  readonly yaml: string;
}

export interface SynthResult {
  readonly env: EnvConfig;
  readonly files: readonly SynthFile[];
  /** Every object, in apply order. */
  readonly objects: readonly KubeObject[];
  /** Non-fatal findings, e.g. images allowed to float by the env's policy. */
  readonly warnings: readonly string[];
}

export { parseImageOverrides } from './overrides.js';

/** Loads the env, builds every library's chart and renders deterministic YAML, one file per library. */
export function synthesize(envName: string, options: SynthOptions = {}): SynthResult {
  const env = loadEnvConfig(envName, {
    ...(options.images && Object.keys(options.images).length ? { overrides: { images: options.images } } : {}),
    overridesSource: '--image',
  });
  const { parts } = buildPlatform(env);
  const files: SynthFile[] = [];
  const all: KubeObject[] = [];
  const seen = new Map<string, string>();
  for (const part of parts) {
    // Every object carries the inventory label, so the YAML is exactly what is applied (and
    // kubectl's ApplySet prune recognises the set too).
    const objects = sortForApply((part.chart.toJson() as KubeObject[]).map((o) => withMembership(withPart(o, part.file), env.name)));
    for (const o of objects) {
      const ref = objectRef(o);
      const other = seen.get(ref);
      if (other) throw new Error(`${ref} is defined twice (in ${other}.yaml and ${part.file}.yaml); give one of them another name`);
      seen.set(ref, part.file);
    }
    all.push(...objects);
    files.push({
      name: `${part.file}.yaml`,
      objects,
      // YAML 1.1 quoting: kubectl and other Go readers take a bare `on`/`yes`/`off` as a boolean.
      yaml: objects.map((o) => stringify(o, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'),
    });
  }
  assertPolicies(env, all);
  const warnings: string[] = [];
  for (const key of IMAGE_KEYS) {
    const reason = env.imagePolicy.allowMutable[key];
    if (env.imagePolicy.requireImmutable && reason && isMutableImageRef(env.images[key])) {
      warnings.push(`images.${key} "${env.images[key]}" is not pinned (allowed in ${env.name}: ${reason})`);
    }
  }
  return { env, files, objects: sortForApply(all), warnings };
}

/**
 * The image refs the env lets float: every catalog image when the env does not require immutable
 * refs, otherwise only those with an `imagePolicy.allowMutable` reason.
 */
export function allowedMutableImages(env: EnvConfig): string[] {
  return IMAGE_KEYS.filter((k) => !env.imagePolicy.requireImmutable || env.imagePolicy.allowMutable[k]).map((k) => env.images[k]);
}

/**
 * Runs the policy check (libs/k8s/src/policy.ts) over the objects. Throws a {@link ConfigError}
 * with one line per violation, so the CLI prints one `error:` line each, exits 2 and writes nothing.
 */
export function assertPolicies(env: EnvConfig, objects: readonly KubeObject[]): void {
  const violations = checkPolicies(objects, { allowMutableImages: allowedMutableImages(env) });
  if (violations.length) {
    throw new ConfigError(
      'CONFIG_INVALID',
      violations.map((v) => v.line),
    );
  }
}

/**
 * Writes the files to `outDir` atomically: everything goes to a sibling temp directory first,
 * which then replaces `outDir` in one rename. A failure leaves `outDir` as it was.
 */
export async function writeSynthOutput(result: SynthResult, outDir: string): Promise<string> {
  const target = resolve(outDir);
  await mkdir(dirname(target), { recursive: true });
  const suffix = `${process.pid}-${Date.now()}`;
  const tmp = `${target}.tmp-${suffix}`;
  const old = `${target}.old-${suffix}`;
  try {
    await mkdir(tmp);
    for (const f of result.files) await writeFile(join(tmp, f.name), f.yaml);
    await rename(target, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    await rename(old, target).catch(() => undefined);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
  return target;
}

export interface SynthSummary {
  readonly env: string;
  readonly objects: number;
  readonly files: readonly { name: string; objects: number }[];
  /** namespace ("" for cluster-scoped) → kind → count */
  readonly byNamespace: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly warnings: readonly string[];
}

export function summarize(result: SynthResult): SynthSummary {
  const byNamespace: Record<string, Record<string, number>> = {};
  for (const o of result.objects) {
    const ns = o.metadata.namespace ?? '';
    const kinds = (byNamespace[ns] ??= {});
    kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
  }
  return {
    env: result.env.name,
    objects: result.objects.length,
    files: result.files.map((f) => ({ name: f.name, objects: f.objects.length })),
    byNamespace,
    warnings: result.warnings,
  };
}
