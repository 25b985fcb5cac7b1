import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The deployer's caches: `$BITPIN_CACHE/deployer/<name>` (default `~/.cache/bitpin/…`);
 * `BITPIN_DEPLOYER_CACHE=off` turns them off.
 */
export function deployerCacheDir(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['BITPIN_DEPLOYER_CACHE'] === 'off') return undefined;
  return join(env['BITPIN_CACHE'] || join(homedir(), '.cache', 'bitpin'), 'deployer', name);
}

/** Where discovery is cached: one file per API server URL. */
export function discoveryCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return deployerCacheDir('discovery', env);
}
