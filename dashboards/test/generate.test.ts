import { ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDashboards, buildRuleFiles, writeGenerated } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('generate', () => {
  it('writes dashboards/<uid>.json and rules/<topic>.rules.yaml, replacing what was there', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dashboards-generate-'));
    dirs.push(out);
    const env = loadEnvConfig('prod');
    await writeGenerated(env, out);
    await writeFile(join(out, 'dashboards', 'stale.json'), '{}');
    const { files } = await writeGenerated(env, out);

    expect((await readdir(join(out, 'dashboards'))).sort()).toEqual(buildDashboards(env).map((d) => d.fileName).sort());
    expect((await readdir(join(out, 'rules'))).sort()).toEqual(buildRuleFiles(env).map((r) => r.fileName).sort());
    // 7 dashboards and 9 rule files (prod runs the Redis cache: redis.rules.yaml).
    expect(files).toHaveLength(16);
    expect(files).toContain('rules/redis.rules.yaml');
    const app = JSON.parse(await readFile(join(out, 'dashboards', 'bitpin-app.json'), 'utf8')) as { uid: string };
    expect(app.uid).toBe('bitpin-app');
    expect(await readFile(join(out, 'rules', 'cnpg.rules.yaml'), 'utf8')).toBe(buildRuleFiles(env).find((r) => r.fileName === 'cnpg.rules.yaml')?.yaml);
  });

  it('has an Nx configuration per env (npx nx run dashboards:generate:<env>), each cached on its own', () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as {
      nx: { targets: { generate: { outputs: string[]; configurations: Record<string, { command: string }> } } };
    };
    const g = pkg.nx.targets.generate;
    expect(Object.keys(g.configurations).sort()).toEqual([...ENV_NAMES].sort());
    for (const [env, c] of Object.entries(g.configurations)) expect(c.command).toBe(`node dashboards/dist/generate.js --env=${env}`);
    expect(g.outputs).toEqual(['{projectRoot}/dist/dashboards', '{projectRoot}/dist/rules']);
  });
});
