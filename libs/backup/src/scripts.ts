import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The scripts of the backup system, in the order a reader meets them: lib.sh and the parts it
 * sources (flat names: a ConfigMap key holds no `/`), the Python programs its functions run, then
 * the shell scripts the Pods and the restore command run. They live in
 * `libs/backup/scripts/` (outside `src/`, so the same relative URL resolves from `src/` under
 * vitest and from `dist/` after `tsc`), are mounted into every backup Pod from one ConfigMap, and
 * run unchanged outside Kubernetes with the same environment variables.
 */
export const SCRIPT_FILES = [
  'lib.sh',
  'lib-settings.sh',
  'lib-sql.sh',
  'lib-compression.sh',
  'lib-catalog.sh',
  'lib-lock.sh',
  'lib-slot.sh',
  'lib-sentinel.sh',
  'lib-wal.sh',
  'lib-target.sh',
  'lib-offsite.sh',
  'bitpin_inflate.py',
  'bitpin_sha256.py',
  'bitpin_gzip.py',
  'bitpin_metrics_http.py',
  'full-backup.sh',
  'incremental-backup.sh',
  'retention.sh',
  'check.sh',
  'restore.sh',
  'wal-restore.sh',
  'verify-restore.sh',
  'wal-receiver.sh',
  'offsite.sh',
] as const;
export type ScriptFile = (typeof SCRIPT_FILES)[number];

/** Absolute path of the scripts directory. */
export const SCRIPTS_DIR: string = fileURLToPath(new URL('../scripts/', import.meta.url));

export function scriptPath(name: ScriptFile): string {
  return fileURLToPath(new URL(`../scripts/${name}`, import.meta.url));
}

/** Every script's text, keyed by file name (the ConfigMap's data). */
export function readScripts(): Record<ScriptFile, string> {
  return Object.fromEntries(SCRIPT_FILES.map((f) => [f, readFileSync(scriptPath(f), 'utf8')])) as Record<ScriptFile, string>;
}
