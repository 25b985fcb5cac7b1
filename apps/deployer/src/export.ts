/**
 * `deployer export`: an env's synthesized set — exactly what `deployer synth` renders — as a
 * kustomize tree for a GitOps tool to sync (Argo CD or Flux), with the objects that point the tool
 * at the repository. Nothing talks to a cluster; Secrets never leave in plain text.
 */
import type { ImageKey } from '@bitpin/config';
import { PreflightError } from '@bitpin/kube-client';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix, resolve } from 'node:path';
import { SECRETS_MODES, type OmittedSecret, type SecretsMode } from './export/secrets.js';
import type { GitSource } from './export/targets.js';
import { buildExportTree, EXPORT_FORMATS, EXPORT_MARKER, type ExportFormat, type ExportTree } from './export/tree.js';

export { buildExportTree, EXPORT_FORMATS, EXPORT_MARKER, exportAnnotations, KEPT_KINDS } from './export/tree.js';
export type { ExportFormat, ExportOptions, ExportTree } from './export/tree.js';
export { ExportRefused, SECRETS_MODES, splitSecrets } from './export/secrets.js';
export type { OmittedSecret, SecretsMode } from './export/secrets.js';
export { ARGOCD_NAMESPACE, FLUX_NAMESPACE, argoApplication, fluxGitRepository, fluxKustomizations } from './export/targets.js';
export type { ExportWave, GitSource } from './export/targets.js';

/** The export command's flags, as given (validated here: one line each, exit 2). */
export interface ExportFlags {
  readonly env: string;
  readonly format: string | undefined;
  readonly out: string | undefined;
  readonly repoUrl: string | undefined;
  readonly branch: string | undefined;
  readonly path: string | undefined;
  readonly secrets: string | undefined;
  readonly images: Readonly<Partial<Record<ImageKey, string>>>;
}

export interface ExportReport {
  readonly env: string;
  readonly format: ExportFormat;
  readonly outDir: string;
  readonly source: GitSource;
  readonly objects: number;
  readonly waves: readonly { readonly wave: number; readonly dir: string; readonly objects: number }[];
  readonly gitops: readonly string[];
  readonly omittedSecrets: readonly OmittedSecret[];
  readonly files: readonly string[];
  readonly warnings: readonly string[];
}

/** Checks the flags, synthesizes the env (the synth code path), writes the tree. */
export async function exportCommand(flags: ExportFlags): Promise<ExportReport> {
  const format = flags.format as ExportFormat;
  if (!flags.format) throw new PreflightError(`--format is required for export; use ${EXPORT_FORMATS.join(' or ')}`);
  if (!EXPORT_FORMATS.includes(format)) throw new PreflightError(`--format "${flags.format}" is not an export format; use ${EXPORT_FORMATS.join(' or ')}`);
  const secrets = (flags.secrets ?? 'refuse') as SecretsMode;
  if (!SECRETS_MODES.includes(secrets)) throw new PreflightError(`--secrets "${flags.secrets}" is not supported; use omit (leave Secrets out, named in the export's README.md) or leave it out`);
  const source = gitSource(flags, format);
  const out = flags.out ?? `dist/gitops/${flags.env}-${format}`;
  const target = resolve(out);
  assertExportDir(target, out);

  // Synthesis loads every library: only once the flags are known to be good.
  const { synthesize } = await import('./synth.js');
  const result = synthesize(flags.env, { images: flags.images });
  const tree = buildExportTree(result.env, result.objects, { format, source, secrets });
  await writeTree(tree, target);
  return {
    env: tree.env,
    format,
    outDir: target,
    source,
    objects: tree.objects.length,
    waves: tree.waves.map((w) => ({ wave: w.wave, dir: w.dir, objects: w.objects.length })),
    gitops: tree.gitops.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`),
    omittedSecrets: tree.omittedSecrets,
    files: [...tree.files.keys()],
    warnings: result.warnings,
  };
}

/** The text lines of an export's summary. */
export function formatExport(r: ExportReport): string[] {
  const lines = [
    `export ${r.env} (${r.format}): ${r.objects} objects in ${r.waves.length} waves → ${r.outDir}`,
    ...r.waves.map((w) => `  ${w.dir}: ${w.objects} object${w.objects === 1 ? '' : 's'}`),
    `  ${r.gitops.join(', ')} → ${r.source.repoUrl} ${r.source.branch} ${r.source.path}`,
  ];
  if (r.omittedSecrets.length) {
    lines.push(`  left out (create out of band, see README.md): ${r.omittedSecrets.map((s) => `Secret ${s.namespace}/${s.name} (${s.keys.map((k) => k.key).join(', ')})`).join(', ')}`);
  }
  return lines;
}

const SCP_LIKE = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

/** --repo-url, --branch, --path: checked the way Argo CD and Flux will read them. */
export function gitSource(flags: Pick<ExportFlags, 'repoUrl' | 'branch' | 'path'>, format: ExportFormat): GitSource {
  const url = flags.repoUrl;
  if (!url) throw new PreflightError('--repo-url is required for export: the Git repository the export is committed to, e.g. https://github.com/org/deploy.git');
  if (/\s/.test(url)) throw new PreflightError(`--repo-url "${url}" contains whitespace; give the repository's clone URL`);
  const scp = SCP_LIKE.exec(url);
  if (scp) {
    // Flux's GitRepository accepts only http(s):// and ssh:// URLs (its CRD's pattern).
    if (format === 'flux') throw new PreflightError(`--repo-url "${url}": Flux takes http(s):// or ssh:// URLs; use ssh://${scp[1]}@${scp[2]}/${scp[3]}`);
  } else if (!/^(https?|ssh):\/\/[^/]+/.test(url)) {
    throw new PreflightError(`--repo-url "${url}" is not a Git URL; use https://host/org/repo.git or ssh://git@host/org/repo.git`);
  }
  const branch = flags.branch ?? 'main';
  // git check-ref-format's rules that matter for a branch name.
  if (!branch || /[\s~^:?*[\\]|\.\.|@\{|^[-/.]|[/.]$|\.lock$|\/\//.test(branch) || branch === '@') {
    throw new PreflightError(`--branch "${branch}" is not a valid branch name`);
  }
  const raw = flags.path;
  if (raw === undefined) throw new PreflightError('--path is required for export: the directory of the repository the export is committed to, e.g. envs/prod (. for its root)');
  const path = posix.normalize(raw.replace(/^\.\/+/, '')).replace(/\/+$/, '') || '.';
  if (path.startsWith('/') || path === '..' || path.startsWith('../')) throw new PreflightError(`--path "${raw}" must be relative to the repository's root and stay inside it, e.g. envs/prod`);
  return { repoUrl: url, branch, path };
}

/**
 * The export replaces its directory whole (so files of objects that left the set go too): only a
 * directory that is missing, empty or an earlier export (its kustomization.yaml says so).
 */
function assertExportDir(target: string, given: string): void {
  if (!existsSync(target)) return;
  let entries: string[];
  try {
    entries = readdirSync(target);
  } catch (e) {
    throw new PreflightError(`--out ${given}: cannot read the directory: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!entries.length) return;
  let marker = '';
  try {
    marker = readFileSync(join(target, 'kustomization.yaml'), 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    // not an export
  }
  if (marker !== EXPORT_MARKER) {
    throw new PreflightError(`--out ${given}: the directory holds files that are not a deployer export and export replaces it whole; give a new or empty directory`);
  }
}

/** Writes the tree to a sibling temp directory, then swaps it in with one rename (a failure leaves `target` as it was). */
async function writeTree(tree: ExportTree, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const suffix = `${process.pid}-${Date.now()}`;
  const tmp = `${target}.tmp-${suffix}`;
  const old = `${target}.old-${suffix}`;
  try {
    for (const [file, text] of tree.files) {
      await mkdir(dirname(join(tmp, file)), { recursive: true });
      await writeFile(join(tmp, file), text);
    }
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
}
