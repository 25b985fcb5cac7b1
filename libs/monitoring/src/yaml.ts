import { stringify } from 'yaml';

/**
 * Renders a config object as YAML the way the tools read it back: key order kept, no line
 * folding (long PromQL and regexes stay on one line), no anchors/aliases.
 * @param header comment lines put above the document (without the leading `#`)
 */
export function toYaml(value: unknown, header: readonly string[] = []): string {
  const body = stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
  return header.length ? `${header.map((l) => (l ? `# ${l}` : '#')).join('\n')}\n${body}` : body;
}
