// The second floor row of `nx run metrics-sidecar:bench`: a bare node:http server forwarding every
// request through the sidecar's own upstream client (dist/upstream.js, the same UpstreamPool and
// settings as the sidecar's data plane), with no metrics, no request id, no X-Forwarded-* and no
// request-header filtering: what node:http + that client cost on their own, so the sidecar's own
// cost is the difference. Listens on FLOOR_PORT, forwards to FLOOR_UPSTREAM.
import http from 'node:http';
import { UpstreamPool } from '../dist/upstream.js';

const pool = new UpstreamPool({ origin: process.env.FLOOR_UPSTREAM, connections: 64, connectTimeoutMs: 5000, timeoutMs: 60_000, keepAliveMs: 4000 });

class Exchange {
  constructor(req, res) {
    this.res = res;
    this.method = req.method;
    this.path = req.url;
    this.headers = req.rawHeaders;
    this.body = null; // no request bodies in the bench
    this.bodyLength = -1;
    this.upstream = null;
    this.attempts = 0;
  }
  onRequestBody() {
    // no request bodies in the bench
  }
  onHeaders(status, headers) {
    this.res.writeHead(status, headers);
    return true;
  }
  onData(chunk) {
    return this.res.write(chunk);
  }
  onComplete() {
    this.res.end();
  }
  onError() {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

http
  .createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    pool.dispatch(new Exchange(req, res));
  })
  .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');
