import { KNOWN_METHODS, METRICS, OTHER_METHOD, UPSTREAM_FAILURE_KINDS, type UpstreamFailureKind } from '@bitpin/metrics-contract';
import { Counter, Gauge, Registry, type Metric, type MetricValue } from 'prom-client';
import type { RouteTemplates } from './route-templates.js';

/** Index of each method label value: {@link KNOWN_METHODS} in order, then `_OTHER`. */
const METHOD_NAMES: readonly string[] = [...KNOWN_METHODS, OTHER_METHOD];
const OTHER_METHOD_INDEX = KNOWN_METHODS.length;
const METHODS_PER_ROUTE = 16;
const STATUS_SLOTS = 1000;

/** The method's label index (no allocation, no string comparison on the common methods). */
export function methodIndex(method: string | undefined): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'CONNECT':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'TRACE':
      return 7;
    case 'PATCH':
      return 8;
    default:
      return OTHER_METHOD_INDEX;
  }
}

type HttpLabels = { method: string; route: string; status_code: string };

/** One label combination: plain numbers, updated in place on the hot path. */
class Series {
  count = 0;
  sum = 0;
  requestBytes = 0;
  responseBytes = 0;
  /** Non-cumulative counts per bucket; the last slot is `+Inf`. */
  readonly buckets: Float64Array;
  /** `method="…",route="…",status_code="…"`, escaped once. */
  readonly labelText: string;
  constructor(
    readonly labels: HttpLabels,
    bucketCount: number,
  ) {
    this.buckets = new Float64Array(bucketCount + 1);
    this.labelText = `method="${escapeLabel(labels.method)}",route="${escapeLabel(labels.route)}",status_code="${labels.status_code}"`;
  }
}

/** Escaping of the Prometheus text format, as prom-client does it. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

type Utf8Write = (this: Buffer, s: string, offset: number) => number;
const nativeUtf8Write = (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write;
/**
 * `buf.utf8Write` is what `buf.write(s, offset)` ends in, without the argument juggling that
 * made up a third of a large scrape. It is not documented, so `write` stays the fallback.
 */
const utf8Write: (buf: Buffer, s: string, offset: number) => number = nativeUtf8Write
  ? (buf, s, offset) => nativeUtf8Write.call(buf, s, offset)
  : (buf, s, offset) => buf.write(s, offset);

/**
 * Exposition text written straight into a growing Buffer. Scrapes of a capped-but-full sidecar
 * produce megabytes of text: building it as one JS string keeps a large, live rope in the young
 * generation (copied and promoted by every scavenge); a Buffer is outside the JS heap and each
 * line string dies at once.
 */
export class ExpositionWriter {
  private buf: Buffer;
  private len = 0;

  constructor(sizeHint = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  write(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (this.len + s.length * 3 > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + s.length * 3));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.len += utf8Write(this.buf, s, this.len);
  }

  get length(): number {
    return this.len;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** A metric that writes its own exposition text (see {@link SidecarRegistry}). */
interface TextMetric {
  renderInto(w: ExpositionWriter): void;
}

function isTextMetric(m: unknown): m is TextMetric {
  return typeof (m as Partial<TextMetric>).renderInto === 'function';
}

const baseGetMetricsAsString = (Registry.prototype as unknown as { getMetricsAsString(m: unknown): Promise<string> }).getMetricsAsString;

/**
 * A prom-client Registry that lets the request metrics write their own text: the same bytes
 * prom-client would print (a test diffs them), from label strings escaped once per series instead
 * of label objects formatted on every scrape. Every other metric goes through prom-client
 * unchanged. With a plain Registry the request metrics fall back to `getForPromString`.
 */
export class SidecarRegistry extends Registry {
  private lastSize = 64 * 1024;

  getMetricsAsString(metric: unknown): string | Promise<string> {
    if (!isTextMetric(metric)) return baseGetMetricsAsString.call(this, metric);
    const w = new ExpositionWriter();
    metric.renderInto(w);
    return w.toBuffer().toString();
  }

  /** The whole exposition as a Buffer (what `/metrics` sends): `metrics()` without the big string. */
  async metricsBuffer(): Promise<Buffer> {
    const w = new ExpositionWriter(this.lastSize + this.lastSize / 4);
    let first = true;
    for (const metric of this.getMetricsAsArray()) {
      if (!first) w.write('\n\n');
      first = false;
      if (isTextMetric(metric)) metric.renderInto(w);
      else w.write(await baseGetMetricsAsString.call(this, metric));
    }
    w.write('\n');
    this.lastSize = w.length;
    return w.toBuffer();
  }
}

type Value = MetricValue<string>;
type Values = Value[];
/** What prom-client's Registry reads from a metric. */
interface Exposition {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Values;
  aggregator: 'sum';
}
type Extract = (s: Series) => number;

/**
 * Duck-typed prom-client metric: the Registry only calls `get`/`getForPromString` and `reset`, so a
 * metric can keep its numbers wherever it likes. Output is the same text prom-client's own
 * Counter and Histogram print for the same observations (a test diffs them).
 */
class SeriesMetric {
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly store: HttpMetrics,
    private readonly value: Extract | undefined,
  ) {}

  getForPromString(): Exposition {
    const values: Values = [];
    const series = this.store.series();
    if (this.value) {
      for (const s of series) values.push({ labels: s.labels, value: this.value(s) });
    } else {
      const bounds = this.store.bounds;
      const bucketName = `${this.name}_bucket`;
      const sumName = `${this.name}_sum`;
      const countName = `${this.name}_count`;
      for (const s of series) {
        let acc = 0;
        for (let i = 0; i < bounds.length; i++) {
          acc += s.buckets[i] as number;
          values.push({ labels: { le: bounds[i] }, value: acc, metricName: bucketName, sharedLabels: s.labels } as MetricValue<string>);
        }
        values.push({ labels: { le: '+Inf' }, value: s.count, metricName: bucketName, sharedLabels: s.labels } as MetricValue<string>);
        values.push({ labels: {}, value: s.sum, metricName: sumName, sharedLabels: s.labels } as MetricValue<string>);
        values.push({ labels: {}, value: s.count, metricName: countName, sharedLabels: s.labels } as MetricValue<string>);
      }
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  renderInto(w: ExpositionWriter): void {
    const name = this.name;
    w.write(`# HELP ${name} ${escapeHelp(this.help)}\n# TYPE ${name} ${this.type}`);
    const value = this.value;
    if (value) {
      const head = `\n${name}{`;
      for (const s of this.store.series()) w.write(`${head}${s.labelText}} ${num(value(s))}`);
      return;
    }
    const le = this.store.leText;
    const bucket = `\n${name}_bucket{le="`;
    const sum = `\n${name}_sum{`;
    const count = `\n${name}_count{`;
    for (const s of this.store.series()) {
      let acc = 0;
      for (let i = 0; i < le.length; i++) {
        acc += s.buckets[i] as number;
        w.write(`${bucket}${le[i]}",${s.labelText}} ${num(acc)}`);
      }
      w.write(`${sum}${s.labelText}} ${num(s.sum)}${count}${s.labelText}} ${num(s.count)}`);
    }
  }

  /** The JSON form (`registry.getMetricsAsJSON()`): shared labels merged into each value. */
  get(): Exposition {
    const m = this.getForPromString();
    m.values = m.values.map((v) => {
      const { sharedLabels, ...rest } = v as Value & { sharedLabels?: HttpLabels };
      return sharedLabels ? { ...rest, labels: { ...v.labels, ...sharedLabels } } : rest;
    });
    return m;
  }

  reset(): void {
    this.store.reset();
  }
}

/**
 * RED metrics of proxied requests. The hot path ({@link record}) touches only numbers in a series
 * found by an integer key; label objects exist once per series and text is produced at scrape
 * time by the injected Registry.
 */
export class HttpMetrics {
  /** Histogram upper bounds, ascending. */
  readonly bounds: readonly number[] = METRICS.httpRequestDuration.buckets;
  /** `le` label values, `+Inf` last. */
  readonly leText: readonly string[] = [...METRICS.httpRequestDuration.buckets.map((b) => num(b)), '+Inf'];
  private readonly byKey = new Map<number, Series>();
  private readonly failures: Counter<'kind'>;
  /** Requests being proxied right now; a plain number read by the gauge at scrape time. */
  inFlight = 0;

  constructor(
    registry: Registry,
    readonly routes: RouteTemplates,
  ) {
    const m = METRICS;
    const register = (metric: SeriesMetric): void => registry.registerMetric(metric as unknown as Metric);
    register(new SeriesMetric(m.httpRequests.name, m.httpRequests.help, 'counter', this, (s) => s.count));
    register(new SeriesMetric(m.httpRequestDuration.name, m.httpRequestDuration.help, 'histogram', this, undefined));
    register(new SeriesMetric(m.httpRequestBodyBytes.name, m.httpRequestBodyBytes.help, 'counter', this, (s) => s.requestBytes));
    register(new SeriesMetric(m.httpResponseBodyBytes.name, m.httpResponseBodyBytes.help, 'counter', this, (s) => s.responseBytes));

    // In-flight is a plain number on the hot path, copied into the gauge when scraped.
    const inFlight = (): number => this.inFlight;
    new Gauge({
      name: m.httpActiveRequests.name,
      help: m.httpActiveRequests.help,
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    });
    new Gauge({
      name: m.routeTemplates.name,
      help: m.routeTemplates.help,
      registers: [registry],
      collect() {
        this.set(routes.size);
      },
    });
    new Gauge({ name: m.routeTemplatesLimit.name, help: m.routeTemplatesLimit.help, registers: [registry] }).set(routes.cap);
    this.failures = new Counter({
      name: m.upstreamFailures.name,
      help: m.upstreamFailures.help,
      labelNames: m.upstreamFailures.labelNames,
      registers: [registry],
    });
    // Every kind is exported from the start, so rate() sees the first failure.
    for (const kind of UPSTREAM_FAILURE_KINDS) this.failures.inc({ kind }, 0);
  }

  /** Records one finished request. `url` is the request target; `seconds` its duration. */
  record(url: string, method: number, status: number, seconds: number, requestBytes: number, responseBytes: number): void {
    const route = this.routes.resolve(url);
    const key = (route * METHODS_PER_ROUTE + method) * STATUS_SLOTS + (status < STATUS_SLOTS ? status : 0);
    let s = this.byKey.get(key);
    if (s === undefined) s = this.create(key, route, method, status);
    s.count++;
    s.sum += seconds;
    s.requestBytes += requestBytes;
    s.responseBytes += responseBytes;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > (b[i] as number)) i++;
    (s.buckets[i] as number)++;
  }

  /** Counts an upstream failure (the request itself is also recorded, with the status sent). */
  failure(kind: UpstreamFailureKind): void {
    this.failures.inc({ kind });
  }

  series(): IterableIterator<Series> {
    return this.byKey.values();
  }

  /** Distinct label combinations of the request metrics. */
  get seriesCount(): number {
    return this.byKey.size;
  }

  reset(): void {
    this.byKey.clear();
  }

  private create(key: number, route: number, method: number, status: number): Series {
    const labels: HttpLabels = {
      method: METHOD_NAMES[method] ?? OTHER_METHOD,
      route: this.routes.names[route] ?? '',
      status_code: String(status),
    };
    const s = new Series(labels, this.bounds.length);
    this.byKey.set(key, s);
    return s;
  }
}
