import { describe, expect, it } from 'vitest';
import { changedFields, describePlan, terminalConfirm } from '../src/confirm.js';

const deployment = (image: string, replicas = 2): any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' } },
  spec: { replicas, template: { spec: { containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: 80 }] }, { name: 'side', image: 's:1' }] } } },
});

describe('the confirmation plan', () => {
  it('names only the fields we send that differ, list items by name', () => {
    // GIVEN a live object with defaulted fields we never send
    const live = deployment('a:1');
    live.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
    live.spec.progressDeadlineSeconds = 600;
    // WHEN the desired object changes one image and the replica count
    const fields = changedFields(deployment('a:2', 3).spec, live.spec, false, '.spec');
    // THEN exactly those two, by container name
    expect(fields).toEqual(['.spec.replicas: 2 → 3', '.spec.template.spec.containers[app].image: "a:1" → "a:2"']);
  });

  it('masks Secret data and says when an item is gone', () => {
    expect(changedFields({ data: { password: 'bmV3' } }, { data: { password: 'b2xk' } }, false)).toEqual(['.data.password: (sensitive) → (sensitive)']);
    const one = deployment('a:1');
    one.spec.template.spec.containers.pop();
    expect(changedFields(one.spec, deployment('a:1').spec, false, '.spec')).toEqual(['.spec.template.spec.containers[side]: (present) → (absent)']);
  });

  it('shows counts, adds, updates with their fields, generated secrets and deletions', () => {
    const lines = describePlan({
      env: 'prod',
      context: 'bitpin-prod',
      send: [
        { object: deployment('a:2'), live: deployment('a:1') },
        { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }, live: undefined },
      ],
      generate: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'admin', namespace: 'ns' } }],
      prune: ['Service/ns/old'],
    });
    expect(lines).toEqual([
      'env prod → bitpin-prod: 2 to add, 1 to update, 1 to delete',
      '  ~ Deployment/ns/web',
      '      .spec.template.spec.containers[app].image: "a:1" → "a:2"',
      '  + ConfigMap/ns/c',
      '  + Secret/ns/admin (generated once, values never shown)',
      '  - Service/ns/old',
    ]);
  });

  it('fails without a terminal, in one line that says how to proceed', async () => {
    const confirm = terminalConfirm({ stdout: () => undefined, tty: false });
    await expect(confirm({ env: 'prod', context: 'bitpin-prod', send: [{ object: deployment('a:2'), live: deployment('a:1') }], generate: [], prune: [] })).rejects.toThrow(
      'env prod asks for confirmation before it changes the cluster (0 to add, 1 to update, 0 to delete) and there is no terminal to ask on; review with deployer diff --env=prod, then re-run with --yes',
    );
  });

  it('goes on only for y or yes', async () => {
    for (const [answer, go] of [['y', true], ['YES', true], ['', false], ['n', false], ['sure', false]] as const) {
      const confirm = terminalConfirm({ stdout: () => undefined, tty: true, ask: async () => answer });
      expect(await confirm({ env: 'prod', context: 'c', send: [], generate: [], prune: [] }), answer).toBe(go);
    }
  });
});
