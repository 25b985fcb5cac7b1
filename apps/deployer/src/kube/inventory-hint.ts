import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployerCacheDir } from './cache.js';

/**
 * The kinds an env's inventory named the last time this machine read or wrote it on a server
 * (`$BITPIN_CACHE/deployer/inventory/<server hash>-<env>.json`). It lets a run send its member
 * LISTs together with the read of the inventory itself instead of one round trip after it — a
 * guess, never trusted: what the LISTs return is used only for the kinds the inventory, once read,
 * really names (the others are listed then), and only where confirmed discovery agrees with the
 * cached resource paths. A wrong or missing hint costs requests, never correctness.
 */
interface HintFile {
  readonly format: 1;
  readonly groupKinds: readonly string[];
}

function hintFile(server: string, env: string): string | undefined {
  const dir = deployerCacheDir('inventory');
  return dir && join(dir, `${createHash('sha256').update(server).digest('hex').slice(0, 32)}-${env}.json`);
}

export function readInventoryHint(server: string, env: string): readonly string[] | undefined {
  const file = hintFile(server, env);
  if (!file) return undefined;
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as HintFile;
    return h.format === 1 && Array.isArray(h.groupKinds) && h.groupKinds.every((g) => typeof g === 'string') ? h.groupKinds : undefined;
  } catch {
    return undefined; // none yet, or unreadable: no guess
  }
}

/** Records the kinds the inventory names now (none: the hint is removed). Best effort, atomic. */
export function writeInventoryHint(server: string, env: string, groupKinds: readonly string[], previous?: readonly string[]): void {
  const file = hintFile(server, env);
  if (!file) return;
  if (previous && previous.length === groupKinds.length && previous.every((g, i) => g === groupKinds[i])) return;
  try {
    if (!groupKinds.length) {
      rmSync(file, { force: true });
      return;
    }
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: 1, groupKinds } satisfies HintFile), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A read-only cache only costs the round trip next time.
  }
}
