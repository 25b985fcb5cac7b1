/** Parses Prometheus text exposition into `series → value` (series = name plus sorted labels). */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels = m[3] ? [...(m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))].map((x) => `${x[1]}="${x[2]}"`).sort() : [];
    out.set(labels.length ? `${m[1]}{${labels.join(',')}}` : (m[1] as string), Number(m[4]));
  }
  return out;
}

/** The value of one series, `undefined` when absent. Labels in any order. */
export function sample(text: string | Map<string, number>, name: string, labels: Record<string, string | number> = {}): number | undefined {
  const map = typeof text === 'string' ? parseExposition(text) : text;
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return map.get(l.length ? `${name}{${l.join(',')}}` : name);
}

/** Distinct series of a metric name (exact name, e.g. `http_server_requests_total`). */
export function seriesOf(text: string | Map<string, number>, name: string): string[] {
  const map = typeof text === 'string' ? parseExposition(text) : text;
  return [...map.keys()].filter((k) => k === name || k.startsWith(`${name}{`));
}
