import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { CLIENT_CLOSED_STATUS, type RejectedRequestKind, type UpstreamFailureKind } from '@bitpin/metrics-contract';
import type { Logger } from 'pino';
import type { SidecarConfig } from './config.js';
import { methodIndex, type HttpMetrics } from './http-metrics.js';
import { originForm } from './route-templates.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamExchange } from './upstream.js';

/**
 * The data plane: a node:http server whose only request listener forwards to the app through an
 * {@link UpstreamPool} (the sidecar's own HTTP/1.1 client, src/upstream.ts), with no framework in
 * between. Per request there is one {@link Exchange} object (it is also the pool's request and
 * handler), one header array each way and no closures; metrics are recorded once, when the
 * exchange ends.
 */

export interface ProxyOptions {
  readonly upstream: SidecarConfig['upstream'];
  /** Idle keep-alive time of client connections. @default 65 000 */
  readonly clientKeepAliveMs?: number;
  readonly metrics: HttpMetrics;
  readonly logger: Logger;
  /** Log every request. @default false */
  readonly accessLog?: boolean;
}

export interface DrainResult {
  /** Every connection closed on its own before the deadline. */
  readonly clean: boolean;
  /** Requests still in flight when the deadline forced connections closed. */
  readonly abandoned: number;
}

/** The response class of the proxy server: carries its exchange for the shared listeners. */
class ProxyResponse extends http.ServerResponse<IncomingMessage> {
  exchange: Exchange | null = null;
}

const REQUEST_ID_OK = /^[\x21-\x7e]{1,128}$/;

class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  readonly code = 'SIDECAR_CLIENT_CLOSED';
}

export class ProxyServer {
  readonly server: http.Server<typeof IncomingMessage, typeof ProxyResponse>;
  /** True once {@link drain} started: responses close their connection, readiness fails. */
  draining = false;
  /** @internal */
  readonly pool: UpstreamPool;

  constructor(readonly opts: ProxyOptions) {
    this.pool = new UpstreamPool(opts.upstream);
    this.server = http.createServer<typeof IncomingMessage, typeof ProxyResponse>(
      {
        ServerResponse: ProxyResponse,
        keepAliveTimeout: opts.clientKeepAliveMs ?? 65_000,
        // Headers must still arrive within a minute; a body may take as long as it streams.
        headersTimeout: Math.max(60_000, (opts.clientKeepAliveMs ?? 65_000) + 1_000),
        requestTimeout: 0,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.on('clientError', (err, socket) => this.clientError(err as NodeJS.ErrnoException, socket as Socket));
    // CONNECT never reaches the request listener; without a listener node:http drops the socket.
    this.server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      this.opts.metrics.rejected('method_not_allowed');
      socket.end(METHOD_NOT_ALLOWED);
    });
  }

  get inFlight(): number {
    return this.opts.metrics.inFlight;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (closing each connection once
   * its response is sent), and after `deadlineMs` closes whatever is left.
   */
  async drain(deadlineMs: number): Promise<DrainResult> {
    this.draining = true;
    let closed = !this.server.listening;
    if (!closed) this.server.close(() => (closed = true));
    const until = Date.now() + deadlineMs;
    while (!closed && Date.now() < until) {
      this.server.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 20));
    }
    const abandoned = this.inFlight;
    if (!closed) {
      // Past the deadline: cut the client connections. Their exchanges see the client gone and
      // are recorded as 499 (not as app failures) before the upstream side is torn down.
      this.server.closeAllConnections();
      await new Promise((r) => setImmediate(r));
    }
    if (abandoned > 0) await this.pool.destroy();
    else await this.pool.close();
    return { clean: closed && abandoned === 0, abandoned };
  }

  /** Closes upstream connections (used when the proxy never listened). */
  async close(): Promise<void> {
    if (!this.pool.closed) await this.pool.close();
  }

  private handle(req: IncomingMessage, res: ProxyResponse): void {
    const metrics = this.opts.metrics;
    if (this.draining) res.shouldKeepAlive = false;
    const method = methodIndex(req.method);
    if (method === TRACE_INDEX) {
      // Cross-site tracing: answered here, as nginx does, and never sent to the app.
      this.refuse(req, res, 405, 'method_not_allowed', 'method not allowed\n');
      return;
    }
    let path = req.url as string;
    if (path.charCodeAt(0) !== 47 /* / */) {
      // Absolute form (`GET http://host/x`) is forwarded, and counted, as its path.
      path = originForm(path);
      if (path.charCodeAt(0) !== 47) {
        // `OPTIONS *` and other targets with no path: nothing to send to the app.
        this.refuse(req, res, 400, 'bad_request', 'bad request\n');
        return;
      }
    }
    metrics.inFlight++;
    const ex = new Exchange(this, req, res, method, path);
    res.exchange = ex;
    res.on('close', onResponseClose);
    this.pool.dispatch(ex);
  }

  /** Answers a request the sidecar will not forward, counted as rejected (not in the request series). */
  private refuse(req: IncomingMessage, res: ProxyResponse, status: number, kind: RejectedRequestKind, body: string): void {
    this.opts.metrics.rejected(kind);
    req.resume();
    const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length)];
    if (status === 405) headers.push('allow', 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH');
    res.writeHead(status, headers);
    res.end(body);
  }

  /**
   * A request node:http could not parse (bad request line or headers, headers too large, headers
   * too slow): answered as node:http would, and counted. A connection reset is not a request.
   */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let kind: RejectedRequestKind = 'bad_request';
    let head = BAD_REQUEST;
    if (code === 'HPE_HEADER_OVERFLOW') {
      kind = 'headers_too_large';
      head = HEADERS_TOO_LARGE;
    } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      kind = 'request_timeout';
      head = REQUEST_TIMEOUT;
    }
    // A keep-alive connection that sent nothing of its next request is not a rejected request.
    if ((err as { bytesParsed?: number }).bytesParsed === 0 && code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.destroy();
      return;
    }
    this.opts.metrics.rejected(kind);
    socket.end(head);
  }

  /** @internal */
  finished(ex: Exchange, status: number): void {
    const m = this.opts.metrics;
    m.inFlight--;
    const seconds = (performance.now() - ex.start) / 1000;
    m.record(ex.path, ex.methodIndex, status, seconds, ex.requestBytes, ex.responseBytes);
    if (this.opts.accessLog) {
      this.opts.logger.info(
        { reqId: ex.requestId, method: ex.req.method, url: ex.req.url, status, ms: Math.round(seconds * 1e4) / 10, bytes: ex.responseBytes },
        'request',
      );
    }
  }

  /** @internal */
  upstreamFailed(ex: Exchange, kind: UpstreamFailureKind, err: Error): void {
    this.opts.metrics.failure(kind);
    this.opts.logger.warn(
      { reqId: ex.requestId, method: ex.req.method, url: ex.req.url, kind, code: (err as NodeJS.ErrnoException).code, err: err.message },
      'upstream failure',
    );
  }
}

const TRACE_INDEX = methodIndex('TRACE');
const METHOD_NOT_ALLOWED = 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const HEADERS_TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

function onResponseClose(this: ProxyResponse): void {
  const ex = this.exchange;
  if (ex === null || ex.done || this.writableFinished) return;
  ex.clientGone = true;
  const err = new ClientClosedError('client closed the connection');
  if (ex.upstream !== null) ex.upstream.abort(ex, err);
  else if (ex.proxy.pool.cancel(ex)) ex.onError(err);
}

function destroyResponse(res: ProxyResponse): void {
  res.destroy();
}

function onResponseDrain(this: ProxyResponse): void {
  const ex = this.exchange;
  if (ex !== null && ex.upstream !== null && !ex.done) ex.upstream.resume();
}

/**
 * One proxied request: the upstream pool's request and handler at once, and the state its metrics
 * are made of.
 */
class Exchange implements UpstreamExchange {
  readonly start = performance.now();
  requestId = '';
  hasBody = false;
  chunked = false;
  status = 0;
  requestBytes = 0;
  responseBytes = 0;
  /** Response body length, -1 when unknown. */
  expected = -1;
  ended = false;
  done = false;
  clientGone = false;
  drainHooked = false;
  // UpstreamExchange
  readonly method: string;
  readonly headers: string[];
  readonly body: IncomingMessage | null;
  bodyLength = -1;
  upstream: UpstreamConnection | null = null;
  attempts = 0;

  constructor(
    readonly proxy: ProxyServer,
    readonly req: IncomingMessage,
    readonly res: ProxyResponse,
    readonly methodIndex: number,
    /** The target in origin form (`/path?query`): what the app is sent and the route is made of. */
    readonly path: string,
  ) {
    this.method = req.method as string;
    this.headers = this.requestHeaders();
    this.body = this.hasBody ? req : null;
  }

  /**
   * The headers sent to the app, as a flat array: the client's headers without hop-by-hop ones,
   * plus `X-Forwarded-For/-Proto/-Host` and `X-Request-ID` (kept when the client sent a sane one).
   * Only names of a few lengths are compared, so most headers cost one switch.
   */
  private requestHeaders(): string[] {
    const raw = this.req.rawHeaders;
    const out: string[] = [];
    let xff: string | undefined;
    let proto = false;
    let fwdHost = false;
    let host: string | undefined;
    let rid: string | undefined;
    let dropListed: string[] | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      switch (name.length) {
        case 2:
          if (name.toLowerCase() === 'te') continue;
          break;
        case 4:
          if (host === undefined && name.toLowerCase() === 'host') host = value;
          break;
        case 6:
          if (name.toLowerCase() === 'expect') continue; // node:http already answered 100-continue
          break;
        case 7: {
          const n = name.toLowerCase();
          if (n === 'upgrade' || n === 'trailer') continue;
          break;
        }
        case 10: {
          const n = name.toLowerCase();
          if (n === 'keep-alive') continue;
          if (n === 'connection') {
            const v = value.toLowerCase();
            if (v !== 'keep-alive' && v !== 'close') {
              for (const t of v.split(',')) {
                const tok = t.trim();
                if (tok !== 'keep-alive' && tok !== 'close' && tok !== '') (dropListed ??= []).push(tok);
              }
            }
            continue;
          }
          break;
        }
        case 12:
          if (name.toLowerCase() === 'x-request-id') {
            if (rid === undefined && REQUEST_ID_OK.test(value)) rid = value;
            continue;
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            // node:http accepted it: digits only, duplicates equal.
            if (this.bodyLength < 0) this.bodyLength = Number(value);
            if (!this.chunked && value !== '0') this.hasBody = true;
          }
          break;
        case 15:
          if (name.toLowerCase() === 'x-forwarded-for') {
            xff = xff === undefined ? value : `${xff}, ${value}`;
            continue;
          }
          break;
        case 16: {
          const n = name.toLowerCase();
          if (n === 'proxy-connection') continue;
          if (n === 'x-forwarded-host') fwdHost = true;
          break;
        }
        case 17: {
          const n = name.toLowerCase();
          if (n === 'transfer-encoding') {
            // node:http decoded the chunks; they are re-encoded to the app (Content-Length is then dropped).
            this.hasBody = true;
            this.chunked = true;
            continue;
          }
          if (n === 'x-forwarded-proto') proto = true;
          break;
        }
        case 19:
          if (name.toLowerCase() === 'proxy-authorization') continue;
          break;
      }
      out.push(name, value);
    }
    if (this.chunked && this.bodyLength >= 0) {
      this.bodyLength = -1;
      for (let i = out.length - 2; i >= 0; i -= 2) if ((out[i] as string).length === 14 && (out[i] as string).toLowerCase() === 'content-length') out.splice(i, 2);
    }
    if (!this.hasBody) this.bodyLength = -1;
    if (dropListed !== undefined) {
      const drop = new Set(dropListed);
      for (let i = out.length - 2; i >= 0; i -= 2) {
        if (drop.has((out[i] as string).toLowerCase())) out.splice(i, 2);
      }
    }
    if (host === undefined) out.push('host', this.proxy.pool.hostHeader);
    const client = this.req.socket.remoteAddress ?? '';
    out.push('x-forwarded-for', xff === undefined ? client : `${xff}, ${client}`);
    if (!proto) out.push('x-forwarded-proto', 'http');
    if (!fwdHost && host !== undefined) out.push('x-forwarded-host', host);
    this.requestId = rid ?? randomUUID();
    out.push('x-request-id', this.requestId);
    return out;
  }

  onRequestBody(bytes: number): void {
    this.requestBytes += bytes;
  }

  onHeaders(statusCode: number, headers: string[], bodyLength: number): boolean {
    this.status = statusCode;
    this.expected = bodyLength;
    let rid = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
        rid = true;
        break;
      }
    }
    if (!rid) headers.push('x-request-id', this.requestId);
    const res = this.res;
    if (this.proxy.draining) res.shouldKeepAlive = false;
    try {
      res.writeHead(statusCode, headers);
    } catch {
      // A header name or value node:http refuses to send (the client must not see it either).
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.responseBytes += chunk.length;
    const res = this.res;
    if (this.responseBytes === this.expected && !this.ended) {
      // The whole (rest of the) body is here: headers and body leave in one write.
      this.ended = true;
      res.end(chunk);
      return true;
    }
    if (res.write(chunk)) return true;
    if (!this.drainHooked) {
      this.drainHooked = true;
      res.on('drain', onResponseDrain);
    }
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    if (!this.ended) {
      this.ended = true;
      this.res.end();
    }
    this.finish(this.status);
  }

  onError(err: Error): void {
    if (this.done) return;
    const res = this.res;
    if (this.clientGone || err instanceof ClientClosedError || (res.destroyed && !res.writableFinished)) {
      this.finish(CLIENT_CLOSED_STATUS);
      return;
    }
    let kind = classify(err);
    // Once the response started, anything but a timeout is the app's connection breaking mid-body.
    if (res.headersSent && kind === 'other') kind = 'reset';
    this.proxy.upstreamFailed(this, kind, err);
    if (!res.headersSent) {
      const status = kind === 'timeout' ? 504 : 502;
      this.send(status, `upstream ${kind === 'refused' ? 'connection refused' : kind === 'other' ? 'bad response' : kind}\n`);
      this.finish(status);
    } else {
      // Headers already went out: the only honest signal left is to cut the client connection,
      // after node:http has flushed what this tick wrote (it uncorks the socket on the next tick).
      process.nextTick(destroyResponse, res);
      this.finish(this.status);
    }
  }

  private send(status: number, body: string): void {
    this.ended = true;
    this.res.writeHead(status, [
      'content-type',
      'text/plain; charset=utf-8',
      'content-length',
      String(Buffer.byteLength(body)),
      'x-request-id',
      this.requestId,
    ]);
    this.res.end(body);
  }

  private finish(status: number): void {
    this.done = true;
    this.res.exchange = null;
    this.proxy.finished(this, status);
  }
}

/** Maps an upstream client or socket error to a failure kind. */
export function classify(err: unknown, depth = 0): UpstreamFailureKind {
  const e = err as { code?: string; errors?: unknown[] };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'UPSTREAM_CONNECT_TIMEOUT':
    case 'UPSTREAM_HEADERS_TIMEOUT':
    case 'UPSTREAM_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'ECONNABORTED':
    case 'EPIPE':
    case 'UPSTREAM_CLOSED':
    case 'UPSTREAM_POOL_CLOSED':
    case 'ERR_STREAM_WRITE_AFTER_END':
    case 'ERR_STREAM_DESTROYED':
      return 'reset';
  }
  if (depth > 3) return 'other';
  if (Array.isArray(e.errors) && e.errors.length > 0) return classify(e.errors[0], depth + 1);
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== null) return classify(cause, depth + 1);
  return 'other';
}
