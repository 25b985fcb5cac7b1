// The reference peer: fastify + @fastify/reply-from with the same metrics as the sidecar
// (request counter, duration histogram, in-flight gauge, body-size counters, bounded route
// templates), recorded the idiomatic way: prom-client label objects in an onResponse hook.
// Proxy and /__metrics on PEER_PORT; upstream at PEER_UPSTREAM.
import { randomUUID } from 'node:crypto';
import replyFrom from '@fastify/reply-from';
import { METRICS } from '@bitpin/metrics-contract';
import Fastify from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RouteTemplates } from '../dist/index.js';

const port = Number(process.env.PEER_PORT);
const upstream = process.env.PEER_UPSTREAM;
const registry = new Registry();
const labelNames = METRICS.httpRequests.labelNames;
const requests = new Counter({ name: METRICS.httpRequests.name, help: METRICS.httpRequests.help, labelNames, registers: [registry] });
const duration = new Histogram({
  name: METRICS.httpRequestDuration.name,
  help: METRICS.httpRequestDuration.help,
  labelNames,
  buckets: [...METRICS.httpRequestDuration.buckets],
  registers: [registry],
});
const reqBytes = new Counter({ name: METRICS.httpRequestBodyBytes.name, help: 'x', labelNames, registers: [registry] });
const resBytes = new Counter({ name: METRICS.httpResponseBodyBytes.name, help: 'x', labelNames, registers: [registry] });
const active = new Gauge({ name: METRICS.httpActiveRequests.name, help: 'x', registers: [registry] });
const routes = new RouteTemplates(200);

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: upstream, undici: { connections: 64, pipelining: 1 } });
app.addHook('onRequest', async () => active.inc());
app.addHook('onResponse', async (req, reply) => {
  active.dec();
  const labels = { method: req.method, route: routes.names[routes.resolve(req.url, reply.statusCode)], status_code: String(reply.statusCode) };
  requests.inc(labels);
  duration.observe(labels, reply.elapsedTime / 1000);
  reqBytes.inc(labels, Number(req.headers['content-length'] ?? 0));
  resBytes.inc(labels, Number(reply.getHeader('content-length') ?? 0));
});
app.get('/__metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
app.all('/*', (req, reply) => {
  reply.from(req.url, {
    rewriteRequestHeaders: (r, headers) => ({
      ...headers,
      'x-forwarded-for': r.ip,
      'x-forwarded-proto': 'http',
      'x-request-id': headers['x-request-id'] ?? randomUUID(),
    }),
  });
});
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
