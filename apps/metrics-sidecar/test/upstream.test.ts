/**
 * The sidecar's own HTTP/1.1 upstream client (src/upstream.ts), through the whole sidecar, against
 * real upstream servers that misbehave: node:http servers where node can produce the case, raw TCP
 * servers (test/support/raw-upstream.ts) where only hand-written bytes can.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { METRICS } from '@bitpin/metrics-contract';
import { waitFor } from '@bitpin/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { sample } from './support/exposition.js';
import { request } from './support/net.js';
import { startRawUpstream, type RawUpstream } from './support/raw-upstream.js';
import { startSidecar, type RunningSidecar } from './support/sidecar.js';

const REQUESTS = METRICS.httpRequests.name;
const FAILURES = METRICS.upstreamFailures.name;
const REQ_BYTES = METRICS.httpRequestBodyBytes.name;

let sidecar: RunningSidecar | undefined;
let raw: RawUpstream | undefined;
let server: http.Server | undefined;

afterEach(async () => {
  await sidecar?.close();
  sidecar = undefined;
  await raw?.close();
  raw = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = undefined;
  }
});

/** A node:http upstream; counts its TCP connections. */
async function nodeUpstream(handler: http.RequestListener): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = http.createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections };
}

async function start(url: string, env: Record<string, string> = {}): Promise<RunningSidecar> {
  sidecar = await startSidecar({ SIDECAR_UPSTREAM_URL: url, ...env });
  return sidecar;
}

/** A GET through node:http that resolves even when the response is cut. */
function fetchCut(url: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; error: string | undefined }> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error: undefined }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.message }));
    req.end();
  });
}

describe('upstream client: response framing', () => {
  it('decodes a chunked body with trailers, drops the trailers and reuses the connection', async () => {
    // GIVEN an app answering chunked, in several writes, with a trailer
    const up = await nodeUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('hello, ');
      setTimeout(() => {
        res.write('chunked ');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end('world');
      }, 20);
    });
    const s = await start(up.url);
    // WHEN it is asked three times in a row
    for (let i = 0; i < 3; i++) {
      const r = await request(`${s.proxyUrl}/chunked`);
      // THEN the client gets the decoded body, no trailer announcement, and one connection serves all
      expect([r.status, r.body.toString()]).toEqual([200, 'hello, chunked world']);
      expect(r.headers['trailer']).toBeUndefined();
    }
    expect(up.connections()).toBe(1);
    expect(sample(await s.scrape(), REQUESTS, { method: 'GET', route: '/chunked', status_code: '200' })).toBe(3);
  });

  it('handles chunk sizes, extensions and CRLFs split across reads (raw bytes)', async () => {
    raw = await startRawUpstream(async (c) => {
      const parts = ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '5', ';ext=1\r', '\nhel', 'lo\r', '\n6\r\n wor', 'ld\r\n0\r\n', 'X-Trailer: t\r\n', '\r\n'];
      for (const p of parts) {
        await c.write(p);
        await c.pause(5);
      }
    });
    const s = await start(raw.url);
    const r = await request(`${s.proxyUrl}/split`);
    expect([r.status, r.body.toString()]).toEqual([200, 'hello world']);
    expect(r.headers['x-trailer']).toBeUndefined();
    expect(raw.connections).toBe(1);
    // the connection stayed usable: the next request reuses it
    expect((await request(`${s.proxyUrl}/split`)).body.toString()).toBe('hello world');
    expect(raw.connections).toBe(1);
  });

  it('passes a body that runs to the connection close, and does not reuse that connection', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      await c.pause(20);
      await c.write('the end');
      c.end();
    });
    const s = await start(raw.url);
    for (let i = 0; i < 2; i++) expect((await request(`${s.proxyUrl}/eof`)).body.toString()).toBe('until the end');
    expect(raw.connections).toBe(2);
    expect(sample(await s.scrape(), FAILURES, { kind: 'reset' })).toBe(0);
  });

  it('answers HEAD, 204 and 304 without a body and keeps the connection', async () => {
    const up = await nodeUpstream((req, res) => {
      req.resume();
      if (req.url === '/no-content') {
        res.writeHead(204);
        res.end();
      } else if (req.url === '/not-modified') {
        // a 304 may carry the Content-Length of the full representation (RFC 9110 §8.6)
        res.writeHead(304, { etag: '"v1"', 'content-length': '1038' });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1038' });
        res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1038));
      }
    });
    const s = await start(up.url);
    const head = await request(`${s.proxyUrl}/doc`, { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '1038', 0]);
    const none = await request(`${s.proxyUrl}/no-content`);
    expect([none.status, none.body.length]).toEqual([204, 0]);
    const nm = await request(`${s.proxyUrl}/not-modified`, { headers: { 'if-none-match': '"v1"' } });
    expect([nm.status, nm.headers['etag'], nm.body.length]).toEqual([304, '"v1"', 0]);
    const full = await request(`${s.proxyUrl}/doc`);
    expect([full.status, full.body.length]).toEqual([200, 1038]);
    expect(up.connections()).toBe(1);
    const m = await s.scrape();
    expect(sample(m, REQUESTS, { method: 'HEAD', route: '/doc', status_code: '200' })).toBe(1);
    for (const kind of ['refused', 'timeout', 'reset', 'other']) expect(sample(m, FAILURES, { kind })).toBe(0);
  });

  it('skips interim 1xx responses from the app and passes the final one', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
      await c.pause(10);
      await c.write('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    });
    const s = await start(raw.url);
    const r = await request(`${s.proxyUrl}/interim`, { method: 'POST', body: 'x' });
    expect([r.status, r.body.toString()]).toEqual([201, 'ok']);
  });

  it('forwards Expect: 100-continue uploads (node:http answers the 100; the app gets the body, not the Expect)', async () => {
    const seen: { expect: string | undefined; body: string }[] = [];
    const up = await nodeUpstream((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ expect: req.headers['expect'], body });
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      });
    });
    const s = await start(up.url);
    const port = Number(new URL(s.proxyUrl).port);
    const text = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write('PUT /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n'));
      let got = '';
      sock.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !got.includes('200')) sock.write('hello');
      });
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\nok')).toBe(true);
    expect(seen).toEqual([{ expect: undefined, body: 'hello' }]);
  });

  it('prefers Transfer-Encoding over a Content-Length sent with it, forwards neither, and closes that connection', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    });
    const s = await start(raw.url);
    const r = await request(`${s.proxyUrl}/smuggle`);
    expect([r.status, r.body.toString(), r.headers['content-length']]).toEqual([200, 'hello', undefined]);
    await request(`${s.proxyUrl}/smuggle`);
    expect(raw.connections).toBe(2);
  });

  it('does not reuse a connection on which the app sent more than its Content-Length', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA');
    });
    const s = await start(raw.url);
    expect((await request(`${s.proxyUrl}/extra`)).body.toString()).toBe('ok');
    expect((await request(`${s.proxyUrl}/extra`)).body.toString()).toBe('ok');
    expect(raw.connections).toBe(2);
  });

  it('drops the headers the app names in Connection, and honours Connection: close', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\nX-Kept: yes\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok');
    });
    const s = await start(raw.url);
    const r = await request(`${s.proxyUrl}/hop`);
    expect([r.status, r.headers['x-hop'], r.headers['x-kept'], r.headers['keep-alive']]).toEqual([200, undefined, 'yes', undefined]);
    await request(`${s.proxyUrl}/hop`);
    expect(raw.connections).toBe(2);
  });
});

describe('upstream client: bad responses', () => {
  const cases: [string, string][] = [
    ['a head over 16 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\nContent-Length: 0\r\n\r\n`],
    ['a bad status line', 'HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['differing Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 0\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n'],
    ['a control character in a header value', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n'],
    ['a 101 nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
  ];
  for (const [what, bytes] of cases) {
    it(`fails with 502 and counts kind="other" for ${what}`, async () => {
      raw = await startRawUpstream(async (c) => {
        await c.write(bytes);
      });
      const s = await start(raw.url);
      const r = await request(`${s.proxyUrl}/bad`);
      expect([r.status, r.body.toString()]).toEqual([502, 'upstream bad response\n']);
      const m = await s.scrape();
      expect(sample(m, FAILURES, { kind: 'other' })).toBe(1);
      expect(sample(m, REQUESTS, { method: 'GET', route: '/bad', status_code: '502' })).toBe(1);
    });
  }

  it('fails a bad chunk size after the headers as a cut response and kind="reset"', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n');
    });
    const s = await start(raw.url);
    const r = await fetchCut(`${s.proxyUrl}/badchunk`);
    expect([r.status, r.error]).toEqual([200, 'aborted']);
    await waitFor('the failure to be counted', async () => sample(await s.scrape(), FAILURES, { kind: 'reset' }) === 1);
  });
});

describe('upstream client: connections and faults', () => {
  it('never pipelines: with one connection, a second request waits for the first response', async () => {
    // GIVEN an app that notes any bytes that arrive while it is still answering
    const early: string[] = [];
    raw = await startRawUpstream(async (c) => {
      await c.pause(150);
      if (c.buffered() > 0) early.push(c.peek());
      await c.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const s = await start(raw.url, { SIDECAR_UPSTREAM_CONNECTIONS: '1' });
    // WHEN three requests arrive at once
    const rs = await Promise.all([1, 2, 3].map((i) => request(`${s.proxyUrl}/one/${i}`)));
    // THEN each was sent after the previous response, on the one connection
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(raw.connections).toBe(1);
    expect(raw.requests).toBe(3);
    expect(early).toEqual([]);
  });

  it('cuts the client and counts "reset" when the app closes cleanly (FIN) before the announced length', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`);
      await c.pause(20);
      c.end();
    });
    const s = await start(raw.url);
    const r = await fetchCut(`${s.proxyUrl}/short`);
    expect([r.status, r.error, r.body.length]).toEqual([200, 'aborted', 100]);
    await waitFor('the failure to be counted', async () => sample(await s.scrape(), FAILURES, { kind: 'reset' }) === 1);
  });

  it('answers 504 when the app pauses inside a body longer than the timeout', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345');
      await c.pause(2_000);
    });
    const s = await start(raw.url, { SIDECAR_UPSTREAM_TIMEOUT_MS: '300' });
    const r = await fetchCut(`${s.proxyUrl}/stall`);
    expect([r.status, r.error, r.body.toString()]).toEqual([200, 'aborted', '12345']);
    await waitFor('the failure to be counted', async () => sample(await s.scrape(), FAILURES, { kind: 'timeout' }) === 1);
  });

  it('answers 504 when the app trickles its head for longer than the timeout (the head as a whole, not per byte)', async () => {
    raw = await startRawUpstream(async (c) => {
      for (const ch of 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') {
        await c.write(ch);
        await c.pause(50);
      }
    });
    const s = await start(raw.url, { SIDECAR_UPSTREAM_TIMEOUT_MS: '800' });
    const t0 = Date.now();
    const r = await request(`${s.proxyUrl}/slowhead`);
    expect([r.status, r.body.toString()]).toEqual([504, 'upstream timeout\n']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(790);
    expect(sample(await s.scrape(), FAILURES, { kind: 'timeout' })).toBe(1);
  });

  it('retries an idempotent body-less request once when the app closed a reused connection without answering', async () => {
    // GIVEN an app that answers the first request of each connection and drops the second one
    raw = await startRawUpstream(async (c) => {
      if (c.index > 0) {
        c.destroy();
        return;
      }
      await c.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const s = await start(raw.url);
    // WHEN a GET goes out on the kept connection: THEN it is retried on a new one and succeeds
    expect((await request(`${s.proxyUrl}/a`)).status).toBe(200);
    expect((await request(`${s.proxyUrl}/b`)).status).toBe(200);
    expect(raw.connections).toBe(2);
    // but a POST is not sent twice, even without a body (the app may have acted on it) ...
    const post = await request(`${s.proxyUrl}/c`, { method: 'POST' });
    expect([post.status, post.body.toString()]).toEqual([502, 'upstream reset\n']);
    // ... nor is a request with a body
    expect((await request(`${s.proxyUrl}/d`)).status).toBe(200);
    const put = await request(`${s.proxyUrl}/e`, { method: 'PUT', body: 'once' });
    expect([put.status, put.body.toString()]).toEqual([502, 'upstream reset\n']);
    expect(raw.requests).toBe(6);
    const m = await s.scrape();
    expect(sample(m, FAILURES, { kind: 'reset' })).toBe(2);
    expect(sample(m, REQUESTS, { method: 'GET', route: '/b', status_code: '200' })).toBe(1);
  });

  it('streams a 64 MB Content-Length upload to a slow app with flat memory', { timeout: 120_000 }, async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    // GIVEN an app that reads the body slowly (pauses 2 ms after every MiB)
    const up = await nodeUpstream((req, res) => {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
        if (n % (1024 * 1024) < c.length) {
          req.pause();
          setTimeout(() => req.resume(), 2);
        }
      });
      req.on('end', () => {
        const body = JSON.stringify({ bytes: n, sha256: hash.digest('hex') });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    const s = await start(up.url);
    const size = 64 * 1024 * 1024;
    const block = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    for (let i = 0; i < 64; i++) expected.update(block);
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
    }, 25);
    // WHEN a client uploads 64 MB with a Content-Length, writing as fast as backpressure allows
    const reply = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${s.proxyUrl}/upload`, { method: 'PUT', agent: false, headers: { 'content-length': String(size) } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64) {
          sent++;
          if (!req.write(block)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    clearInterval(sampler);
    // THEN the app got every byte, and the sidecar never held more than socket-sized pieces
    expect(JSON.parse(reply)).toEqual({ bytes: size, sha256: expected.digest('hex') });
    expect(peak, `peak live buffer memory ${(peak / 1048576).toFixed(1)} MB`).toBeLessThan(32 * 1024 * 1024);
    expect(sample(await s.scrape(), REQ_BYTES, { method: 'PUT', route: '/upload', status_code: '200' })).toBe(size);
  });

  it('keeps the client connection usable when the app answers before reading the whole upload', { timeout: 30_000 }, async () => {
    // GIVEN an app that reads an upload's head, stops reading (so the sidecar's writes block and it
    // pauses the client's body), then refuses it with 413 and Connection: close
    const sockets: net.Socket[] = [];
    let conns = 0;
    const app = net.createServer((sock) => {
      sockets.push(sock);
      const first = conns++ === 0;
      let head = '';
      const onData = (c: Buffer): void => {
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        sock.off('data', onData);
        if (first) {
          sock.pause();
          setTimeout(() => sock.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 300);
        } else {
          sock.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nafter');
        }
      };
      sock.on('data', onData);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    try {
      const s = await start(`http://127.0.0.1:${(app.address() as net.AddressInfo).port}`);
      const port = Number(new URL(s.proxyUrl).port);
      const size = 32 * 1024 * 1024;
      // WHEN a client sends the whole 32 MiB body, then a second request on the same connection
      const text = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => {
          sock.write(`PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
          sock.write(Buffer.alloc(size, 'a'));
          sock.write('GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        });
        let got = '';
        const timer = setTimeout(() => {
          sock.destroy();
          resolve(got);
        }, 15_000);
        sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
        sock.on('close', () => {
          clearTimeout(timer);
          resolve(got);
        });
        sock.on('error', reject);
      });
      // THEN the 413 arrives, the rest of the body is read and dropped, and the next request is answered
      expect(text.startsWith('HTTP/1.1 413 Payload Too Large\r\n'), text.slice(0, 200)).toBe(true);
      expect(text, 'the second response').toContain('HTTP/1.1 200 OK\r\n');
      expect(text.endsWith('after')).toBe(true);
      const m = await s.scrape();
      expect(sample(m, REQUESTS, { method: 'PUT', route: '/upload', status_code: '413' })).toBe(1);
      expect(sample(m, REQUESTS, { method: 'GET', route: '/after', status_code: '200' })).toBe(1);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => app.close(r));
    }
  });

  it('queues requests beyond the connection limit and serves them all', async () => {
    const up = await nodeUpstream((req, res) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      }, 10);
    });
    const s = await start(up.url, { SIDECAR_UPSTREAM_CONNECTIONS: '4' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 40 });
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => request(`${s.proxyUrl}/q/${i}`, { agent })));
    agent.destroy();
    expect(rs.every((r) => r.status === 200 && r.body.toString() === 'ok')).toBe(true);
    expect(up.connections()).toBe(4);
    expect(sample(await s.scrape(), REQUESTS, { method: 'GET', route: '/q/:id', status_code: '200' })).toBe(200);
  });

  it("shortens the idle time to the app's Keep-Alive: timeout=N minus 1 s, and does not reuse at timeout=1", async () => {
    // GIVEN an app that says it keeps idle connections 2 s (path /two) or 1 s (path /one)
    raw = await startRawUpstream(async (c) => {
      const n = c.head.startsWith('GET /two') ? 2 : 1;
      await c.write(`HTTP/1.1 200 OK\r\nKeep-Alive: timeout=${n}\r\nContent-Length: 2\r\n\r\nok`);
    });
    const s = await start(raw.url, { SIDECAR_UPSTREAM_KEEPALIVE_MS: '60000' });
    // WHEN timeout=2: the sidecar closes the idle connection after about 1 s, not after 60 s
    const t0 = Date.now();
    expect((await request(`${s.proxyUrl}/two`)).status).toBe(200);
    await waitFor('the sidecar to close the idle connection', () => raw?.closedByPeer === 1, 5_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // WHEN timeout=1: no idle time is left, so the connection is closed at once and not reused
    expect((await request(`${s.proxyUrl}/one`)).status).toBe(200);
    await waitFor('the sidecar to close the connection', () => raw?.closedByPeer === 2, 500);
    expect((await request(`${s.proxyUrl}/one`)).status).toBe(200);
    expect(raw.connections).toBe(3);
  });

  it('closes idle connections after SIDECAR_UPSTREAM_KEEPALIVE_MS', async () => {
    raw = await startRawUpstream(async (c) => {
      await c.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const s = await start(raw.url, { SIDECAR_UPSTREAM_KEEPALIVE_MS: '200' });
    expect((await request(`${s.proxyUrl}/x`)).status).toBe(200);
    await waitFor('the idle connection to be closed by the sidecar', () => raw?.closedByPeer === 1);
    expect((await request(`${s.proxyUrl}/x`)).status).toBe(200);
    expect(raw.connections).toBe(2);
  });
});
