import { ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertingRules, buildRuleFiles, RUNBOOK_BASE_URL, RUNBOOK_DIR } from '../src/index.js';

const workspaceRoot = resolve(import.meta.dirname, '../..');
const alerts = ENV_NAMES.flatMap((env) => alertingRules(buildRuleFiles(loadEnvConfig(env))));
const names = [...new Set(alerts.map((a) => a.alert))].sort();

describe('runbooks', () => {
  it('every alert of every env links to docs/runbooks/<AlertName>.md', () => {
    for (const a of alerts) expect(a.annotations.runbook_url).toBe(`${RUNBOOK_BASE_URL}${a.alert}.md`);
  });

  it.each(names)('%s has a runbook with meaning, impact, diagnosis and mitigation', (name) => {
    const file = join(workspaceRoot, RUNBOOK_DIR, `${name}.md`);
    expect(existsSync(file), `${file} is missing`).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(`# ${name}\n`)).toBe(true);
    for (const section of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) expect(text).toContain(section);
    // Links to other runbooks resolve.
    for (const [, target] of text.matchAll(/\]\(([A-Za-z]+)\.md\)/g)) {
      if (target !== 'restore') expect(existsSync(join(workspaceRoot, RUNBOOK_DIR, `${target}.md`)), `${name} links ${target}.md`).toBe(true);
    }
  });
});
