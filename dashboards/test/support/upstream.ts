import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * A stand-in for Django behind the sidecar (node:http): a health path, fast and slow order
 * routes, a route that fails with 500, one that resets the connection, one slower than the
 * sidecar's upstream timeout, and many distinct `/misc/…` pages (past the route-template cap).
 */
export async function startUpstream(opts: { slowMs: number }): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const reply = (status: number, body: string, delayMs = 0) =>
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      }, delayMs);
    if (url === '/healthz/') return reply(200, '{"status":"ok"}');
    if (url.startsWith('/api/orders/')) return reply(200, '{"orders":[]}', Math.random() < 0.2 ? 600 : Math.floor(Math.random() * 40));
    if (url.startsWith('/api/fail/')) return reply(500, '{"error":"boom"}');
    if (url.startsWith('/api/reset/')) return req.socket.destroy();
    if (url.startsWith('/api/slow/')) return reply(200, '{}', opts.slowMs);
    // Many distinct real pages (answered 200: a 404 never claims a route-template slot).
    if (url.startsWith('/misc/')) return reply(200, '{}');
    return reply(404, '{"error":"not found"}');
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
