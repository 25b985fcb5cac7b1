import type { Severity } from '../../src/index.js';
import type { ExpAlert, RuleIndex } from '../promtool.js';

/**
 * The alert promtool must see, with its annotations expanded from the generated templates:
 * `{{ $labels.x }}` becomes the label's value and every `{{ $value … }}` becomes `value` (the
 * rendered text the case expects, e.g. "12%"). Text without templates is compared verbatim, so
 * the case still proves the annotation promtool renders.
 */
export function expanded(r: RuleIndex, name: string, severity: Severity, labels: Readonly<Record<string, string>>, value?: string): ExpAlert {
  const rule = r.get(name, severity);
  const all = { ...rule.labels, ...labels };
  const render = (text: string) =>
    text
      .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => {
        const v = all[l];
        if (v === undefined) throw new Error(`${name}: the case gives no label '${l}' for the annotation`);
        return v;
      })
      .replace(/\{\{ \$value[^}]*\}\}/g, () => {
        if (value === undefined) throw new Error(`${name}: the annotation shows $value; pass the rendered value`);
        return value;
      });
  return r.fired(name, severity, labels, { summary: render(rule.annotations.summary), description: render(rule.annotations.description) });
}
