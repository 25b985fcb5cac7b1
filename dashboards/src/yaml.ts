/**
 * A small, deterministic YAML writer for the plain data this package emits (Prometheus rule
 * files and promtool test files): objects, arrays, strings, finite numbers, booleans and null.
 *
 * Strings are written double-quoted with JSON escapes (valid YAML 1.2 double-quoted scalars), so
 * no value can be re-typed by a YAML reader ("5m", "on", "1e3" stay strings). Multi-line strings
 * (long PromQL) become literal block scalars (`|-`) so rule files stay readable.
 */
export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function toYaml(value: YamlValue): string {
  return `${render(value, 0).replace(/^\n/, '')}\n`;
}

function render(value: YamlValue, indent: number): string {
  if (value === null) return ' null';
  if (typeof value === 'string') return ` ${scalarString(value, indent)}`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`toYaml: number ${value} is not finite; write it as a string`);
    return ` ${String(value)}`;
  }
  if (typeof value === 'boolean') return ` ${String(value)}`;
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value
      .map((item: YamlValue) => {
        const inner = render(item, indent + 2);
        // A mapping inside a sequence starts on the dash line: "- key: v".
        return isMapping(item) ? `\n${pad}- ${inner.replace(/^\n\s*/, '')}` : `\n${pad}-${inner}`;
      })
      .join('');
  }
  const entries = Object.entries(value as Record<string, YamlValue | undefined>).filter(
    (e): e is [string, YamlValue] => e[1] !== undefined,
  );
  if (entries.length === 0) return ' {}';
  return entries.map(([k, v]) => `\n${pad}${key(k)}:${render(v, indent + 2)}`).join('');
}

function isMapping(v: YamlValue): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).some((x) => x !== undefined);
}

function key(k: string): string {
  return PLAIN_KEY.test(k) ? k : JSON.stringify(k);
}

function scalarString(s: string, indent: number): string {
  const lines = s.split('\n');
  const blockSafe =
    lines.length > 1 &&
    !/^\s/.test(s) &&
    !/\s$/.test(s) &&
    lines.every((l) => !/[\t\r]/.test(l) && !/\s$/.test(l)) &&
    // Control characters need escapes, which block scalars cannot hold.
    ![...s].some((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));
  if (!blockSafe) return JSON.stringify(s);
  const pad = ' '.repeat(indent);
  return `|-\n${lines.map((l) => (l === '' ? '' : `${pad}${l}`)).join('\n')}`;
}
