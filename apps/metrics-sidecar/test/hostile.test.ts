/**
 * Faults and hostile clients (issue 20), each on real servers: a real upstream HTTP server (or a
 * real upstream process killed mid-body), the sidecar's real sockets on 127.0.0.1, raw TCP clients
 * where node:http would refuse to send what a hostile client sends.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { METRICS, STATUS_CODES_KEPT, UNMATCHED_ROUTE } from '@bitpin/metrics-contract';
import { freePort, waitFor } from '@bitpin/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acceptsGzip } from '../src/index.js';
import { parseExposition, sample, seriesOf } from './support/exposition.js';
import { request } from './support/net.js';
import { startSidecar, type RunningSidecar } from './support/sidecar.js';
import { startUpstream, type Upstream } from './support/upstream.js';
import { word } from './support/words.js';

const REQUESTS = METRICS.httpRequests.name;
const FAILURES = METRICS.upstreamFailures.name;
const REJECTED = METRICS.rejectedRequests.name;

let upstream: Upstream;
let sidecar: RunningSidecar | undefined;

beforeEach(async () => {
  upstream = await startUpstream();
});

afterEach(async () => {
  await sidecar?.close();
  sidecar = undefined;
  await upstream.close();
});

async function start(env: Record<string, string> = {}): Promise<RunningSidecar> {
  sidecar = await startSidecar({ SIDECAR_UPSTREAM_URL: upstream.url, ...env });
  return sidecar;
}

/** Writes `raw` on a fresh TCP connection to the proxy port; resolves with everything read until the server closes. */
function raw(s: RunningSidecar, text: string): Promise<string> {
  const port = Number(new URL(s.proxyUrl).port);
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    let got = '';
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

describe('upstream dying mid-body', () => {
  it('counts kind="reset" when the app process is killed mid-body (a real process, SIGKILL)', { timeout: 30_000 }, async () => {
    // GIVEN an app in its own process that sends headers and 64 KiB of a 10 MiB body, then stalls
    const port = await freePort();
    const app = spawn(
      process.execPath,
      [
        '-e',
        `require('http').createServer((q, r) => {
           r.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
           r.write(Buffer.alloc(65536, 'x'), () => console.log('sent'));
         }).listen(${port}, '127.0.0.1', () => console.log('listening'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    app.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor('the app to listen', () => out.includes('listening'));
      const s = await start({ SIDECAR_UPSTREAM_URL: `http://127.0.0.1:${port}` });
      const outcome = new Promise<{ status: number; received: number; error: string | undefined }>((resolve) => {
        http
          .get(`${s.proxyUrl}/api/report/`, { agent: false }, (res) => {
            let received = 0;
            res.on('data', (c: Buffer) => (received += c.length));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, received, error: undefined }));
            res.on('error', (e) => resolve({ status: res.statusCode ?? 0, received, error: e.message }));
          })
          .on('error', (e) => resolve({ status: 0, received: 0, error: e.message }));
      });
      await waitFor('part of the body sent', () => out.includes('sent'));
      // WHEN the app process dies (a crashed worker)
      app.kill('SIGKILL');
      // THEN the client sees a cut response and the failure is a reset, not "other"
      const o = await outcome;
      expect([o.status, o.error]).toEqual([200, 'aborted']);
      expect(o.received).toBeLessThan(10 * 1024 * 1024);
      await waitFor('the exchange to be recorded', async () => sample(await s.scrape(), REQUESTS, { method: 'GET', route: '/api/report/', status_code: '200' }) === 1);
      const m = await s.scrape();
      expect(sample(m, FAILURES, { kind: 'reset' })).toBe(1);
      expect(sample(m, FAILURES, { kind: 'other' })).toBe(0);
    } finally {
      if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    }
  });
});

describe('bounded labels', () => {
  it('keeps the series count bounded for 400 distinct status codes from the app', { timeout: 60_000 }, async () => {
    // GIVEN the app answering every code from 200 to 599 once
    const s = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const codes = Array.from({ length: 400 }, (_, i) => 200 + i);
    for (const code of codes) expect((await request(`${s.proxyUrl}/status/${code}/x`, { agent })).status).toBe(code);
    agent.destroy();
    // THEN the status_code values are the kept codes in range plus the classes, not 400 values
    const m = parseExposition(await s.scrape());
    const series = seriesOf(m, REQUESTS);
    const kept = STATUS_CODES_KEPT.filter((c) => c >= 200);
    expect(series).toHaveLength(kept.length + 4);
    expect([...series].reduce((n, k) => n + (m.get(k) as number), 0)).toBe(400);
    expect(sample(m, REQUESTS, { method: 'GET', route: '/status/:id/x', status_code: '418' })).toBeUndefined();
    // 400–499 but the kept 4xx codes are one 4xx series
    const kept4xx = kept.filter((c) => c >= 400 && c < 500).length;
    expect(sample(m, REQUESTS, { method: 'GET', route: '/status/:id/x', status_code: '4xx' })).toBe(100 - kept4xx);
    // the 404 counts under the template the earlier 200 gave a slot, 204/304 (with a Content-Length) pass
    expect(sample(m, REQUESTS, { method: 'GET', route: '/status/:id/x', status_code: '404' })).toBe(1);
    expect(sample(m, REQUESTS, { method: 'GET', route: '/status/:id/x', status_code: '304' })).toBe(1);
    expect(sample(m, FAILURES, { kind: 'reset' })).toBe(0);
    const kept5xx = kept.filter((c) => c >= 500).length;
    expect(sample(m, REQUESTS, { method: 'GET', route: '/status/:id/x', status_code: '5xx' })).toBe(100 - kept5xx);
  });

  it('counts `GET http://evil.example/x` under the route of /x and forwards it in origin form', async () => {
    const s = await start();
    const head = await raw(s, 'GET http://evil.example/api/users/7/?a=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect((await request(`${s.proxyUrl}/api/users/8/`, { headers: { host: 'another.example' } })).status).toBe(200);
    const m = await s.scrape();
    expect(sample(m, REQUESTS, { method: 'GET', route: '/api/users/:id/', status_code: '200' })).toBe(2);
    expect(seriesOf(parseExposition(m), REQUESTS)).toHaveLength(1);
    expect(sample(m, METRICS.routeTemplates.name)).toBe(1);
  });

  it('leaves room for a real route after 10,000 random 404 paths', { timeout: 60_000 }, async () => {
    // GIVEN a cap of 50 and a scanner: 10,000 random lowercase paths, all 404 from the app
    const s = await start({ SIDECAR_ROUTE_CARDINALITY_CAP: '50' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const total = 10_000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const r = await request(`${s.proxyUrl}/status/404/${word(i)}/${word(i * 31 + 7)}`, { agent });
        if (r.status !== 404) throw new Error(`request ${i} answered ${r.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    // WHEN a real route is requested afterwards
    expect((await request(`${s.proxyUrl}/api/orders/`, { agent })).status).toBe(200);
    agent.destroy();
    // THEN it has its own series; the scan is one series and took no slot
    const m = await s.scrape();
    expect(sample(m, REQUESTS, { method: 'GET', route: UNMATCHED_ROUTE, status_code: '404' })).toBe(total);
    expect(sample(m, REQUESTS, { method: 'GET', route: '/api/orders/', status_code: '200' })).toBe(1);
    expect(sample(m, METRICS.routeTemplates.name)).toBe(1);
    expect(seriesOf(parseExposition(m), REQUESTS)).toHaveLength(2);
  });
});

describe('requests the sidecar answers itself', () => {
  it('answers TRACE and CONNECT with 405 and never sends them to the app', async () => {
    const s = await start();
    const trace = await request(`${s.proxyUrl}/api/users/1`, { method: 'TRACE', headers: { cookie: 'session=secret' } });
    expect(trace.status).toBe(405);
    expect(trace.body.toString()).not.toContain('secret');
    const connect = await raw(s, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
    expect(connect.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(upstream.requests).toBe(0);
    const m = await s.scrape();
    expect(sample(m, REJECTED, { kind: 'method_not_allowed' })).toBe(2);
    expect(seriesOf(parseExposition(m), REQUESTS)).toHaveLength(0);
  });

  it('counts malformed requests: a bad request line (400) and over-long headers (431)', async () => {
    const s = await start();
    const bad = await raw(s, 'GET /x HTTP/1.1 nonsense\r\nHost: x\r\n\r\n');
    expect(bad.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    const bad2 = await raw(s, 'GE\x01T / HTTP/1.1\r\n\r\n');
    expect(bad2.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    const big = await raw(s, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(upstream.requests).toBe(0);
    const m = await s.scrape();
    expect(sample(m, REJECTED, { kind: 'bad_request' })).toBe(2);
    expect(sample(m, REJECTED, { kind: 'headers_too_large' })).toBe(1);
    for (const kind of ['refused', 'timeout', 'reset', 'other']) expect(sample(m, FAILURES, { kind })).toBe(0);
  });
});

describe('gzip scrapes', () => {
  it('sends a gzip scrape when asked that decodes to the same exposition', async () => {
    // GIVEN some traffic, then a quiet sidecar
    const s = await start();
    for (let i = 0; i < 20; i++) await request(`${s.proxyUrl}/api/users/${i}/`);
    const port = (s.app.server.address() as net.AddressInfo).port;
    // WHEN scraped with and without Accept-Encoding: gzip (real sockets, no client-side decoding)
    const get = (headers: Record<string, string>): Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }> =>
      new Promise((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${port}/metrics`, { headers, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ encoding: res.headers['content-encoding'], vary: res.headers['vary'], body: Buffer.concat(chunks) }));
          })
          .on('error', reject);
      });
    const zipped = await get({ 'accept-encoding': 'gzip, deflate' });
    const plain = await get({});
    // THEN the gzip body is smaller and decodes to the very same text
    expect(zipped.encoding).toBe('gzip');
    expect(zipped.vary).toBe('accept-encoding');
    expect(plain.encoding).toBeUndefined();
    expect(zipped.body.length).toBeLessThan(plain.body.length / 4);
    expect(gunzipSync(zipped.body).toString()).toBe(plain.body.toString());
    expect(sample(plain.body.toString(), REQUESTS, { method: 'GET', route: '/api/users/:id/', status_code: '200' })).toBe(20);
  });

  it('reads Accept-Encoding as RFC 9110 says (q=0 refuses)', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
