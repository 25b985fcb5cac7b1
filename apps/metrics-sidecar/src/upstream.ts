import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';

/**
 * A purpose-built HTTP/1.1 client for one upstream (the app on localhost): a keep-alive pool of
 * node:net sockets, requests serialized from the proxy's flat header array, and a response parser
 * written for what a reverse proxy needs (RFC 9112 §6.3 message framing), handing the proxy
 * end-to-end headers and body chunks. No pipelining: one request per connection at a time.
 *
 * Why not undici: per proxied request, undici's Pool, its wasm llhttp and its socket/stream glue
 * cost more CPU than everything else the sidecar does (docs/benchmarks.md). Here sockets are read
 * with `onread` into one shared buffer (no Readable machinery, no per-read allocation but the
 * body chunk handed on), every timeout is one pool-wide sweep instead of timers per request, and
 * a request is one `write` of one string.
 *
 * Framing (responses):
 * - `HEAD`, `1xx`, `204`, `304`: no body, whatever Content-Length or Transfer-Encoding say.
 *   `100`/`102`/`103` are interim: skipped, the final response follows on the same connection.
 *   `101` is refused (the proxy never asks for an upgrade).
 * - `Transfer-Encoding` ending in `chunked`: chunked (chunk extensions ignored, trailers
 *   dropped); any other Transfer-Encoding: the body runs to the connection's close. With a
 *   Content-Length as well (a smuggling sign), Transfer-Encoding wins, the Content-Length is not
 *   forwarded and the connection is not reused.
 * - `Content-Length`: exactly that many bytes; several differing values are refused.
 * - Neither: the body runs until the app closes the connection.
 * - A head over {@link UpstreamPoolOptions.maxHeaderBytes} (16 KiB by default, as node:http),
 *   a bad status line, a header line without a colon, obs-fold, or a bad chunk size are refused
 *   (`UPSTREAM_BAD_RESPONSE`, `UPSTREAM_HEADERS_TOO_LARGE`).
 *
 * Connections are reused unless the app said `Connection: close` (or answered HTTP/1.0 without
 * `keep-alive`), the body ran to close, the request body was not fully sent, or the app sent bytes
 * beyond the response. An app's `Keep-Alive: timeout=N` shortens the idle time to N − 1 s. An
 * idempotent request without a body whose reused connection closes before any response byte
 * arrives (the app closed an idle connection as it was picked) is retried once on another one.
 */

export interface UpstreamPoolOptions {
  /** `http://host:port` */
  readonly origin: string;
  /** Connections at most; requests beyond wait in order for a free one. */
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** Waiting for the response head, and the longest pause inside a response body. */
  readonly timeoutMs: number;
  /** Idle connections are closed after this. */
  readonly keepAliveMs: number;
  /** Largest response head (status line + headers). @default 16384 */
  readonly maxHeaderBytes?: number;
}

/**
 * One request and its handler (the proxy's exchange object is both). The pool calls the `on*`
 * methods; `upstream` is set by the pool while a connection carries the request.
 */
export interface UpstreamExchange {
  readonly method: string;
  /** Origin form: `/path?query`. */
  readonly path: string;
  /**
   * End-to-end headers as `[name, value, …]`, `Host` included; with a body of known length its
   * `Content-Length` too (`bodyLength` ≥ 0). Values must already be valid (node:http parsed them).
   */
  readonly headers: readonly string[];
  /** The request body, or null for none. */
  readonly body: Readable | null;
  /** The body's Content-Length, or -1: sent chunked. */
  readonly bodyLength: number;
  /** The connection carrying the request, null while it waits for one. */
  upstream: UpstreamConnection | null;
  /** Times the request was started on a connection. */
  attempts: number;
  /** Bytes of the request body written to the app. */
  onRequestBody(bytes: number): void;
  /**
   * The response head: status and end-to-end headers (hop-by-hop ones removed, Content-Length kept).
   * `bodyLength`: the body's length, 0 for none, -1 when unknown (chunked or to close).
   * Return false when the headers cannot be passed on: the request fails with `UPSTREAM_BAD_RESPONSE`.
   */
  onHeaders(status: number, headers: string[], bodyLength: number): boolean;
  /** A body chunk (owned by the receiver). Return false to pause the app's connection until {@link UpstreamConnection.resume}. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** The request failed: a socket error (`ECONNREFUSED`, `ECONNRESET`, …) or an {@link UpstreamError}. */
  onError(err: Error): void;
}

export type UpstreamErrorCode =
  | 'UPSTREAM_CONNECT_TIMEOUT'
  | 'UPSTREAM_HEADERS_TIMEOUT'
  | 'UPSTREAM_BODY_TIMEOUT'
  | 'UPSTREAM_CLOSED'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'UPSTREAM_HEADERS_TOO_LARGE'
  | 'UPSTREAM_POOL_CLOSED';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly code: UpstreamErrorCode,
  ) {
    super(message);
  }
}

const enum State {
  Connecting,
  Idle,
  Head,
  BodyLength,
  BodyChunked,
  BodyToClose,
  Closed,
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailers,
}

/** One read buffer for every upstream socket: a read is handled (and copied out) before the next. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /^[0-9]{1,15}$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[\t ]*(?:;.*)?$/;
const MAX_CHUNK_LINE = 4096;
const MAX_TRAILERS = 16 * 1024;
/** Methods a request may be sent twice with (RFC 9110 §9.2.2); TRACE never reaches the client. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  /** What a request without a Host header is sent with. */
  readonly hostHeader: string;
  readonly maxHeaderBytes: number;
  private readonly idle: UpstreamConnection[] = [];
  private readonly all = new Set<UpstreamConnection>();
  private readonly queue: UpstreamExchange[] = [];
  private queueHead = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly tickMs: number;
  private closeWaiters: (() => void)[] = [];
  closed = false;

  constructor(readonly opts: UpstreamPoolOptions) {
    const u = new URL(opts.origin);
    if (u.protocol !== 'http:') throw new Error(`upstream origin ${JSON.stringify(opts.origin)}: only http:// is supported`);
    this.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.port = u.port === '' ? 80 : Number(u.port);
    this.hostHeader = u.host;
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 16 * 1024;
    this.tickMs = Math.min(1000, Math.max(5, Math.floor(Math.min(opts.connectTimeoutMs, opts.timeoutMs, opts.keepAliveMs) / 20)));
  }

  /** Connections open or opening. */
  get size(): number {
    return this.all.size;
  }

  /** Requests waiting for a connection. */
  get pending(): number {
    return this.queue.length - this.queueHead;
  }

  /** Sends a request: on an idle connection, a new one, or when one frees up. */
  dispatch(x: UpstreamExchange): void {
    if (this.closed) {
      x.onError(new UpstreamError('upstream pool closed', 'UPSTREAM_POOL_CLOSED'));
      return;
    }
    let conn = this.idle.pop();
    // An idle connection whose close is already under way (the app's FIN was read) is not used.
    while (conn !== undefined && !conn.usable()) {
      conn.destroy();
      conn = this.idle.pop();
    }
    if (conn !== undefined) conn.start(x);
    else if (this.all.size < this.opts.connections) this.open(x);
    else this.queue.push(x);
  }

  /** Takes a request that still waits for a connection out of the queue; false when it has one. */
  cancel(x: UpstreamExchange): boolean {
    const i = this.queue.indexOf(x, this.queueHead);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  /** Stops taking requests; idle connections close now, busy ones after their response. */
  close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.destroy();
    this.failQueued();
    return this.whenEmpty();
  }

  /** Stops taking requests and fails every request in progress. */
  destroy(): Promise<void> {
    this.closed = true;
    this.failQueued();
    for (const c of [...this.all]) c.fail(new UpstreamError('upstream pool destroyed', 'UPSTREAM_POOL_CLOSED'));
    return this.whenEmpty();
  }

  private failQueued(): void {
    const queued = this.queue.splice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const x of queued) x.onError(new UpstreamError('upstream pool closed', 'UPSTREAM_POOL_CLOSED'));
  }

  private whenEmpty(): Promise<void> {
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private open(x: UpstreamExchange): void {
    const conn = new UpstreamConnection(this, x);
    this.all.add(conn);
    if (this.timer === null) {
      this.timer = setInterval(sweep, this.tickMs, this);
      this.timer.unref();
    }
  }

  /** @internal A connection finished a response and may carry another. */
  release(conn: UpstreamConnection): void {
    if (this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead] as UpstreamExchange;
      this.queue[this.queueHead++] = undefined as unknown as UpstreamExchange;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      conn.start(next);
      return;
    }
    conn.toIdle();
    this.idle.push(conn);
  }

  /** @internal A connection closed. */
  removed(conn: UpstreamConnection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A request waiting for a free connection gets the slot this one left.
    if (!this.closed && this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead] as UpstreamExchange;
      this.queue[this.queueHead++] = undefined as unknown as UpstreamExchange;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      }
      this.open(next);
      return;
    }
    if (this.all.size === 0) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** @internal */
  checkDeadlines(): void {
    const now = performance.now();
    for (const c of this.all) if (c.deadline !== 0 && now >= c.deadline) c.expired();
  }
}

function sweep(pool: UpstreamPool): void {
  pool.checkDeadlines();
}

/** One keep-alive connection to the app. */
export class UpstreamConnection {
  private readonly socket: net.Socket;
  private state = State.Connecting;
  private x: UpstreamExchange | null;
  /** The connection carried a response before (so the app may have closed it while idle). */
  private reused = false;
  /** Bytes received for the current request's response. */
  private received = 0;
  /** A partial response head, copied out of the shared read buffer. */
  private partial: Buffer | null = null;
  private remaining = 0;
  private chunk = Chunk.Size;
  private line = '';
  private trailerBytes = 0;
  private isHead = false;
  private keepAlive = true;
  private idleMs: number;
  private paused = false;
  private uploading = false;
  private chunkedUpload = false;
  private writeBlocked = false;
  private error: Error | null = null;
  /** performance.now() after which the pool's sweep expires this connection, 0: none. */
  deadline: number;

  constructor(
    private readonly pool: UpstreamPool,
    first: UpstreamExchange,
  ) {
    this.x = first;
    first.upstream = this;
    this.idleMs = pool.opts.keepAliveMs;
    this.deadline = performance.now() + pool.opts.connectTimeoutMs;
    this.socket = net.connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      keepAlive: true,
      onread: { buffer: READ_BUFFER, callback: this.onRead.bind(this) },
    });
    this.socket.on('connect', this.onConnect.bind(this));
    this.socket.on('error', this.onSocketError.bind(this));
    this.socket.on('close', this.onClose.bind(this));
    this.socket.on('drain', this.onDrain.bind(this));
    this.onBodyData = this.onBodyData.bind(this);
    this.onBodyEnd = this.onBodyEnd.bind(this);
  }

  private onConnect(): void {
    const x = this.x;
    this.state = State.Idle;
    this.deadline = 0;
    if (x === null) this.pool.release(this);
    else {
      this.x = null;
      this.start(x);
    }
  }

  /** @internal Writes the request and waits for its response. */
  start(x: UpstreamExchange): void {
    this.x = x;
    x.upstream = this;
    x.attempts++;
    this.state = State.Head;
    this.received = 0;
    this.keepAlive = true;
    this.paused = false;
    this.isHead = x.method === 'HEAD';
    const h = x.headers;
    let head = `${x.method} ${x.path} HTTP/1.1\r\n`;
    for (let i = 0; i < h.length; i += 2) head += `${h[i] as string}: ${h[i + 1] as string}\r\n`;
    const body = x.body;
    if (body === null) {
      this.writeBlocked = !this.socket.write(`${head}\r\n`, 'latin1');
      this.uploading = false;
    } else {
      this.chunkedUpload = x.bodyLength < 0;
      this.writeBlocked = !this.socket.write(this.chunkedUpload ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`, 'latin1');
      this.uploading = true;
      body.on('data', this.onBodyData);
      body.on('end', this.onBodyEnd);
      if (this.writeBlocked) body.pause();
    }
    this.arm();
  }

  /** @internal Idle and still open both ways. */
  usable(): boolean {
    const s = this.socket;
    return this.state === State.Idle && s.writable && !s.readableEnded;
  }

  /** Resumes reading a response paused by {@link UpstreamExchange.onData} returning false. */
  resume(): void {
    if (!this.paused || this.state === State.Closed) return;
    this.paused = false;
    this.arm();
    this.socket.resume();
  }

  /** Ends the request: the connection is closed and the exchange's `onError` gets `err`. */
  abort(x: UpstreamExchange, err: Error): void {
    if (this.x === x) this.fail(err);
  }

  /** Sets the deadline for what the connection waits for now. */
  private arm(): void {
    switch (this.state) {
      case State.Idle:
        this.deadline = performance.now() + this.idleMs;
        return;
      case State.Head:
        // While the client is still sending the body, the wait is on the client, not the app.
        this.deadline = this.uploading && !this.writeBlocked ? 0 : performance.now() + this.pool.opts.timeoutMs;
        return;
      case State.BodyLength:
      case State.BodyChunked:
      case State.BodyToClose:
        this.deadline = this.paused ? 0 : performance.now() + this.pool.opts.timeoutMs;
        return;
      default:
        return;
    }
  }

  /** @internal The pool's sweep found the deadline passed. */
  expired(): void {
    switch (this.state) {
      case State.Connecting:
        this.fail(new UpstreamError(`upstream connect timeout (${this.pool.opts.connectTimeoutMs} ms)`, 'UPSTREAM_CONNECT_TIMEOUT'));
        return;
      case State.Idle:
        this.destroy();
        return;
      case State.Head:
        this.fail(new UpstreamError(`upstream headers timeout (${this.pool.opts.timeoutMs} ms)`, 'UPSTREAM_HEADERS_TIMEOUT'));
        return;
      default:
        this.fail(new UpstreamError(`upstream body timeout (${this.pool.opts.timeoutMs} ms without data)`, 'UPSTREAM_BODY_TIMEOUT'));
    }
  }

  /** @internal Back in the pool. */
  toIdle(): void {
    this.state = State.Idle;
    this.reused = true;
    this.arm();
  }

  // ---- request body ----------------------------------------------------------------------------

  private onBodyData(chunk: Buffer): void {
    const x = this.x;
    if (x === null || chunk.length === 0) return;
    x.onRequestBody(chunk.length);
    let ok: boolean;
    if (this.chunkedUpload) {
      const s = this.socket;
      s.cork();
      s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      ok = s.write('\r\n', 'latin1');
      s.uncork();
    } else {
      ok = this.socket.write(chunk);
    }
    if (!ok) {
      this.writeBlocked = true;
      x.body?.pause();
      if (this.state === State.Head) this.arm();
    }
  }

  private onBodyEnd(): void {
    if (this.x === null) return;
    if (this.chunkedUpload) this.socket.write('0\r\n\r\n', 'latin1');
    this.detachBody();
    if (this.state === State.Head) this.arm();
  }

  private onDrain(): void {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    const x = this.x;
    if (this.uploading && x !== null) {
      if (this.state === State.Head) this.arm();
      x.body?.resume();
    }
  }

  private detachBody(): void {
    if (!this.uploading) return;
    this.uploading = false;
    const body = this.x?.body;
    if (body) {
      body.off('data', this.onBodyData);
      body.off('end', this.onBodyEnd);
      // The exchange ended before the client's body did: let node:http read (and drop) the rest,
      // so a keep-alive client connection can go on to its next request.
      if (!body.readableEnded) body.resume();
    }
  }

  // ---- response --------------------------------------------------------------------------------

  /** `onread` callback: always true (pausing goes through socket.pause(), see {@link pause}). */
  private onRead(nread: number, buf: Uint8Array): boolean {
    this.feed(nread, buf as Buffer);
    return true;
  }

  private feed(nread: number, buf: Buffer): void {
    if (this.x === null) {
      // Bytes while idle: the app answered something nobody asked for. Not reusable.
      this.destroy();
      return;
    }
    this.received += nread;
    this.parse(buf, nread);
    // The head must arrive within the timeout as a whole; a body must not pause longer than it.
    if (this.x !== null && !this.paused && this.state !== State.Head && this.state !== State.Closed) {
      this.deadline = performance.now() + this.pool.opts.timeoutMs;
    }
  }

  private parse(buf: Buffer, nread: number): void {
    const data = buf;
    let from = 0;
    const to = nread;
    while (from < to) {
      switch (this.state) {
        case State.Head: {
          if (this.partial !== null) {
            const joined = Buffer.concat([this.partial, data.subarray(from, to)]);
            this.partial = null;
            this.parseFrom(joined, 0, joined.length);
            return;
          }
          const next = this.parseHead(data, from, to);
          if (next < 0) return;
          from = next;
          break;
        }
        case State.BodyLength:
        case State.BodyToClose: {
          const n = this.state === State.BodyLength ? Math.min(this.remaining, to - from) : to - from;
          const piece = Buffer.allocUnsafe(n);
          data.copy(piece, 0, from, from + n);
          from += n;
          this.remaining -= n;
          const x = this.x as UpstreamExchange;
          const ok = x.onData(piece);
          if (this.x !== x) return;
          if (this.state === State.BodyLength && this.remaining === 0) {
            this.complete(from < to);
            return;
          }
          if (!ok) this.pause();
          break;
        }
        case State.BodyChunked: {
          const next = this.parseChunked(data, from, to);
          if (next < 0) return;
          from = next;
          break;
        }
        default:
          return;
      }
    }
  }

  /** Parses from a buffer that is not the shared one (a head split over reads). */
  private parseFrom(data: Buffer, from: number, to: number): void {
    // Copy-free continuation of onRead's loop over an owned buffer.
    while (from < to && this.x !== null) {
      if (this.state === State.Head) {
        const next = this.parseHead(data, from, to);
        if (next < 0) return;
        from = next;
      } else if (this.state === State.BodyChunked) {
        const next = this.parseChunked(data, from, to);
        if (next < 0) return;
        from = next;
      } else if (this.state === State.BodyLength || this.state === State.BodyToClose) {
        const n = this.state === State.BodyLength ? Math.min(this.remaining, to - from) : to - from;
        const piece = data.subarray(from, from + n);
        from += n;
        this.remaining -= n;
        const x = this.x;
        const ok = x.onData(piece);
        if (this.x !== x) return;
        if (this.state === State.BodyLength && this.remaining === 0) {
          this.complete(from < to);
          return;
        }
        if (!ok) this.pause();
      } else return;
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.deadline = 0;
    this.socket.pause();
  }

  /**
   * Parses a response head starting at `from`. Returns where the body starts, or -1 when the
   * head is incomplete (kept in `partial`) or the request ended (failed or completed).
   */
  private parseHead(data: Buffer, from: number, to: number): number {
    const max = this.pool.maxHeaderBytes;
    let end = data.indexOf(HEAD_END, from);
    if (end >= 0 && end + 4 > to) end = -1;
    if (end < 0) {
      if (to - from > max) this.fail(new UpstreamError(`upstream response head over ${max} bytes`, 'UPSTREAM_HEADERS_TOO_LARGE'));
      else this.partial = Buffer.from(data.subarray(from, to));
      return -1;
    }
    if (end + 4 - from > max) {
      this.fail(new UpstreamError(`upstream response head over ${max} bytes`, 'UPSTREAM_HEADERS_TOO_LARGE'));
      return -1;
    }
    const text = data.toString('latin1', from, end);
    const bodyStart = end + 4;
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    if (!text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) return this.bad('bad status line');
    const minor = text.charCodeAt(7);
    if (minor !== 48 && minor !== 49) return this.bad('bad HTTP version');
    const d0 = text.charCodeAt(9) - 48;
    const d1 = text.charCodeAt(10) - 48;
    const d2 = text.charCodeAt(11) - 48;
    if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return this.bad('bad status code');
    const status = d0 * 100 + d1 * 10 + d2;
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    if (eol > 12 && text.charCodeAt(12) !== 32) return this.bad('bad status line');

    const out: string[] = [];
    let contentLength = -1;
    let transferEncoding: string | undefined;
    let connection: string | undefined;
    let keepAliveHint: string | undefined;
    let p = eol + 2;
    while (p < text.length) {
      let e = text.indexOf('\r\n', p);
      if (e < 0) e = text.length;
      const colon = text.indexOf(':', p);
      const c0 = text.charCodeAt(p);
      if (colon < 0 || colon >= e || colon === p || c0 === 32 || c0 === 9) return this.bad('bad header line');
      let vs = colon + 1;
      let ve = e;
      while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
      while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
      const name = text.slice(p, colon);
      const value = text.slice(vs, ve);
      p = e + 2;
      switch (name.length) {
        case 2:
          if (name.toLowerCase() === 'te') continue;
          break;
        case 7: {
          const n = name.toLowerCase();
          if (n === 'upgrade' || n === 'trailer') continue;
          break;
        }
        case 10: {
          const n = name.toLowerCase();
          if (n === 'connection') {
            connection = connection === undefined ? value : `${connection}, ${value}`;
            continue;
          }
          if (n === 'keep-alive') {
            keepAliveHint = value;
            continue;
          }
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') {
            if (!CONTENT_LENGTH.test(value)) return this.bad(`bad Content-Length ${JSON.stringify(value)}`);
            const n = Number(value);
            if (contentLength >= 0) {
              if (n !== contentLength) return this.bad('differing Content-Length values');
              continue;
            }
            contentLength = n;
          }
          break;
        case 16:
          if (name.toLowerCase() === 'proxy-connection') continue;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
            continue;
          }
          break;
      }
      out.push(name, value);
    }

    if (status < 200) {
      if (status === 101) return this.bad('101 Switching Protocols to a request that asked for no upgrade');
      // Interim (100 Continue, 103 Early Hints): the final response follows.
      return bodyStart;
    }

    // Keep-alive: HTTP/1.1 unless `close`; HTTP/1.0 only with `keep-alive`.
    let keep = minor === 49;
    if (connection !== undefined) {
      const c = connection.toLowerCase();
      if (c === 'close') keep = false;
      else if (c === 'keep-alive') keep = true;
      else {
        let close = false;
        for (const t of c.split(',')) {
          const tok = t.trim();
          if (tok === 'close') close = true;
          else if (tok === 'keep-alive') keep = true;
          else if (tok !== '') {
            // Headers the app lists in Connection are hop-by-hop too.
            for (let i = out.length - 2; i >= 0; i -= 2) if ((out[i] as string).toLowerCase() === tok) out.splice(i, 2);
          }
        }
        if (close) keep = false;
      }
    }
    if (keepAliveHint !== undefined) {
      const m = /(?:^|[\s,;])timeout\s*=\s*(\d+)/i.exec(keepAliveHint);
      if (m) {
        const ms = Number(m[1]) * 1000 - 1000;
        if (ms <= 0) keep = false;
        else this.idleMs = Math.min(this.pool.opts.keepAliveMs, ms);
      }
    }
    this.keepAlive = keep;

    let bodyLength: number;
    if (this.isHead || status === 204 || status === 304) {
      bodyLength = 0;
      this.state = State.BodyLength;
      this.remaining = 0;
    } else if (transferEncoding !== undefined) {
      const codings = transferEncoding.toLowerCase();
      const last = codings.slice(codings.lastIndexOf(',') + 1).trim();
      bodyLength = -1;
      if (contentLength >= 0) {
        this.keepAlive = false;
        for (let i = out.length - 2; i >= 0; i -= 2) if ((out[i] as string).length === 14 && (out[i] as string).toLowerCase() === 'content-length') out.splice(i, 2);
      }
      if (last === 'chunked') {
        this.state = State.BodyChunked;
        this.chunk = Chunk.Size;
        this.line = '';
        this.trailerBytes = 0;
      } else {
        this.state = State.BodyToClose;
        this.keepAlive = false;
      }
    } else if (contentLength >= 0) {
      bodyLength = contentLength;
      this.state = State.BodyLength;
      this.remaining = contentLength;
    } else {
      bodyLength = -1;
      this.state = State.BodyToClose;
      this.keepAlive = false;
    }

    const x = this.x as UpstreamExchange;
    if (!x.onHeaders(status, out, bodyLength)) {
      if (this.x === x) this.fail(new UpstreamError('upstream response headers could not be passed on', 'UPSTREAM_BAD_RESPONSE'));
      return -1;
    }
    if (this.x !== x) return -1;
    if (this.state === State.BodyLength && this.remaining === 0) {
      this.complete(bodyStart < to);
      return -1;
    }
    return bodyStart;
  }

  /** Parses chunked body bytes; returns where it stopped, or -1 when the request ended. */
  private parseChunked(data: Buffer, from: number, to: number): number {
    const x = this.x as UpstreamExchange;
    let ok = true;
    while (from < to) {
      switch (this.chunk) {
        case Chunk.Size:
        case Chunk.Trailers: {
          let nl = data.indexOf(10, from);
          if (nl >= to) nl = -1;
          const limit = this.chunk === Chunk.Size ? MAX_CHUNK_LINE : MAX_TRAILERS - this.trailerBytes;
          if (nl < 0) {
            this.line += data.toString('latin1', from, to);
            if (this.line.length > limit) return this.bad('chunk line too long');
            from = to;
            break;
          }
          const line = this.line + data.toString('latin1', from, nl);
          this.line = '';
          from = nl + 1;
          if (line.length > limit || line.charCodeAt(line.length - 1) !== 13) return this.bad('bad chunk line');
          const content = line.slice(0, -1);
          if (this.chunk === Chunk.Trailers) {
            if (content.length === 0) {
              this.complete(from < to);
              return -1;
            }
            this.trailerBytes += line.length + 1;
            break;
          }
          const m = CHUNK_SIZE.exec(content);
          if (m === null) return this.bad(`bad chunk size ${JSON.stringify(content.slice(0, 32))}`);
          const size = parseInt(m[1] as string, 16);
          if (size === 0) this.chunk = Chunk.Trailers;
          else {
            this.remaining = size;
            this.chunk = Chunk.Data;
          }
          break;
        }
        case Chunk.Data: {
          const n = Math.min(this.remaining, to - from);
          const piece = Buffer.allocUnsafe(n);
          data.copy(piece, 0, from, from + n);
          from += n;
          this.remaining -= n;
          ok = x.onData(piece) && ok;
          if (this.x !== x) return -1;
          if (this.remaining === 0) {
            this.chunk = Chunk.DataEnd;
            this.remaining = 2;
          }
          break;
        }
        case Chunk.DataEnd: {
          const want = this.remaining === 2 ? 13 : 10;
          if (data[from] !== want) return this.bad('chunk data not followed by CRLF');
          from++;
          if (--this.remaining === 0) this.chunk = Chunk.Size;
          break;
        }
      }
    }
    if (!ok) this.pause();
    return from;
  }

  private bad(why: string): number {
    this.fail(new UpstreamError(`bad upstream response: ${why}`, 'UPSTREAM_BAD_RESPONSE'));
    return -1;
  }

  /** The response is complete: the exchange is told, the connection reused or closed. */
  private complete(extraBytes: boolean): void {
    const x = this.x as UpstreamExchange;
    const reusable = this.keepAlive && !extraBytes && !this.uploading && !this.paused && !this.pool.closed;
    this.detachBody();
    this.x = null;
    x.upstream = null;
    this.partial = null;
    x.onComplete();
    if (this.state === State.Closed) return;
    if (reusable) this.pool.release(this);
    else this.destroy();
  }

  /** @internal Ends the current request with `err` and closes the connection. */
  fail(err: Error): void {
    const x = this.x;
    this.detachBody();
    this.x = null;
    this.destroy();
    if (x !== null) {
      x.upstream = null;
      x.onError(err);
    }
  }

  /** Closes the connection (a request on it is not told: see {@link fail}). */
  destroy(): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.deadline = 0;
    this.partial = null;
    this.socket.destroy();
    this.pool.removed(this);
  }

  private onSocketError(err: Error): void {
    this.error ??= err;
  }

  private onClose(): void {
    const x = this.x;
    const state = this.state;
    this.state = State.Closed;
    this.deadline = 0;
    this.pool.removed(this);
    if (x === null) return;
    this.detachBody();
    this.x = null;
    x.upstream = null;
    if (state === State.BodyToClose && this.error === null) {
      // The body ran to the close, as announced.
      x.onComplete();
      return;
    }
    if (state === State.Head && this.reused && this.received === 0 && x.body === null && x.attempts < 2 && !this.pool.closed && IDEMPOTENT.has(x.method)) {
      // The app closed an idle connection just as it was picked: try once more on another one
      // (an idempotent request only: the app may have acted on it before it went away).
      this.pool.dispatch(x);
      return;
    }
    x.onError(this.error ?? new UpstreamError(state === State.Connecting ? 'upstream closed while connecting' : 'upstream closed the connection before the response ended', 'UPSTREAM_CLOSED'));
  }
}
