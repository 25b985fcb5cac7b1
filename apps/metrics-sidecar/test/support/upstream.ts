/**
 * A real HTTP server on 127.0.0.1 standing in for Django. Behaviour is chosen by path:
 *
 * - `/slow/<ms>/…`      answer 200 after <ms>
 * - `/status/<code>/…`  answer <code>
 * - `/headers`          the received headers as JSON
 * - `/echo`             stream the request body back, with its SHA-256 in a trailer-free header after hashing
 * - `/bytes/<n>`        stream <n> bytes of a fixed pattern in 64 KiB chunks, honouring backpressure
 * - `/reset-early`      destroy the connection before any response
 * - `/reset-mid`        send headers (Content-Length 1 MiB) and 64 KiB, then destroy the connection
 * - `/hang`             never answer
 * - `/healthz/`         200 `ok` (or `healthStatus` when set)
 * - anything else       200 with a small JSON body
 */
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const SMALL_BODY = JSON.stringify({ ok: true, service: 'fake-django', padding: 'x'.repeat(64) });
export const PATTERN = Buffer.alloc(64 * 1024, 'bitpin-0123456789-');

export interface Upstream {
  readonly url: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests received so far, health probes not counted. */
  requests: number;
  /** Health probes (`/healthz/`) received so far. */
  probes: number;
  /** The last request's headers. */
  lastHeaders: IncomingHttpHeaders | undefined;
  healthStatus: number;
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const state: Upstream = {
    url: '',
    port: 0,
    connections: 0,
    requests: 0,
    probes: 0,
    lastHeaders: undefined,
    healthStatus: 200,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz/') state.probes++;
    else state.requests++;
    state.lastHeaders = req.headers;
    const parts = url.split('?')[0]?.split('/') ?? [];
    const small = (status: number): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SMALL_BODY) });
      res.end(SMALL_BODY);
    };
    if (parts[1] === 'slow') {
      req.resume();
      setTimeout(() => small(200), Number(parts[2]));
    } else if (parts[1] === 'status') {
      req.resume();
      small(Number(parts[2]));
    } else if (url === '/headers') {
      req.resume();
      const body = JSON.stringify({ headers: req.headers, rawHeaders: req.rawHeaders });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (url === '/echo') {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.on('end', () => {
        const body = JSON.stringify({ bytes: n, sha256: hash.digest('hex') });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    } else if (parts[1] === 'bytes') {
      req.resume();
      let left = Number(parts[2]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
      const pump = (): void => {
        while (left > 0) {
          const chunk = left >= PATTERN.length ? PATTERN : PATTERN.subarray(0, left);
          left -= chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else if (url === '/reset-early') {
      req.socket.destroy();
    } else if (url === '/reset-mid') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1024 * 1024 });
      res.write(PATTERN, () => setTimeout(() => req.socket.destroy(), 50));
    } else if (url === '/hang') {
      req.resume();
    } else if (url === '/healthz/') {
      req.resume();
      res.writeHead(state.healthStatus, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    } else {
      req.resume();
      small(200);
    }
  });
  server.on('connection', (s: Socket) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  Object.assign(state, { port, url: `http://127.0.0.1:${port}` });
  return state;
}
