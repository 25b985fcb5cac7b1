/** The operator's side of Alertmanager in tests: a receivers fragment and the ConfigMap's assemble script. */
import { runTool as run } from '@bitpin/test-support';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALERTMANAGER_RECEIVERS } from '../../src/index.js';
import { find, type Obj } from './fixtures.js';

/** A receivers fragment as an operator writes it: one webhook per receiver, under `webhookBase`. */
export function receiversFragment(webhookBase: string): string {
  return `---
receivers:
  - name: ${ALERTMANAGER_RECEIVERS.default}
    webhook_configs:
      - url: ${webhookBase}/default
        send_resolved: false
  - name: ${ALERTMANAGER_RECEIVERS.critical}
    webhook_configs:
      - url: ${webhookBase}/critical
        send_resolved: false
  - name: ${ALERTMANAGER_RECEIVERS.warning}
    webhook_configs:
      - url: ${webhookBase}/warning
        send_resolved: false
  - name: ${ALERTMANAGER_RECEIVERS.watchdog}
    webhook_configs:
      - url: ${webhookBase}/watchdog
        send_resolved: false
`;
}

/** Runs the ConfigMap's assemble.sh with the given amtool; returns status, log and the result. */
export function assemble(dir: string, objs: readonly Obj[], receivers: string, amtool: string) {
  const cm = find(objs, 'ConfigMap', 'alertmanager-routing').data!;
  writeFileSync(join(dir, 'routing.yml'), cm['routing.yml']!);
  writeFileSync(join(dir, 'assemble.sh'), cm['assemble.sh']!);
  writeFileSync(join(dir, 'receivers.yaml'), receivers);
  const out = join(dir, 'alertmanager.yml');
  rmSync(out, { force: true });
  const r = run('sh', [join(dir, 'assemble.sh'), 'init'], {
    ROUTING_FILE: join(dir, 'routing.yml'),
    RECEIVERS_FILE: join(dir, 'receivers.yaml'),
    CONFIG_FILE: out,
    AMTOOL: amtool,
  });
  return { ...r, out };
}

