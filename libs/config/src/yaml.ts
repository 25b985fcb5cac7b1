import { Document, isPair, isScalar, isSeq, visit } from 'yaml';

/**
 * The plain data {@link toYaml} writes: objects, arrays, strings, finite numbers, booleans and
 * null (`undefined` members are left out).
 */
export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

export interface ToYamlOptions {
  /**
   * Comment lines put above the document (without the leading `#`; an empty line becomes `#`).
   * @default - no header
   */
  readonly header?: readonly string[];
  /**
   * Write every string value double-quoted (JSON escapes), so no reader can re-type it ("on",
   * "5m", "1e3" stay strings); multi-line strings become literal blocks (`|-`) where that keeps
   * them exact. Keys stay plain where YAML allows. For files people read and tools re-type
   * (Prometheus rule and promtool test files).
   * @default false - a string is quoted only where a plain one would read back differently
   */
  readonly quoteStrings?: boolean;
}

/**
 * The one YAML writer of the workspace, for config files the tools read back: key order kept, no
 * line folding (long PromQL and regexes stay on one line), no anchors or aliases, `undefined`
 * members left out. A number that is not finite is refused (YAML's `.inf`/`.nan` is never what a
 * config means): the error names where it is.
 */
export function toYaml(value: unknown, options: ToYamlOptions = {}): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(key, node, path) {
      if (typeof node.value === 'number' && !Number.isFinite(node.value)) {
        throw new Error(`toYaml: number ${node.value} at ${pathOf(path, node)} is not finite; write it as a string`);
      }
      if (options.quoteStrings && key !== 'key' && typeof node.value === 'string') {
        node.type = blockSafe(node.value) ? 'BLOCK_LITERAL' : 'QUOTE_DOUBLE';
      }
    },
  });
  const body = doc.toString({ lineWidth: 0, doubleQuotedAsJSON: true });
  const header = options.header ?? [];
  return header.length ? `${header.map((l) => (l ? `# ${l}` : '#')).join('\n')}\n${body}` : body;
}

/** Where a node is, `groups[0].rules[2].for`-style, for error messages. */
function pathOf(path: readonly unknown[], node: unknown): string {
  let out = '';
  const chain = [...path, node];
  chain.forEach((p, i) => {
    if (isPair(p) && isScalar(p.key)) out += `${out ? '.' : ''}${String(p.key.value)}`;
    else if (isSeq(p)) out += `[${p.items.indexOf(chain[i + 1] as never)}]`;
  });
  return out ? `'${out}'` : 'the top level';
}

/**
 * A multi-line string a literal block keeps exact: no leading or trailing white space on it or
 * any line, no tabs, carriage returns or other control characters (those need escapes).
 */
function blockSafe(s: string): boolean {
  const lines = s.split('\n');
  return (
    lines.length > 1 &&
    !/^\s/.test(s) &&
    !/\s$/.test(s) &&
    lines.every((l) => !/[\t\r]/.test(l) && !/\s$/.test(l)) &&
    ![...s].some((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
  );
}
