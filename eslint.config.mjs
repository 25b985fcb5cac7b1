import nx from '@nx/eslint-plugin';

/**
 * Module boundaries are the architecture of this workspace, so they are enforced, not decorative:
 *
 * - type:app        (deployer, metrics-sidecar) may use every library; nothing may import an app.
 * - type:manifests  (libs/app, database, cache, backup, monitoring, logging) import only config, the shared
 *                   constructs and the metric contract — never each other, never dashboards. The
 *                   deployer composes them (for example it hands the dashboards' JSON to monitoring).
 * - type:dashboards imports only the metric contract and config.
 * - type:construct  (libs/k8s) imports only config.
 * - type:config and type:contract are leaves.
 * - type:tool       (the test control plane, workspace checks) may use config, other tools and the
 *                   Kubernetes client.
 * - type:client     (libs/kube-client, the one Kubernetes REST client) is a leaf; the deployer and the
 *                   test control plane use it.
 * - type:testing    (tools/test-support) is for tests only: any project's test files may import it,
 *                   no project's source may (the block for test files below is the only one allowing it).
 *
 * Scopes keep teams apart: a team's project depends on its own scope and scope:shared only;
 * scope:platform (the deployer) composes everyone.
 */
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:manifests', 'type:dashboards', 'type:construct', 'type:config', 'type:contract', 'type:tool', 'type:client'] },
  { sourceTag: 'type:manifests', onlyDependOnLibsWithTags: ['type:construct', 'type:config', 'type:contract'] },
  { sourceTag: 'type:dashboards', onlyDependOnLibsWithTags: ['type:contract', 'type:config'] },
  { sourceTag: 'type:construct', onlyDependOnLibsWithTags: ['type:config'] },
  { sourceTag: 'type:config', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:contract', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:config', 'type:tool', 'type:client'] },
  { sourceTag: 'type:client', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:app', 'scope:shared'] },
  { sourceTag: 'scope:database', onlyDependOnLibsWithTags: ['scope:database', 'scope:shared'] },
  { sourceTag: 'scope:cache', onlyDependOnLibsWithTags: ['scope:cache', 'scope:shared'] },
  { sourceTag: 'scope:backup', onlyDependOnLibsWithTags: ['scope:backup', 'scope:shared'] },
  { sourceTag: 'scope:monitoring', onlyDependOnLibsWithTags: ['scope:monitoring', 'scope:shared'] },
  { sourceTag: 'scope:logging', onlyDependOnLibsWithTags: ['scope:logging', 'scope:shared'] },
  { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:tooling', 'scope:shared'] },
  { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['*'] },
];

/** Test files may also import the test support (type:testing); sources may not. */
const testDepConstraints = depConstraints.map((c) =>
  c.sourceTag.startsWith('type:') && !c.onlyDependOnLibsWithTags.includes('*')
    ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] }
    : c,
);

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/test-results', '**/node_modules', '**/imports/**', '**/vitest.config.*.timestamp*'],
  },
  {
    files: ['**/*.ts', '**/*.js'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints,
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests assert on synthesized manifests and parsed JSON, whose shape is the thing under test.
    files: ['**/test/**/*.ts', '**/*.test.ts', '**/vitest.config.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: true, allow: [], depConstraints: testDepConstraints }],
    },
  },
];
