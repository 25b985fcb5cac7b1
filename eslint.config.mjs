import nx from '@nx/eslint-plugin';

/**
 * Module boundaries are the architecture of this workspace, so they are enforced, not decorative:
 *
 * - type:app        (deployer, metrics-sidecar) may use every library; nothing may import an app.
 * - type:manifests  (libs/app, database, backup, monitoring, logging) import only config, the shared
 *                   constructs and the metric contract — never each other, never dashboards. The
 *                   deployer composes them (for example it hands the dashboards' JSON to monitoring).
 * - type:dashboards imports only the metric contract and config.
 * - type:construct  (libs/k8s) imports only config.
 * - type:config and type:contract are leaves.
 * - type:tool       (the test control plane, workspace checks) may use config and other tools.
 *
 * Scopes keep teams apart: a team's project depends on its own scope and scope:shared only;
 * scope:platform (the deployer) composes everyone.
 */
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
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:manifests', 'type:dashboards', 'type:construct', 'type:config', 'type:contract', 'type:tool'] },
            { sourceTag: 'type:manifests', onlyDependOnLibsWithTags: ['type:construct', 'type:config', 'type:contract'] },
            { sourceTag: 'type:dashboards', onlyDependOnLibsWithTags: ['type:contract', 'type:config'] },
            { sourceTag: 'type:construct', onlyDependOnLibsWithTags: ['type:config'] },
            { sourceTag: 'type:config', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:contract', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:config', 'type:tool'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:app', 'scope:shared'] },
            { sourceTag: 'scope:database', onlyDependOnLibsWithTags: ['scope:database', 'scope:shared'] },
            { sourceTag: 'scope:backup', onlyDependOnLibsWithTags: ['scope:backup', 'scope:shared'] },
            { sourceTag: 'scope:monitoring', onlyDependOnLibsWithTags: ['scope:monitoring', 'scope:shared'] },
            { sourceTag: 'scope:logging', onlyDependOnLibsWithTags: ['scope:logging', 'scope:shared'] },
            { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:tooling', 'scope:shared'] },
            { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests assert on synthesized manifests and parsed JSON, whose shape is the thing under test.
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
