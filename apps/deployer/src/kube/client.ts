import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import type { KubeAccess } from './config.js';
import { ApiError, PreflightError } from './errors.js';

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  /** Return `undefined` instead of throwing on 404. */
  readonly allow404?: boolean;
}

export interface ClientStats {
  requests: number;
  retries: number;
  /** Requests that may have changed the cluster (not GET, not dry run). */
  writes: number;
}

export interface KubeClientOptions {
  /** Parallel connections to the API server. @default 8 */
  readonly connections?: number;
  /** Attempts for retryable failures (429, 5xx, connection resets). @default 6 */
  readonly attempts?: number;
  /** First backoff; doubles per attempt, capped at 8 s, with jitter. @default 200 */
  readonly backoffMs?: number;
  /** Per-request timeout. @default 30000 */
  readonly timeoutMs?: number;
}

/** BITPIN_TRACE=1 prints every API request with its status and duration to stderr (no bodies, no headers). */
const TRACE = process.env['BITPIN_TRACE'] === '1';

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED']);

/**
 * A small Kubernetes REST client: one keep-alive connection pool with the kubeconfig's
 * credentials, JSON in and out, retries with backoff on 429/5xx/connection resets (honouring
 * Retry-After), and API errors turned into {@link ApiError}. It sends bodies exactly as given —
 * no model conversion, so no field is silently dropped.
 */
export class KubeClient {
  readonly stats: ClientStats = { requests: 0, retries: 0, writes: 0 };
  private access: KubeAccess;
  private agent: Agent;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly connections: number;

  constructor(access: KubeAccess, opts: KubeClientOptions = {}) {
    this.access = access;
    this.connections = opts.connections ?? 8;
    this.attempts = opts.attempts ?? 6;
    this.backoffMs = opts.backoffMs ?? 200;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent = this.makeAgent();
  }

  get server(): string {
    return this.access.server;
  }

  get contextName(): string {
    return this.access.contextName;
  }

  private makeAgent(): Agent {
    const { ca, cert, key, rejectUnauthorized, servername } = this.access.tls;
    return new Agent({
      connections: this.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connect: {
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
        ...(servername ? { servername } : {}),
        timeout: 10_000,
      },
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async get<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  async request<T = any>(method: Dispatcher.HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const qs = Object.entries(opts.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const url = new URL(`${this.access.server}${path}${qs ? `?${qs}` : ''}`);
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    let refreshed = false;
    const write = method !== 'GET' && method !== 'HEAD' && opts.query?.['dryRun'] === undefined;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      this.stats.requests++;
      if (write) this.stats.writes++;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.agent.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method,
          headers: {
            accept: opts.accept ?? 'application/json',
            'user-agent': 'bitpin-deployer',
            ...(body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
            ...this.access.headers,
          },
          ...(body !== undefined ? { body } : {}),
        });
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if ((RETRYABLE_CODES.has(code) || e instanceof undiciErrors.SocketError) && attempt < this.attempts) {
          this.stats.retries++;
          await this.backoff(attempt);
          continue;
        }
        throw new PreflightError(
          `cannot reach the API server ${this.access.server} (context "${this.access.contextName}"): ${describeNetworkError(e)}`,
        );
      }
      const text = await res.body.text();
      if (TRACE) process.stderr.write(`trace: ${method} ${url.pathname}${url.search} → ${res.statusCode} (${(performance.now() - started).toFixed(1)} ms)\n`);
      if (res.statusCode < 300) return (text ? JSON.parse(text) : undefined) as T;
      if (res.statusCode === 404 && opts.allow404) return undefined as T;
      if (res.statusCode === 401 && !refreshed) {
        // Expired token or exec credentials: fetch fresh ones once.
        refreshed = true;
        this.access = await this.access.refresh();
        await this.agent.close();
        this.agent = this.makeAgent();
        continue;
      }
      const retryable = res.statusCode === 429 || (res.statusCode >= 500 && res.statusCode !== 501);
      if (retryable && attempt < this.attempts && !isSchemaError(text)) {
        const retryAfter = Number(res.headers['retry-after']);
        await this.backoff(attempt, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
        this.stats.retries++;
        continue;
      }
      throw toApiError(res.statusCode, text, method, path, this.access);
    }
  }

  private async backoff(attempt: number, forcedMs?: number): Promise<void> {
    const base = forcedMs ?? Math.min(8000, this.backoffMs * 2 ** (attempt - 1));
    const ms = forcedMs ?? base / 2 + Math.random() * (base / 2);
    await new Promise((r) => setTimeout(r, ms));
  }
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
