import type { Agent as HttpAgent } from 'node:http';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import type { KubeAccess } from './config.js';
import { ApiError, PreflightError } from './errors.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Asks for an object's metadata only (PartialObjectMetadata), on reads and on writes alike: a
 * write's answer then carries its uid and managedFields without the whole stored object back —
 * less for the API server to encode, less to parse, and no Secret data echoed.
 */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;q=0.9';
/** A LIST answered with each item's metadata only (no spec, data or status). */
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;q=0.9';

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  /** Return `undefined` instead of throwing on 404. */
  readonly allow404?: boolean;
  /** A conditional GET: a 304 (the entity tag still matches) returns `undefined`. */
  readonly ifNoneMatch?: string;
  /**
   * Filled in with the final HTTP status, the entity tag, whether an earlier attempt may have
   * reached the server, and the server's `Warning` headers (e.g. unknown fields under
   * fieldValidation=Warn).
   */
  readonly response?: ResponseInfo;
}

export interface ResponseInfo {
  status?: number;
  etag?: string;
  retried?: boolean;
  warnings?: string[];
}

export interface ClientStats {
  requests: number;
  retries: number;
  /** Requests that may have changed the cluster (not GET, not dry run). */
  writes: number;
}

export interface KubeClientOptions {
  /** Parallel connections when the server only speaks HTTP/1.1 (HTTP/2 multiplexes one). @default 8 */
  readonly connections?: number;
  /** Attempts for retryable failures (429, 5xx, connection resets). @default 6 */
  readonly attempts?: number;
  /** First backoff; doubles per attempt, capped at 8 s, with jitter. @default 200 */
  readonly backoffMs?: number;
  /** Per-request timeout. @default 30000 */
  readonly timeoutMs?: number;
  /** The `User-Agent` header. @default 'bitpin-kube-client' */
  readonly userAgent?: string;
}

/** BITPIN_TRACE=1 prints every API request with its start (ms since process start), status and duration to stderr (no bodies, no headers). */
const TRACE = process.env['BITPIN_TRACE'] === '1';

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_ERROR',
]);

/** HTTP/2 flow-control window per stream and for the connection. */
const H2_WINDOW = 16 * 1024 * 1024;

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** A failure below HTTP: the request may or may not have reached the server. */
class NetworkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function asNetworkError(e: unknown): NetworkError {
  if (e instanceof NetworkError) return e;
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  return new NetworkError(err.code ?? err.cause?.code ?? '', err.message ?? String(e));
}

/**
 * One connection to the API server: HTTP/2 when the server offers it over TLS (every request a
 * stream on one multiplexed connection: one TLS handshake per run, as kubectl does), otherwise a
 * keep-alive HTTP/1.1 pool. Node's own http2/https modules: nothing to load from node_modules.
 */
class Transport {
  private session: Promise<ClientHttp2Session | undefined> | undefined;
  private http1: { agent: HttpAgent; request: typeof import('node:https').request } | undefined;
  private readonly url: URL;

  constructor(
    private readonly access: KubeAccess,
    private readonly connections: number,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(access.server);
  }

  async send(method: HttpMethod, path: string, headers: Record<string, string>, body: string | undefined): Promise<RawResponse> {
    if (this.url.protocol === 'https:' && !this.http1) {
      const session = await this.h2();
      if (session) return this.sendH2(session, method, path, headers, body);
    }
    return this.sendHttp1(method, path, headers, body);
  }

  /** The HTTP/2 session, opened on first use (undefined: the server did not choose h2 in ALPN). */
  private h2(): Promise<ClientHttp2Session | undefined> {
    this.session ??= this.openH2().catch((e: unknown) => {
      this.session = undefined;
      throw asNetworkError(e);
    });
    return this.session;
  }

  private async openH2(): Promise<ClientHttp2Session | undefined> {
    const { ca, cert, key, rejectUnauthorized, servername } = this.access.tls;
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const isIp = /^[\d.]+$/.test(host) || host.includes(':');
    const socket = tlsConnect({
      host,
      port: Number(this.url.port || 443),
      ALPNProtocols: ['h2', 'http/1.1'],
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      ...(servername ? { servername } : isIp ? {} : { servername: host }),
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), 10_000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    if (socket.alpnProtocol !== 'h2') {
      // An HTTP/1.1-only server (or a proxy in front of one): use a keep-alive pool instead.
      socket.destroy();
      return undefined;
    }
    // Windows large enough that a LIST of a few MB (dashboards' ConfigMaps) streams without
    // waiting for WINDOW_UPDATEs: the default 64 KB made a 450 KB answer take several round trips.
    const session = h2connect(this.url.origin, { createConnection: () => socket, settings: { initialWindowSize: H2_WINDOW } });
    session.setLocalWindowSize(H2_WINDOW);
    const forget = () => {
      if (this.session && current === session) this.session = undefined;
    };
    const current = session;
    // A broken or closing session is dropped; in-flight streams fail (and are retried on a new one).
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    return session;
  }

  private sendH2(session: ClientHttp2Session, method: HttpMethod, path: string, headers: Record<string, string>, body: string | undefined): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      let stream;
      try {
        stream = session.request({ ':method': method, ':path': path, ...headers }, { endStream: body === undefined });
      } catch (e) {
        reject(asNetworkError(e));
        return;
      }
      const chunks: Buffer[] = [];
      let status = 0;
      let responseHeaders: IncomingHttpHeaders = {};
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        reject(asNetworkError(e));
      };
      stream.setTimeout(this.timeoutMs, () => {
        fail(new NetworkError('ETIMEDOUT', `no answer within ${this.timeoutMs / 1000}s`));
        stream.close();
      });
      stream.on('response', (h) => {
        status = Number(h[':status']);
        responseHeaders = h;
      });
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        // A stream can end without an answer when its session goes away.
        if (!status) return fail(new NetworkError('ERR_HTTP2_STREAM_CANCEL', 'the connection closed before the response'));
        if (settled) return;
        settled = true;
        resolve({ status, headers: responseHeaders, text: Buffer.concat(chunks).toString('utf8') });
      });
      stream.on('error', fail);
      stream.on('close', () => {
        if (!settled) fail(new NetworkError('ERR_HTTP2_STREAM_CANCEL', `stream closed before the response ended (code ${stream.rstCode})`));
      });
      if (body !== undefined) stream.end(body);
    });
  }

  private async sendHttp1(method: HttpMethod, path: string, headers: Record<string, string>, body: string | undefined): Promise<RawResponse> {
    if (!this.http1) {
      const secure = this.url.protocol === 'https:';
      const mod = secure ? await import('node:https') : await import('node:http');
      const { ca, cert, key, rejectUnauthorized, servername } = this.access.tls;
      const agent = new mod.Agent({
        keepAlive: true,
        maxSockets: this.connections,
        ...(secure
          ? {
              ...(ca ? { ca } : {}),
              ...(cert ? { cert } : {}),
              ...(key ? { key } : {}),
              ...(rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
              ...(servername ? { servername } : {}),
            }
          : {}),
      });
      this.http1 ??= { agent, request: mod.request as typeof import('node:https').request };
    }
    const { agent, request } = this.http1;
    return new Promise((resolve, reject) => {
      const req = request(
        { protocol: this.url.protocol, hostname: this.url.hostname.replace(/^\[|\]$/g, ''), port: this.url.port, path, method, headers, agent, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            res.complete
              ? resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })
              : reject(new NetworkError('ECONNRESET', 'the connection closed before the response ended')),
          );
          res.on('error', (e) => reject(asNetworkError(e)));
        },
      );
      req.on('timeout', () => req.destroy(new NetworkError('ETIMEDOUT', `no answer within ${this.timeoutMs / 1000}s`)));
      req.on('error', (e) => reject(asNetworkError(e)));
      req.end(body);
    });
  }

  async close(): Promise<void> {
    const session = await this.session?.catch(() => undefined);
    this.session = undefined;
    if (session && !session.closed) await new Promise<void>((r) => session.close(() => r()));
    this.http1?.agent.destroy();
    this.http1 = undefined;
  }
}

/**
 * A small Kubernetes REST client: one connection (HTTP/2, or a keep-alive HTTP/1.1 pool) with
 * the kubeconfig's credentials, JSON in and out, retries with backoff on 429/5xx/connection
 * resets (honouring Retry-After), and API errors turned into {@link ApiError}. It sends bodies
 * exactly as given — no model conversion, so no field is silently dropped.
 */
export class KubeClient {
  readonly stats: ClientStats = { requests: 0, retries: 0, writes: 0 };
  private access: KubeAccess;
  private transport: Transport;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly connections: number;
  private readonly userAgent: string;
  private readonly basePath: string;

  constructor(access: KubeAccess, opts: KubeClientOptions = {}) {
    this.access = access;
    this.connections = opts.connections ?? 8;
    this.attempts = opts.attempts ?? 6;
    this.backoffMs = opts.backoffMs ?? 200;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.userAgent = opts.userAgent ?? 'bitpin-kube-client';
    this.transport = new Transport(access, this.connections, this.timeoutMs);
    // A server URL with a path (a proxy in front of the API server) prefixes every request.
    this.basePath = new URL(access.server).pathname.replace(/\/+$/, '');
  }

  get server(): string {
    return this.access.server;
  }

  get contextName(): string {
    return this.access.contextName;
  }

  /** The kubeconfig user of the context (its name only); `unknown` when the kubeconfig gives none. */
  get userName(): string {
    return this.access.userName ?? 'unknown';
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  async get<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  async request<T = any>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const qs = Object.entries(opts.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const fullPath = `${this.basePath}${path}${qs ? `?${qs}` : ''}`;
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    let refreshed = false;
    const write = method !== 'GET' && method !== 'HEAD' && opts.query?.['dryRun'] === undefined;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      this.stats.requests++;
      if (write) this.stats.writes++;
      const headers: Record<string, string> = {
        accept: opts.accept ?? 'application/json',
        'user-agent': this.userAgent,
        ...(body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
        ...(opts.ifNoneMatch ? { 'if-none-match': opts.ifNoneMatch } : {}),
        ...this.access.headers,
      };
      let res: RawResponse;
      try {
        res = await this.transport.send(method, fullPath, headers, body);
      } catch (e) {
        const err = asNetworkError(e);
        if (TRACE) process.stderr.write(`trace: @${started.toFixed(0)} ms ${method} ${fullPath} → ${err.code || 'error'} (${(performance.now() - started).toFixed(1)} ms)\n`);
        if (RETRYABLE_CODES.has(err.code) && attempt < this.attempts) {
          this.stats.retries++;
          await this.backoff(attempt);
          continue;
        }
        throw new PreflightError(
          `cannot reach the API server ${this.access.server} (context "${this.access.contextName}"): ${describeNetworkError(err)}`,
        );
      }
      const { status, text } = res;
      if (opts.response) {
        opts.response.status = status;
        opts.response.retried = attempt > 1;
        const etag = res.headers['etag'];
        if (typeof etag === 'string') opts.response.etag = etag;
        const warning = res.headers['warning'];
        if (warning !== undefined) opts.response.warnings = warningsOf(warning);
      }
      if (TRACE) process.stderr.write(`trace: @${started.toFixed(0)} ms ${method} ${fullPath} → ${status} (${(performance.now() - started).toFixed(1)} ms)\n`);
      // JSON, except what the server sends as text (/healthz, /readyz, /livez: `ok`).
      if (status < 300) return (text ? (isJson(res.headers['content-type']) ? JSON.parse(text) : text) : undefined) as T;
      if (status === 304 && opts.ifNoneMatch) return undefined as T;
      if (status === 404 && opts.allow404) return undefined as T;
      if (status === 401 && !refreshed) {
        // Expired token or exec credentials: fetch fresh ones once.
        refreshed = true;
        this.access = await this.access.refresh();
        await this.transport.close();
        this.transport = new Transport(this.access, this.connections, this.timeoutMs);
        continue;
      }
      const retryable = status === 429 || (status >= 500 && status !== 501);
      if (retryable && attempt < this.attempts && !isSchemaError(text)) {
        const retryAfter = Number(res.headers['retry-after']);
        await this.backoff(attempt, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
        this.stats.retries++;
        continue;
      }
      throw toApiError(status, text, method, path, this.access);
    }
  }

  private async backoff(attempt: number, forcedMs?: number): Promise<void> {
    const base = forcedMs ?? Math.min(8000, this.backoffMs * 2 ** (attempt - 1));
    const ms = forcedMs ?? base / 2 + Math.random() * (base / 2);
    await new Promise((r) => setTimeout(r, ms));
  }
}

function isJson(contentType: string | string[] | undefined): boolean {
  return contentType === undefined || String(contentType).includes('json');
}

/** `Warning` headers (RFC 7234: `299 - "text with \"escapes\""`), as their texts. */
function warningsOf(header: string | string[]): string[] {
  // HTTP/1.1 joins repeated headers with ", " — split only before a new `299 - "…"` entry.
  const values = Array.isArray(header) ? header : header.split(/,\s*(?=\d{3} \S+ ")/);
  return values.map((v) => {
    const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(v.trim());
    return m?.[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : v;
  });
}

/** The API server answers unknown fields under fieldValidation=Strict with a 500 in some versions: not transient. */
function isSchemaError(text: string): boolean {
  return /field not declared in schema|unknown field/.test(text);
}

function toApiError(status: number, text: string, method: string, path: string, access: KubeAccess): Error {
  let parsed: { reason?: string; message?: string; details?: ApiError['details'] };
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (status === 401) {
    return new PreflightError(
      `the API server rejected the credentials of context "${access.contextName}" (401 Unauthorized); they may have expired — log in again or fix the kubeconfig`,
    );
  }
  return new ApiError(status, parsed.reason ?? String(status), parsed.message ?? `${method} ${path} failed with ${status}`, parsed.details);
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  if (code === 'ECONNREFUSED') return 'connection refused — is the cluster running? (for env local: npx nx run k8s-testenv:up)';
  if (code === 'ENOTFOUND') return `host not found (${msg})`;
  if (code?.startsWith('ERR_TLS') || /certificate/i.test(msg)) return `TLS error: ${msg}`;
  return code ? `${code}: ${msg}` : msg;
}
