/**
 * Kubernetes resource quantities, parsed just enough to compare requests with limits and sizes
 * with each other. Accepts the forms the API server accepts for CPU and memory/storage:
 * plain numbers, decimal SI suffixes (k, M, G, T, P, E), binary suffixes (Ki … Ei) and milli (m).
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const QUANTITY_PATTERN = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Returns the quantity in base units (cores or bytes), or `undefined` when it does not parse. */
export function parseQuantity(q: string): number | undefined {
  const m = QUANTITY_PATTERN.exec(q);
  if (!m) return undefined;
  const factor = SUFFIX[m[2] ?? ''];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/** Prometheus/Loki durations such as `15s`, `15d`, `744h`, `1h30m`. Returns seconds. */
export const DURATION_PATTERN = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const DURATION_UNIT: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

export function parseDuration(d: string): number | undefined {
  if (!DURATION_PATTERN.test(d)) return undefined;
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(n) * (DURATION_UNIT[unit as string] ?? 0);
  }
  return total;
}

/** Prometheus `--storage.tsdb.retention.size` units (B, KB, MB, GB, TB, PB, EB; powers of 2). */
export const BYTE_SIZE_PATTERN = /^\d+(?:B|KB|MB|GB|TB|PB|EB)$/;
const BYTE_UNIT: Record<string, number> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40, PB: 2 ** 50, EB: 2 ** 60 };

/** A Prometheus byte size (`8GB` = 8 GiB: Prometheus parses these as powers of 2). Returns bytes. */
export function parsePrometheusByteSize(s: string): number | undefined {
  const m = /^(\d+)(B|KB|MB|GB|TB|PB|EB)$/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * (BYTE_UNIT[m[2] as string] ?? 0);
}

/**
 * VictoriaLogs `-retentionPeriod` as this platform writes it: a whole number of hours, days,
 * weeks or years (VictoriaLogs also reads `M` for months and bare numbers as months; not used here).
 */
export const VICTORIALOGS_RETENTION_PATTERN = /^\d+(h|d|w|y)$/;
const VL_RETENTION_UNIT: Record<string, number> = { h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Seconds of a {@link VICTORIALOGS_RETENTION_PATTERN} value, or `undefined`. */
export function parseVictoriaLogsRetention(s: string): number | undefined {
  const m = VICTORIALOGS_RETENTION_PATTERN.exec(s);
  return m ? Number(s.slice(0, -1)) * (VL_RETENTION_UNIT[m[1] as string] ?? 0) : undefined;
}

/** VictoriaMetrics' flag byte sizes: KB, MB, GB, TB are powers of 10; KiB, MiB, GiB, TiB powers of 2. */
export const VICTORIALOGS_BYTES_PATTERN = /^(\d+(?:\.\d+)?)(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;
const VL_BYTE_UNIT: Record<string, number> = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** Bytes of a {@link VICTORIALOGS_BYTES_PATTERN} value, or `undefined`. */
export function parseVictoriaLogsBytes(s: string): number | undefined {
  const m = VICTORIALOGS_BYTES_PATTERN.exec(s);
  return m ? Number(m[1]) * (VL_BYTE_UNIT[m[2] as string] ?? 0) : undefined;
}
