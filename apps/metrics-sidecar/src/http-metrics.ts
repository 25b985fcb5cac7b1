import {
  KNOWN_METHODS,
  METRICS,
  OTHER_METHOD,
  REJECTED_REQUEST_KINDS,
  UPSTREAM_FAILURE_KINDS,
  statusCodeLabel,
  type RejectedRequestKind,
  type UpstreamFailureKind,
} from '@bitpin/metrics-contract';
import { Counter, Gauge, Registry, type Metric, type MetricValue } from 'prom-client';
import type { RouteTemplates } from './route-templates.js';

/** Index of each method label value: {@link KNOWN_METHODS} in order, then `_OTHER`. */
const METHOD_NAMES: readonly string[] = [...KNOWN_METHODS, OTHER_METHOD];
const OTHER_METHOD_INDEX = KNOWN_METHODS.length;
const METHODS_PER_ROUTE = 16;

/**
 * `status_code` values and, per status 0–999, the index of its value: the contract's bounded set
 * (kept codes, classes, `other`), looked up in a table instead of computed per request.
 */
const STATUS_LABELS: string[] = [];
const STATUS_INDEX = new Uint8Array(1000);
for (let code = 0; code < STATUS_INDEX.length; code++) {
  const label = statusCodeLabel(code);
  let i = STATUS_LABELS.indexOf(label);
  if (i === -1) i = STATUS_LABELS.push(label) - 1;
  STATUS_INDEX[code] = i;
}
const STATUS_SLOTS = STATUS_LABELS.length;
const OTHER_STATUS_INDEX = STATUS_INDEX[999] as number;

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
  /** UTF-8 of `${labelText}} `: the part of every sample line between the metric's `{` and the value. */
  readonly labelTail: Buffer;
  constructor(
    readonly labels: HttpLabels,
    bucketCount: number,
  ) {
    this.buckets = new Float64Array(bucketCount + 1);
    this.labelText = `method="${escapeLabel(labels.method)}",route="${escapeLabel(labels.route)}",status_code="${labels.status_code}"`;
    this.labelTail = Buffer.from(`${this.labelText}} `, 'utf8');
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

/** The longest text {@link num} returns for a double (`-2.2250738585072014e-308`), rounded up. */
const MAX_NUMBER_LENGTH = 25;

/**
 * Copies `src` into `dst` at `off`; returns the new offset. `TypedArray#set` is a V8 builtin
 * (about 12 ns for any line-sized copy); a JS byte loop only wins below ~10 bytes.
 */
function put(dst: Buffer, off: number, src: Uint8Array): number {
  dst.set(src, off);
  return off + src.length;
}

/**
 * Writes `num(v)` as ASCII into `dst` at `off`; returns the new offset. Non-negative safe
 * integers (every count, bucket and byte counter) are written digit by digit without a string;
 * anything else goes through {@link num}, so the text is always what prom-client prints.
 */
function putNumber(dst: Buffer, off: number, v: number): number {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v) {
    let len = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) len++;
    let p = off + len;
    let x = v;
    do {
      const q = Math.floor(x / 10);
      dst[--p] = 48 + (x - q * 10);
      x = q;
    } while (x > 0);
    return off + len;
  }
  const s = num(v);
  for (let i = 0; i < s.length; i++) dst[off + i] = s.charCodeAt(i);
  return off + s.length;
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

  /** Writes into `initial` when given (a buffer kept from an earlier scrape), else a new one of `sizeHint` bytes. */
  constructor(sizeHint = 64 * 1024, initial?: Buffer) {
    this.buf = initial ?? Buffer.allocUnsafe(Math.max(1024, sizeHint));
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

  /**
   * Makes room for `bytes` more bytes and returns the buffer to write them into directly, from
   * {@link length} on; {@link commit} then sets the new length. The buffer is only valid until
   * the next `write` or `reserve`.
   */
  reserve(bytes: number): Buffer {
    if (this.len + bytes > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + bytes));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    return this.buf;
  }

  /** Ends a direct write started by {@link reserve}: `length` is now `end`. */
  commit(end: number): void {
    if (end < this.len || end > this.buf.length) throw new RangeError(`commit(${end}) outside ${this.len}..${this.buf.length}`);
    this.len = end;
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

/** Output buffers kept for reuse by {@link SidecarRegistry.release}. */
const MAX_SPARE_BUFFERS = 2;

/**
 * A prom-client Registry that lets the request metrics write their own text: the same bytes
 * prom-client would print (a test diffs them), written straight into the output buffer from label
 * bytes encoded once per series, instead of label objects formatted on every scrape. Every other
 * metric goes through prom-client unchanged. With a plain Registry the request metrics fall back
 * to `getForPromString`.
 */
export class SidecarRegistry extends Registry {
  private lastSize = 64 * 1024;
  /** Buffers of earlier scrapes whose responses are done, for the next scrapes to write into. */
  private spare: Buffer[] = [];
  /** Backing stores handed out by {@link metricsBuffer} and not yet released. */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  getMetricsAsString(metric: unknown): string | Promise<string> {
    if (!isTextMetric(metric)) return baseGetMetricsAsString.call(this, metric);
    const w = new ExpositionWriter();
    metric.renderInto(w);
    return w.toBuffer().toString();
  }

  /**
   * The whole exposition as a Buffer (what `/metrics` sends): `metrics()` without the big string.
   * Hand it back with {@link release} once it has been sent, and the next scrape writes into the
   * same memory: a megabyte-sized Buffer per scrape is external memory that V8 answers with
   * full mark-compacts every few dozen scrapes.
   */
  async metricsBuffer(): Promise<Buffer> {
    // Default labels are added by prom-client's own formatting only.
    if (Object.keys((this as unknown as { _defaultLabels: object })._defaultLabels).length > 0) return Buffer.from(await this.metrics());
    // A new buffer gets 25% headroom; a kept one only needs to hold the last exposition (if this
    // one turns out longer, the writer grows it once).
    const w = new ExpositionWriter(this.lastSize + (this.lastSize >> 2), this.takeSpare(this.lastSize));
    let first = true;
    for (const metric of this.getMetricsAsArray()) {
      if (!first) w.write('\n\n');
      first = false;
      if (isTextMetric(metric)) metric.renderInto(w);
      else w.write(await baseGetMetricsAsString.call(this, metric));
    }
    w.write('\n');
    this.lastSize = w.length;
    const out = w.toBuffer();
    this.lent.add(out.buffer);
    return out;
  }

  /**
   * Returns a buffer from {@link metricsBuffer} for reuse. Call it only when nothing reads the
   * buffer any more (the response finished or was aborted); anything else is ignored, and a
   * buffer never released is simply garbage collected.
   */
  release(buf: Buffer): void {
    const store = buf.buffer;
    if (!this.lent.has(store)) return;
    this.lent.delete(store);
    if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(Buffer.from(store));
  }

  private takeSpare(min: number): Buffer | undefined {
    const i = this.spare.findIndex((b) => b.length >= min);
    if (i === -1) {
      // All too small for the current exposition: let them go.
      this.spare = [];
      return undefined;
    }
    return this.spare.splice(i, 1)[0];
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
  /** `# HELP` and `# TYPE` lines (no trailing newline: every sample line starts with one). */
  private readonly header: string;
  /** UTF-8 of what precedes the labels on each line of one series (see {@link renderInto}). */
  private readonly heads: readonly Buffer[];
  private readonly headBytes: number;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly store: HttpMetrics,
    private readonly value: Extract | undefined,
  ) {
    this.header = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;
    const heads = value
      ? [`\n${name}{`]
      : [...store.leText.map((le) => `\n${name}_bucket{le="${le}",`), `\n${name}_sum{`, `\n${name}_count{`];
    this.heads = heads.map((h) => Buffer.from(h, 'utf8'));
    this.headBytes = this.heads.reduce((a, b) => a + b.length, 0);
  }

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
    w.write(this.header);
    // Room is checked once per series, for its longest possible text (numbers at their longest).
    const heads = this.heads;
    const lines = heads.length;
    const fixed = this.headBytes + lines * MAX_NUMBER_LENGTH;
    let buf = w.reserve(0);
    let off = w.length;
    const value = this.value;
    if (value) {
      // `\n<name>{` + labels + `} ` + value, per series
      const head = heads[0] as Buffer;
      for (const s of this.store.series()) {
        const need = fixed + s.labelTail.length;
        if (off + need > buf.length) {
          w.commit(off);
          buf = w.reserve(need);
        }
        off = put(buf, off, head);
        off = put(buf, off, s.labelTail);
        off = putNumber(buf, off, value(s));
      }
      w.commit(off);
      return;
    }
    // Histogram: one bucket line per `le` (cumulative), then _sum and _count; heads[] holds
    // `\n<name>_bucket{le="<le>",` for each bucket, then `\n<name>_sum{` and `\n<name>_count{`.
    const bucketLines = lines - 2;
    for (const s of this.store.series()) {
      const tail = s.labelTail;
      const need = fixed + lines * tail.length;
      if (off + need > buf.length) {
        w.commit(off);
        buf = w.reserve(need);
      }
      const counts = s.buckets;
      let acc = 0;
      for (let i = 0; i < bucketLines; i++) {
        acc += counts[i] as number;
        off = put(buf, off, heads[i] as Buffer);
        off = put(buf, off, tail);
        off = putNumber(buf, off, acc);
      }
      off = put(buf, off, heads[bucketLines] as Buffer);
      off = put(buf, off, tail);
      off = putNumber(buf, off, s.sum);
      off = put(buf, off, heads[bucketLines + 1] as Buffer);
      off = put(buf, off, tail);
      off = putNumber(buf, off, s.count);
    }
    w.commit(off);
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
  private readonly rejections: Counter<'kind'>;
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
    this.rejections = new Counter({
      name: m.rejectedRequests.name,
      help: m.rejectedRequests.help,
      labelNames: m.rejectedRequests.labelNames,
      registers: [registry],
    });
    for (const kind of REJECTED_REQUEST_KINDS) this.rejections.inc({ kind }, 0);
  }

  /** Records one finished request. `url` is the request target; `seconds` its duration. */
  record(url: string, method: number, status: number, seconds: number, requestBytes: number, responseBytes: number): void {
    const route = this.routes.resolve(url, status);
    const st = status >= 0 && status < 1000 ? (STATUS_INDEX[status] as number) : OTHER_STATUS_INDEX;
    const key = (route * METHODS_PER_ROUTE + method) * STATUS_SLOTS + st;
    let s = this.byKey.get(key);
    if (s === undefined) s = this.create(key, route, method, st);
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

  /** Counts a request the sidecar answered itself (it is not in the request series). */
  rejected(kind: RejectedRequestKind): void {
    this.rejections.inc({ kind });
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

  private create(key: number, route: number, method: number, statusIndex: number): Series {
    const labels: HttpLabels = {
      method: METHOD_NAMES[method] ?? OTHER_METHOD,
      route: this.routes.names[route] ?? '',
      status_code: STATUS_LABELS[statusIndex] as string,
    };
    const s = new Series(labels, this.bounds.length);
    this.byKey.set(key, s);
    return s;
  }
}
