import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

/** Writes `text` to a new temp dir; {@link removeTempFiles} deletes them all. */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-test-'));
  dirs.push(dir);
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export function removeTempFiles(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
