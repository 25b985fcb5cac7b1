import type { EnvConfig } from '@bitpin/config';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDashboards } from './grafana/index.js';
import { buildRuleFiles } from './prometheus/index.js';

export interface GenerateResult {
  /** Written files, relative to `outDir`. */
  readonly files: readonly string[];
}

/**
 * Writes `<outDir>/dashboards/<uid>.json` and `<outDir>/rules/<topic>.rules.yaml` for an env.
 * Both directories are emptied first, so a removed dashboard or rule file does not linger.
 */
export async function writeGenerated(env: EnvConfig, outDir: string): Promise<GenerateResult> {
  const dashboards = buildDashboards(env);
  const rules = buildRuleFiles(env);
  const files: string[] = [];
  for (const sub of ['dashboards', 'rules']) {
    await rm(join(outDir, sub), { recursive: true, force: true });
    await mkdir(join(outDir, sub), { recursive: true });
  }
  for (const d of dashboards) {
    await writeFile(join(outDir, 'dashboards', d.fileName), `${JSON.stringify(d.json, null, 2)}\n`);
    files.push(`dashboards/${d.fileName}`);
  }
  for (const r of rules) {
    await writeFile(join(outDir, 'rules', r.fileName), r.yaml);
    files.push(`rules/${r.fileName}`);
  }
  return { files };
}
