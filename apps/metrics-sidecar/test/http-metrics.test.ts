import { METRICS } from '@bitpin/metrics-contract';
import { Counter, Histogram, Registry, register as globalRegistry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExpositionWriter, HttpMetrics, RouteTemplates, SidecarRegistry, methodIndex } from '../src/index.js';

describe('HttpMetrics', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
    globalRegistry.clear();
  });

  it.each([
    ['SidecarRegistry (own text)', () => new SidecarRegistry()],
    ['a plain Registry (prom-client formatting)', () => new Registry()],
  ])("prints exactly what prom-client's own Counter and Histogram print, through %s", async (_name, make) => {
    // GIVEN the lean store and, in a second registry, stock prom-client metrics with the contract's names
    registry = make();
    const http = new HttpMetrics(registry, new RouteTemplates(50));
    const reference = new Registry();
    const labelNames = METRICS.httpRequests.labelNames;
    const counter = new Counter({ name: METRICS.httpRequests.name, help: METRICS.httpRequests.help, labelNames, registers: [reference] });
    const histogram = new Histogram({
      name: METRICS.httpRequestDuration.name,
      help: METRICS.httpRequestDuration.help,
      labelNames,
      buckets: [...METRICS.httpRequestDuration.buckets],
      registers: [reference],
    });
    const observations: [string, string, string, number, number][] = [
      ['/api/users/1', 'GET', '/api/users/:id', 200, 0.0031],
      ['/api/users/2', 'GET', '/api/users/:id', 200, 0.01],
      ['/api/users/3?x', 'GET', '/api/users/:id', 500, 0.7],
      ['/api/orders/', 'POST', '/api/orders/', 201, 12],
      ['/api/orders/', 'BREW', '/api/orders/', 200, 0.005],
      ['/a"b\\c/', 'GET', '/a"b\\c/', 200, 0.2],
    ];
    // WHEN both record them
    for (const [url, method, route, status, seconds] of observations) {
      http.record(url, methodIndex(method), status, seconds, 0, 0);
      const labels = { method: methodIndex(method) === 9 ? '_OTHER' : method, route, status_code: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    // THEN the exposition of those two metrics is byte for byte the same
    const pick = (text: string, name: string): string =>
      text
        .split('\n\n')
        .filter((block) => block.includes(`# TYPE ${name} `))
        .join('\n\n')
        .trimEnd();
    const ours = await registry.metrics();
    const theirs = await reference.metrics();
    for (const name of [METRICS.httpRequests.name, METRICS.httpRequestDuration.name]) {
      expect(pick(ours, name)).toBe(pick(theirs, name));
      expect(pick(ours, name).length).toBeGreaterThan(100);
    }
    // /metrics sends the Buffer form, which is the same text
    if (registry instanceof SidecarRegistry) expect((await registry.metricsBuffer()).toString()).toBe(ours);
    // and the JSON form carries the merged labels as well
    const json = await registry.getMetricsAsJSON();
    const hist = json.find((m) => m.name === METRICS.httpRequestDuration.name);
    expect(hist?.values).toContainEqual({ labels: { le: 0.005, method: 'GET', route: '/api/users/:id', status_code: '200' }, value: 1, metricName: `${METRICS.httpRequestDuration.name}_bucket` });
  });

  it('uses only the injected registry', async () => {
    new HttpMetrics(registry, new RouteTemplates(5));
    expect(await globalRegistry.metrics()).toBe('\n');
    expect(registry.getSingleMetric(METRICS.httpRequests.name)).toBeDefined();
  });

  it('fails to register twice in one registry (duplicate metric names)', () => {
    new HttpMetrics(registry, new RouteTemplates(5));
    expect(() => new HttpMetrics(registry, new RouteTemplates(5))).toThrow(/already been registered/);
  });
});

describe('ExpositionWriter', () => {
  it('grows past its initial size and keeps multi-byte text intact', () => {
    const w = new ExpositionWriter(1024);
    const parts = Array.from({ length: 500 }, (_, i) => `line ${i} → ünïcode\n`);
    for (const p of parts) w.write(p);
    expect(w.toBuffer().toString()).toBe(parts.join(''));
    expect(w.length).toBe(Buffer.byteLength(parts.join('')));
  });
});
