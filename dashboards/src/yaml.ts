import { toYaml as writeYaml, type YamlValue } from '@bitpin/config';

export type { YamlValue };

/**
 * The workspace's one YAML writer (`toYaml` of @bitpin/config) in the style of this package's
 * files (Prometheus rule files, promtool test files): every string value double-quoted, so no
 * reader can re-type "5m", "on" or "1e3", and multi-line strings (long PromQL) as literal blocks
 * (`|-`) so rule files stay readable.
 * @param header comment lines above the document (without the leading `#`)
 */
export function toYaml(value: YamlValue, header: readonly string[] = []): string {
  return writeYaml(value, { quoteStrings: true, header });
}
