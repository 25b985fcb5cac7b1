import type { EnvConfig } from '@bitpin/config';
import { appRules } from './app.js';
import { backupRules } from './backups.js';
import { cacheRules } from './cache.js';
import { databaseRules } from './database.js';
import { kubernetesRules } from './kubernetes.js';
import { loggingRules } from './logging.js';
import { metaRules } from './meta.js';
import { nodeRules } from './nodes.js';
import { scrapeRules } from './scrape.js';
import type { PrometheusRuleFile } from './builder.js';

/** Every rule file for an env, in a stable order. */
export function buildRuleFiles(env: EnvConfig): PrometheusRuleFile[] {
  return [
    ...[appRules, databaseRules, backupRules, kubernetesRules, nodeRules, loggingRules, metaRules, scrapeRules].map((f) => f(env)),
    // The Redis cache's rules only where the env runs it (libs/cache).
    ...(env.cache.enabled ? [cacheRules(env)] : []),
  ];
}
