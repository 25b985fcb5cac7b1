import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYaml } from '../src/index.js';

describe('toYaml', () => {
  it('keeps key order, never folds long lines, writes no anchors and leaves undefined out', () => {
    // GIVEN a config with a long expression and the same object twice
    const shared = { a: 1 };
    const long = `sum(rate(x[5m])) ${'and y '.repeat(40)}`.trim();
    // WHEN
    const text = toYaml({ z: shared, a: shared, expr: long, gone: undefined });
    // THEN
    expect(text).toBe(`z:\n  a: 1\na:\n  a: 1\nexpr: ${long}\n`);
  });

  it('puts the header above the document as comments', () => {
    expect(toYaml({ a: 'b' }, { header: ['Generated.', '', 'Do not edit.'] })).toBe('# Generated.\n#\n# Do not edit.\na: b\n');
  });

  it('quoteStrings: double-quotes every string value and keeps multi-line strings exact as literal blocks', () => {
    expect(toYaml({ a: 'on', b: '5m', c: [], d: {}, e: [{ x: 1 }, 'y'], f: null, g: true }, { quoteStrings: true })).toBe(
      'a: "on"\nb: "5m"\nc: []\nd: {}\ne:\n  - x: 1\n  - "y"\nf: null\ng: true\n',
    );
    const doc = { expr: 'sum(x)\n  > 0', lead: ' x\ny', tab: 'a\tb\nc' };
    const text = toYaml(doc, { quoteStrings: true });
    expect(text).toBe('expr: |-\n  sum(x)\n    > 0\nlead: " x\\ny"\ntab: "a\\tb\\nc"\n');
    expect(parse(text)).toEqual(doc);
  });

  it('fails on a number that is not finite, naming where it is', () => {
    expect(() => toYaml({ groups: [{ rules: [{ for: Infinity }] }] })).toThrowError(
      "toYaml: number Infinity at 'groups[0].rules[0].for' is not finite; write it as a string",
    );
  });
});
