import { buildApp, listen } from './app.js';
import { ConfigError, loadConfig, type SidecarConfig } from './config.js';
import { createLogger } from './logger.js';

/**
 * Entry point: `node dist/main.js`. Exit codes: 0 after a SIGTERM/SIGINT drain, 1 on a runtime
 * failure (such as a port in use), 2 on bad configuration (one line per problem on stderr).
 */
async function main(): Promise<void> {
  let config: SidecarConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.lines) process.stderr.write(`metrics-sidecar: config: ${line}\n`);
    process.exitCode = 2;
    return;
  }

  const logger = createLogger(config.logLevel);
  const app = await buildApp({ config, logger });
  try {
    await listen(app);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot start');
    await app.close().catch(() => undefined);
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, inFlight: app.proxy?.inFlight ?? 0 }, 'stopping');
    // Drain first, with the metrics port fully up: scrapes see the drained requests, /readyz says
    // draining. Only then close fastify (from then on it answers 503 until the process exits).
    app
      .drainProxy()
      .then(() => app.close())
      .then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`metrics-sidecar: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
