// The floor row of `nx run metrics-sidecar:bench`: a bare node:http server forwarding every
// request through an undici Pool (the same Pool options and `dispatch` handler shape as the
// sidecar's data plane), with no metrics, no request id, no X-Forwarded-* and no hop-by-hop
// filtering: what node:http + undici cost on their own, so the sidecar's own cost is the
// difference. Listens on FLOOR_PORT, forwards to FLOOR_UPSTREAM.
import http from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.FLOOR_UPSTREAM, { connections: 64, pipelining: 1, keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000 });

class Handler {
  constructor(res) {
    this.res = res;
  }
  onConnect() {
    // nothing to abort: the floor never cancels
  }
  onBodySent() {
    // no request bodies in the bench
  }
  onHeaders(status, raw) {
    const out = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1');
      const lower = name.length === 10 ? name.toLowerCase() : '';
      if (lower === 'connection' || lower === 'keep-alive') continue;
      out.push(name, raw[i + 1].toString('latin1'));
    }
    this.res.writeHead(status, out);
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
    pool.dispatch({ path: req.url, method: req.method, headers: req.rawHeaders, body: null }, new Handler(res));
  })
  .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');
