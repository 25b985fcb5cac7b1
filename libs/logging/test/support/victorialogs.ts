/** Running the built victoria-logs and vlagent, and querying VictoriaLogs over HTTP. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, waitFor, type Proc } from '@bitpin/test-support';

export const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD_SCRIPT = 'libs/logging/scripts/build-victorialogs.sh';

export function script(arg: string): string {
  return spawnSync('bash', [join(LIB, 'scripts/build-victorialogs.sh'), arg], { encoding: 'utf8' }).stdout.trim();
}
export const BIN_DIR = script('--print-bin-dir');
export const VL_VERSION = script('--print-version');
export const VICTORIA_LOGS = join(BIN_DIR, 'victoria-logs');
export const VLAGENT = join(BIN_DIR, 'vlagent');
export const binariesBuilt = (): boolean => existsSync(VICTORIA_LOGS) && existsSync(VLAGENT);

/** Replaces `-name=…` flags (they must be present: the generated set is what runs). */
export function withFlags(args: readonly string[], replace: Readonly<Record<string, string>>): string[] {
  for (const name of Object.keys(replace)) {
    if (!args.some((a) => a.startsWith(`-${name}=`))) throw new Error(`generated flags lack -${name}: ${args.join(' ')}`);
  }
  return args.map((a) => {
    const name = /^-([^=]+)=/.exec(a)?.[1];
    return name !== undefined && name in replace ? `-${name}=${replace[name]}` : a;
  });
}

/** Starts victoria-logs and waits for /health. */
export async function startVictoriaLogs(args: readonly string[], base: string): Promise<Proc> {
  const p = startProcess(VICTORIA_LOGS, args, { name: 'victoria-logs' });
  await waitFor(`victoria-logs /health at ${base}`, async () => {
    if (p.child.exitCode !== null) throw new Error(`victoria-logs exited ${p.child.exitCode}: ${p.output().slice(-2000)}`);
    const r = await fetch(`${base}/health`).catch(() => undefined);
    return r?.ok ?? false;
  }, 30_000);
  return p;
}

export type Row = Record<string, string>;

/** LogsQL over HTTP (`/select/logsql/query`): one JSON object per line. */
export async function logsql(base: string, query: string): Promise<Row[]> {
  const r = await fetch(`${base}/select/logsql/query`, { method: 'POST', body: new URLSearchParams({ query, limit: '1000' }) });
  const text = await r.text();
  if (!r.ok) throw new Error(`LogsQL ${query}: ${r.status} ${text}`);
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
}

/** Polls until the query returns at least `n` rows (VictoriaLogs makes new rows searchable within about a second). */
export async function rowsAtLeast(base: string, query: string, n: number, timeoutMs = 30_000): Promise<Row[]> {
  let last: Row[] = [];
  try {
    return await waitFor(`${n} rows for ${query}`, async () => {
      last = await logsql(base, query);
      return last.length >= n ? last : false;
    }, timeoutMs, 500);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last answer had ${last.length}: ${JSON.stringify(last.map((r) => r['_msg']))}`, { cause: e });
  }
}
