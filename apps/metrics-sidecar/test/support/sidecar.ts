import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { SidecarRegistry, buildApp, createLogger, listen, loadConfig } from '../../src/index.js';

export interface RunningSidecar {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  /** `http://127.0.0.1:<proxy port>` */
  readonly proxyUrl: string;
  /** Metrics exposition text, through `inject` (the real route, no socket). */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The sidecar in this process, both servers on free loopback ports, configured through the same
 * `loadConfig` as production (env-shaped input). Probes are not started: tests call them.
 */
export async function startSidecar(env: Record<string, string>): Promise<RunningSidecar> {
  const config = loadConfig({ SIDECAR_LISTEN_HOST: '127.0.0.1', ...env });
  const registry = new SidecarRegistry();
  const app = await buildApp({ config, registry, logger: createLogger('silent'), processMetrics: false, startProbes: false });
  const { proxy } = await listen(app, { metrics: 0, proxy: 0 });
  return {
    app,
    registry,
    proxyUrl: proxy ? `http://127.0.0.1:${proxy.port}` : '',
    scrape: async () => (await app.inject({ method: 'GET', url: '/metrics' })).body,
    close: () => app.close(),
  };
}
