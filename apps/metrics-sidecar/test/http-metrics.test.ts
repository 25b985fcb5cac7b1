import { METRICS } from '@bitpin/metrics-contract';
import { Counter, Histogram, Registry, register as globalRegistry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExpositionWriter, HttpMetrics, RouteTemplates, SidecarRegistry, methodIndex } from '../src/index.js';
import { parseExposition } from './support/exposition.js';

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

  it('writes a capped, overflowing route set with odd labels and numbers exactly as prom-client does', async () => {
    // GIVEN 60 templates over a cap of 40 (so 20+ overflow), labels that need escaping or are not
    // ASCII, every method slot, statuses incl. 499, durations on, between and past the bucket bounds,
    // and byte counters past 2^53 and fractional, recorded into the lean store ...
    const ours = new SidecarRegistry();
    const http = new HttpMetrics(ours, new RouteTemplates(40));
    // ... and the same observations into stock prom-client metrics with the contract's names
    const reference = new Registry();
    const labelNames = METRICS.httpRequests.labelNames;
    const counter = (spec: { name: string; help: string }): Counter<string> => new Counter({ name: spec.name, help: spec.help, labelNames, registers: [reference] });
    const requests = counter(METRICS.httpRequests);
    const reqBytes = counter(METRICS.httpRequestBodyBytes);
    const resBytes = counter(METRICS.httpResponseBodyBytes);
    const duration = new Histogram({
      name: METRICS.httpRequestDuration.name,
      help: METRICS.httpRequestDuration.help,
      labelNames,
      buckets: [...METRICS.httpRequestDuration.buckets],
      registers: [reference],
    });
    let seed = 11;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const odd = ['/a"quoted"/', '/back\\slash/', '/new\nline/', '/café/ünï/', '/emoji/🚀/', '/tab\t/'];
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'BREW'];
    const statuses = [200, 201, 204, 301, 404, 499, 500, 503];
    const durations = [0, 0.005, 0.0050001, 0.01, 0.7, 1, 2.5, 9.99, 10, 10.5, 120, 1e-9];
    const bigBytes = [0, 1, 1038, 2 ** 53 - 1, 2 ** 53 + 2, 1e21, 0.5, 1234.5678];
    const routes = new RouteTemplates(40);
    for (let i = 0; i < 3000; i++) {
      // the odd routes come first, so they are among the capped templates
      const r = i < odd.length ? i : Math.floor(rand() * 60);
      const url = r < odd.length ? (odd[r] as string) : `/p/page-${r}-x/${Math.floor(rand() * 1e6)}?q=${i}`;
      const method = methods[Math.floor(rand() * methods.length)] as string;
      const status = statuses[Math.floor(rand() * statuses.length)] as number;
      const seconds = rand() < 0.3 ? (durations[Math.floor(rand() * durations.length)] as number) : rand() * 3;
      const inBytes = i % 97 === 0 ? (bigBytes[Math.floor(rand() * bigBytes.length)] as number) : Math.floor(rand() * 5000);
      const outBytes = i % 89 === 0 ? (bigBytes[Math.floor(rand() * bigBytes.length)] as number) : Math.floor(rand() * 100_000);
      http.record(url, methodIndex(method), status, seconds, inBytes, outBytes);
      const labels = { method: methodIndex(method) === 9 ? '_OTHER' : method, route: routes.names[routes.resolve(url, status)] as string, status_code: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      reqBytes.inc(labels, inBytes);
      resBytes.inc(labels, outBytes);
    }
    expect(routes.size).toBe(40);
    expect(http.seriesCount).toBeGreaterThan(500);
    // WHEN both are scraped
    const theirs = await reference.metrics();
    const body = (await ours.metricsBuffer()).toString();
    // THEN the four request metrics are the same bytes, block by block (HELP, TYPE, every sample, in order)
    const pick = (text: string, name: string): string =>
      text
        .split('\n\n')
        .filter((block) => block.includes(`# TYPE ${name} `))
        .join('\n\n')
        .trimEnd();
    for (const name of [METRICS.httpRequests.name, METRICS.httpRequestDuration.name, METRICS.httpRequestBodyBytes.name, METRICS.httpResponseBodyBytes.name]) {
      expect(pick(body, name)).toBe(pick(theirs, name));
    }
    // and parse to the same samples (the exposition also carries the gauges and failures prom-client renders)
    const parsed = parseExposition(body);
    const reference_ = parseExposition(theirs);
    for (const [series, value] of reference_) expect([series, parsed.get(series)]).toEqual([series, value]);
    expect([...parsed.keys()].filter((k) => k.startsWith('http_server_') && !k.startsWith(METRICS.httpActiveRequests.name)).length).toBe(reference_.size);
    expect(body).toContain('route="__overflow__"');
    expect(body).toContain('route="/new\\nline/"');
    expect(body).toContain('route="/a\\"quoted\\"/"');
    expect(body).toContain('1e+21');
    expect(await ours.metrics()).toBe(body);
  });

  it('reuses a released scrape buffer for the next scrape, and never one still lent out', async () => {
    const reg = new SidecarRegistry();
    const http = new HttpMetrics(reg, new RouteTemplates(300));
    const fill = (n: number): void => {
      for (let i = 0; i < n; i++) http.record(`/r/${i}-x`, methodIndex('GET'), 200, 0.01 * (i % 7), 10, 100);
    };
    fill(250);
    // GIVEN a scrape whose buffer is still lent (its response not finished)
    const first = await reg.metricsBuffer();
    const firstText = first.toString();
    fill(250);
    // WHEN more scrapes run, one released twice
    const second = await reg.metricsBuffer();
    expect(second.buffer).not.toBe(first.buffer);
    reg.release(second);
    reg.release(second);
    const third = await reg.metricsBuffer();
    const fourth = await reg.metricsBuffer();
    // THEN the released memory is reused once, the lent buffer is untouched, and every scrape is right
    expect(third.buffer).toBe(second.buffer);
    expect(fourth.buffer).not.toBe(third.buffer);
    expect(fourth.buffer).not.toBe(first.buffer);
    expect(first.toString()).toBe(firstText);
    expect(third.toString()).toBe(await reg.metrics());
    expect(fourth.toString()).toBe(third.toString());
    expect(firstText).not.toBe(third.toString());
    // a buffer that did not come from metricsBuffer() is ignored
    reg.release(Buffer.alloc(1 << 20));
    reg.release(third);
    reg.release(fourth);
    const fifth = await reg.metricsBuffer();
    expect([third.buffer, fourth.buffer]).toContain(fifth.buffer);
    expect(fifth.toString()).toBe(await reg.metrics());
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
