import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip as gzipCallback } from 'node:zlib';
import { DROPPED_PROCESS_METRICS, SIDECAR_PATHS } from '@bitpin/metrics-contract';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { SidecarConfig } from './config.js';
import { HttpMetrics, SidecarRegistry } from './http-metrics.js';
import { createLogger, type Logger } from './logger.js';
import { Probes } from './probes.js';
import { ProxyServer, type DrainResult } from './proxy.js';
import { RouteTemplates } from './route-templates.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The sidecar's own registry (the global prom-client registry is never used). */
    metricsRegistry: Registry;
    /**
     * Resolves true once a `/metrics` scrape that began with the proxy drained (draining, nothing
     * in flight: it holds every drained request) has been sent; false after `timeoutMs`.
     */
    lastScrape(timeoutMs: number): Promise<boolean>;
    httpMetrics: HttpMetrics;
    /** The data plane; `null` in observe mode. */
    proxy: ProxyServer | null;
    /**
     * Drains the proxy (SIGTERM) while the metrics port keeps serving: `/readyz` answers 503
     * `{"status":"draining"}`, `/metrics` and `/healthz` as usual. Idempotent; `close()` calls it.
     */
    drainProxy(): Promise<void>;
    probes: Probes;
    sidecarConfig: SidecarConfig;
  }
}

export interface BuildOptions {
  readonly config: SidecarConfig;
  /** @default - a JSON logger at `config.logLevel` on stdout */
  readonly logger?: Logger;
  /** @default - a new {@link SidecarRegistry} */
  readonly registry?: Registry;
  /** Collect prom-client's default process metrics. @default true */
  readonly processMetrics?: boolean;
  /** Start the probe loops when the app is ready. @default true */
  readonly startProbes?: boolean;
}

interface MetricsPluginOptions {
  readonly registry: Registry;
  readonly config: SidecarConfig;
  readonly processMetrics: boolean;
}

const gzip = promisify(gzipCallback);
/** Level 1: a full scrape shrinks ~15× already; higher levels cost CPU for a few percent. */
const GZIP_OPTIONS = { level: 1, memLevel: 9, strategy: zlibConstants.Z_DEFAULT_STRATEGY };

/** Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*`, with a q-value above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';');
    const c = coding.trim().toLowerCase();
    if (c !== 'gzip' && c !== 'x-gzip' && c !== '*') continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** `/metrics` from one injected Registry, plus the RED store the proxy writes into. */
const metricsPluginFn: FastifyPluginAsync<MetricsPluginOptions> = async (app, opts) => {
  const { registry, config } = opts;
  if (opts.processMetrics) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total fail `promtool check metrics`; each is the sum of a per-type gauge kept.
    for (const name of DROPPED_PROCESS_METRICS) registry.removeSingleMetric(name);
  }
  app.decorate('metricsRegistry', registry);
  let finalSent = false;
  app.decorate('lastScrape', async (timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    while (!finalSent && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    return finalSent;
  });
  app.decorate('httpMetrics', new HttpMetrics(registry, new RouteTemplates(config.routes.cap, config.routes.rules)));
  app.get(
    SIDECAR_PATHS.metrics,
    { schema: { response: { 200: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } } } },
    async (req, reply) => {
      const proxy = app.proxy;
      if (proxy !== null && proxy.draining && proxy.inFlight === 0) reply.raw.once('finish', () => (finalSent = true));
      reply.type(registry.contentType).header('vary', 'accept-encoding');
      if (!(registry instanceof SidecarRegistry)) {
        const text = await registry.metrics();
        return acceptsGzip(req.headers['accept-encoding']) ? reply.header('content-encoding', 'gzip').send(await gzip(text, GZIP_OPTIONS)) : reply.send(text);
      }
      const body = await registry.metricsBuffer();
      if (acceptsGzip(req.headers['accept-encoding'])) {
        // Compressed off the event loop (libuv's thread pool); the text buffer is free right after.
        let zipped: Buffer;
        try {
          zipped = await gzip(body, GZIP_OPTIONS);
        } finally {
          registry.release(body);
        }
        return reply.header('content-encoding', 'gzip').send(zipped);
      }
      // 'close' follows 'finish' (every byte handed to the socket) or an abort: the buffer is free.
      reply.raw.once('close', () => registry.release(body));
      return reply.send(body);
    },
  );
};
const metricsPlugin = fp(metricsPluginFn, { fastify: '5.x', name: 'sidecar-metrics' });

/**
 * The proxy lives beside fastify, not inside it: its server has its own request listener, so no
 * routing, hooks or reply objects run per proxied request. Fastify owns its lifecycle: `preClose`
 * drains it while `/metrics` is still up, `onClose` releases upstream connections.
 */
const proxyPluginFn: FastifyPluginAsync<{ readonly config: SidecarConfig }> = async (app, { config }) => {
  if (config.mode !== 'proxy') {
    app.decorate('proxy', null);
    app.decorate('drainProxy', async () => undefined);
    return;
  }
  const proxy = new ProxyServer({
    upstream: config.upstream,
    clientKeepAliveMs: config.clientKeepAliveMs,
    metrics: app.httpMetrics,
    logger: app.log as Logger,
    accessLog: config.accessLog,
  });
  app.decorate('proxy', proxy);
  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> =>
    (drained ??= (async () => {
      if (!proxy.listening) return;
      app.log.info({ inFlight: proxy.inFlight, deadlineMs: config.drainTimeoutMs }, 'draining proxy');
      const r: DrainResult = await proxy.drain(config.drainTimeoutMs);
      if (r.clean) app.log.info('proxy drained');
      else app.log.warn({ abandoned: r.abandoned }, 'drain deadline reached; closed remaining connections');
      if (config.drainLastScrapeMs > 0) {
        const seen = await app.lastScrape(config.drainLastScrapeMs);
        app.log.info({ scraped: seen }, seen ? 'last scrape served' : 'no scrape after the drain');
      }
    })());
  app.decorate('drainProxy', drain);
  // Normally main.ts drained already (fastify answers 503 to everything once close() starts).
  app.addHook('preClose', drain);
  app.addHook('onClose', async () => {
    await proxy.close();
  });
};
const proxyPlugin = fp(proxyPluginFn, { fastify: '5.x', name: 'sidecar-proxy', dependencies: ['sidecar-metrics'] });

const probesPluginFn: FastifyPluginAsync<{ readonly config: SidecarConfig; readonly start: boolean }> = async (app, { config, start }) => {
  const probes = new Probes({ config, registry: app.metricsRegistry, logger: app.log as Logger });
  app.decorate('probes', probes);
  if (start) app.addHook('onReady', async () => probes.start());
  app.addHook('onClose', async () => probes.stop());
};
const probesPlugin = fp(probesPluginFn, { fastify: '5.x', name: 'sidecar-probes', dependencies: ['sidecar-metrics'] });

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' } },
  required: ['status'],
} as const;

/** The sidecar's own liveness and readiness (the app's health is probed, not relayed). */
const healthPluginFn: FastifyPluginAsync = async (app) => {
  app.get(SIDECAR_PATHS.health, { schema: { response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));
  app.get(SIDECAR_PATHS.ready, { schema: { response: { 200: statusSchema, 503: statusSchema } } }, async (_req, reply) => {
    const proxy = app.proxy;
    if (proxy === null) return { status: 'ready' };
    if (proxy.draining) return reply.code(503).send({ status: 'draining' });
    if (!proxy.listening) return reply.code(503).send({ status: 'starting' });
    return { status: 'ready' };
  });
};
const healthPlugin = fp(healthPluginFn, { fastify: '5.x', name: 'sidecar-health', dependencies: ['sidecar-proxy'] });

/**
 * The sidecar as a fastify instance serving the metrics port, with the proxy (if any) attached.
 * Nothing listens yet: call {@link listen}. Tests use `inject()` for the metrics port.
 */
export async function buildApp(opts: BuildOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const app = Fastify({
    loggerInstance: logger,
    // Scrapes and probes every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    forceCloseConnections: true,
  });
  app.decorate('sidecarConfig', config);
  await app.register(metricsPlugin, { registry: opts.registry ?? new SidecarRegistry(), config, processMetrics: opts.processMetrics ?? true });
  await app.register(proxyPlugin, { config });
  await app.register(probesPlugin, { config, start: opts.startProbes ?? true });
  await app.register(healthPlugin);
  return app as unknown as FastifyInstance;
}

export interface Listening {
  readonly metrics: AddressInfo;
  /** `null` in observe mode. */
  readonly proxy: AddressInfo | null;
}

/** Binds the metrics port, then the proxy port (readiness turns true only after both). */
export async function listen(app: FastifyInstance, ports: { metrics?: number; proxy?: number } = {}): Promise<Listening> {
  const c = app.sidecarConfig;
  await app.listen({ port: ports.metrics ?? c.metricsPort, host: c.listenHost });
  const metrics = app.server.address() as AddressInfo;
  const proxy = app.proxy ? await app.proxy.listen(ports.proxy ?? c.proxyPort, c.listenHost) : null;
  app.log.info({ mode: c.mode, proxyPort: proxy?.port, metricsPort: metrics.port, upstream: c.upstream.origin }, 'listening');
  return { metrics, proxy };
}
