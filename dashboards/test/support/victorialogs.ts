/**
 * The real victoria-logs that libs/logging builds from its Go module
 * (libs/logging/scripts/build-victorialogs.sh, the `logging:build-victorialogs` target this
 * project's test depends on): located here, never built.
 */
import { freePort, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const VL_BUILD_SCRIPT = 'libs/logging/scripts/build-victorialogs.sh';
const script = (arg: string): string =>
  spawnSync('bash', [resolve(import.meta.dirname, '../../..', VL_BUILD_SCRIPT), arg], { encoding: 'utf8', timeout: 30_000 }).stdout?.trim() ?? '';

export const VL_BIN_DIR = script('--print-bin-dir');
export const VL_VERSION = script('--print-version');
export const VICTORIA_LOGS = VL_BIN_DIR ? join(VL_BIN_DIR, 'victoria-logs') : '';
export const vlBuilt = (): boolean => VICTORIA_LOGS !== '' && existsSync(VICTORIA_LOGS);

export interface VictoriaLogs {
  readonly url: string;
  /** host:port, for a Prometheus scrape target. */
  readonly target: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

/** victoria-logs on 127.0.0.1 (a free port) with a temp -storageDataPath; resolves once /health answers. */
export async function startVictoriaLogs(extraArgs: readonly string[] = []): Promise<VictoriaLogs> {
  const dir = mkdtempSync(join(tmpdir(), 'dashboards-vl-'));
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  const url = `http://${target}`;
  const proc = startProcess(VICTORIA_LOGS, [`-storageDataPath=${dir}`, `-httpListenAddr=${target}`, '-loggerLevel=WARN', ...extraArgs], { name: 'victoria-logs' });
  await waitFor(`victoria-logs /health at ${url}`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`victoria-logs exited ${proc.child.exitCode}: ${proc.output().slice(-2000)}`);
    return (await fetch(`${url}/health`).catch(() => undefined))?.ok ?? false;
  }, 30_000);
  return {
    url,
    target,
    proc,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POSTs a form to VictoriaLogs and returns the body; a non-2xx answer throws with the body (VictoriaLogs names the bad part of a query). */
export async function vlPost(url: string, path: string, form: Record<string, string>): Promise<string> {
  const r = await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(form) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${path} ${r.status}: ${text.trim()}\n  query: ${form['query'] ?? ''}`);
  return text;
}

/**
 * Ingests JSON lines (`/insert/jsonline`). The content type matters: with the default
 * `application/x-www-form-urlencoded` Go's form parsing eats the body and nothing is stored.
 */
export async function ingestJsonLines(url: string, rows: readonly Record<string, unknown>[], params: Record<string, string>): Promise<void> {
  const r = await fetch(`${url}/insert/jsonline?${new URLSearchParams(params)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/stream+json' },
    body: rows.map((x) => JSON.stringify(x)).join('\n') + '\n',
  });
  if (!r.ok) throw new Error(`/insert/jsonline ${r.status}: ${await r.text()}`);
}

/** A Loki push (JSON body, as Promtail's and Alloy's clients send it) to VictoriaLogs' Loki endpoint, with the push URL's query parameters. */
export async function pushLoki(url: string, streams: ReadonlyArray<{ stream: Record<string, string>; values: Array<[string, string]> }>, params: Record<string, string> = {}): Promise<void> {
  const r = await fetch(`${url}/insert/loki/api/v1/push?${new URLSearchParams(params)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams }) });
  if (!r.ok) throw new Error(`/insert/loki/api/v1/push ${r.status}: ${await r.text()}`);
}

/** LogsQL `/select/logsql/query`: one JSON object per line. */
export async function logsqlQuery(url: string, query: string, form: Record<string, string> = {}): Promise<Array<Record<string, string>>> {
  const text = await vlPost(url, '/select/logsql/query', { query, ...form });
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, string>);
}

export interface StatsSeries {
  readonly metric: Record<string, string>;
  readonly values: Array<[number, string]>;
}

/** LogsQL `/select/logsql/stats_query_range`: a Prometheus-shaped matrix. */
export async function logsqlStatsRange(url: string, query: string, form: { start: string; end: string; step: string }): Promise<StatsSeries[]> {
  const body = JSON.parse(await vlPost(url, '/select/logsql/stats_query_range', { query, ...form })) as { status: string; data: { resultType: string; result: StatsSeries[] } };
  if (body.status !== 'success' || body.data.resultType !== 'matrix') throw new Error(`stats_query_range: ${JSON.stringify(body).slice(0, 300)}`);
  return body.data.result;
}
