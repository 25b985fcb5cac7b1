/**
 * `--from`: the synth directory read a document at a time equals js-yaml reading each file
 * whole, in apply order; errors name the file and the line in it. And the apply order's
 * name comparison equals String#localeCompare.
 */
import { load, loadAll } from 'js-yaml';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseManifestTexts, readManifestDir, readManifestTexts } from '../src/commands.js';
import { PreflightError, type KubeObject } from '@bitpin/kube-client';
import { sortForApply, synthesize, writeSynthOutput } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'deployer-from-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('readManifestDir', () => {
  it('reads a synth directory exactly as js-yaml reads each file whole, in apply order', async () => {
    const result = synthesize('prod');
    const dir = await writeSynthOutput(result, join(work, 'prod'));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5); // one per library prod renders (app, database, cache, backup, …)
    const whole = files.flatMap((f) => loadAll(readFileSync(join(dir, f), 'utf8')) as KubeObject[]);
    const read = await readManifestDir(dir);
    expect(read).toEqual(sortForApply(whole));
    expect(read.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(result.objects.map((o) => `${o.kind}/${o.metadata.name}`));
  });

  it('caches parsed documents by content: a second read parses only what changed', async () => {
    const dir = await writeSynthOutput(synthesize('prod'), join(work, 'prod-cache'));
    const cache = mkdtempSync(join(work, 'cache-'));
    const texts = readManifestTexts(dir);
    const cold = await parseManifestTexts(texts, cache);
    const entries = readdirSync(cache);
    expect(entries.length).toBe(cold.length);
    expect(await parseManifestTexts(texts, cache)).toEqual(cold);
    expect(await parseManifestTexts(texts, undefined)).toEqual(cold);
    // One document edited: one new entry, the rest read back.
    const edited = texts.map((t) => (t.file.endsWith('app.yaml') ? { ...t, text: t.text.replace('name: bitpin-app\n', 'name: bitpin-app\n  # edited\n') } : t));
    expect(await parseManifestTexts(edited, cache)).toEqual(cold);
    expect(readdirSync(cache).length).toBe(entries.length + 1);
    // A value JSON cannot hold exactly (a YAML timestamp) is parsed every time, never cached.
    const stamp = { file: 'x.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\nwhen: 2024-01-01\n' };
    const [withDate] = await parseManifestTexts([stamp], cache);
    expect((withDate as any).when).toBeInstanceOf(Date);
    expect(readdirSync(cache).length).toBe(entries.length + 1);
    // A damaged entry is parsed again and rewritten.
    for (const f of readdirSync(cache)) writeFileSync(join(cache, f), '{not json');
    expect(await parseManifestTexts(texts, cache)).toEqual(cold);
  });

  it('keeps documents whole: separators only at a bare `---` line; directives and `...` work', async () => {
    const dir = mkdtempSync(join(work, 'edge-'));
    const cm = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data });
    const tricky = cm('tricky', { 'a.txt': 'line\n---\nnot a separator (indented in the block scalar)\n', 'b': '--- inline' });
    writeFileSync(join(dir, 'a.yaml'), [tricky, cm('second', { x: 'yes' })].map((o) => stringify(o, { version: '1.1' })).join('---\n'));
    writeFileSync(join(dir, 'b.yaml'), `%YAML 1.2\n---\n${stringify(cm('directive', { y: '1' }))}...\n`);
    writeFileSync(join(dir, 'c.yaml'), `---\n# only a comment\n---\n${stringify(cm('after-empty', { z: 'on' }))}`);
    const read = await readManifestDir(dir);
    expect(read.map((o) => o.metadata.name)).toEqual(['after-empty', 'directive', 'second', 'tricky']);
    expect(read.find((o) => o.metadata.name === 'tricky')).toEqual(tricky);
    expect((read.find((o) => o.metadata.name === 'second') as any).data.x).toBe('yes');
  });

  it('a YAML error names the file and its line in the whole file', async () => {
    const dir = mkdtempSync(join(work, 'bad-'));
    const good = stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: 'ns' } });
    writeFileSync(join(dir, 'all.yaml'), `${good}---\n${good}---\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n`);
    const err = await readManifestDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreflightError);
    let expected = '';
    try {
      load(readFileSync(join(dir, 'all.yaml'), 'utf8').split('---\n')[2]!);
    } catch {
      try {
        loadAll(readFileSync(join(dir, 'all.yaml'), 'utf8'));
      } catch (e) {
        expected = (e as Error).message.split('\n')[0]!;
      }
    }
    expect((err as Error).message).toBe(`--from ${join(dir, 'all.yaml')}: not valid YAML: ${expected}`);
    expect(expected).toMatch(/\(1[0-9]:\d+\)/); // a line number of the whole file, past the two good documents
  });

  it('an empty or missing directory is one line', async () => {
    const empty = mkdtempSync(join(work, 'empty-'));
    await expect(readManifestDir(empty)).rejects.toThrow(`--from ${empty}: no .yaml files; run synth first`);
    await expect(readManifestDir(join(work, 'nope'))).rejects.toThrow(/^--from .*nope: cannot read the directory/);
  });
});

describe('apply order', () => {
  it('orders names as String#localeCompare does', () => {
    const chars = 'abyz0189.-';
    let seed = 7;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const name = () => Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
    const objects = Array.from({ length: 400 }, () => ({ apiVersion: 'v1', kind: rnd() < 0.5 ? 'ConfigMap' : 'Secret', metadata: { name: name(), namespace: name() } }));
    const reference = [...objects].sort(
      (a, b) => (a.kind === b.kind ? 0 : a.kind === 'Secret' ? -1 : 1) || a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name),
    );
    expect(sortForApply(objects)).toEqual(reference);
    // Kinds outside the known order, mixed case: the locale's order.
    const odd = ['zeta', 'Alpha', 'beta', 'Gamma'].map((kind) => ({ apiVersion: 'x/v1', kind, metadata: { name: 'n' } }));
    expect(sortForApply(odd).map((o) => o.kind)).toEqual(['Alpha', 'beta', 'Gamma', 'zeta']);
  });
});
