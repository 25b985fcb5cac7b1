/**
 * The REST client's transports against local servers: HTTP/2 when TLS offers it (one session,
 * every request a stream), HTTP/1.1 when the server only speaks that (ALPN) or plain http, and
 * the retry rules (429/5xx with Retry-After, a connection that drops mid-request, refused).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type ResponseInfo } from '../src/client.js';
import type { KubeAccess } from '../src/config.js';
import { ApiError, PreflightError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kube-client-'));
let tls: { key: Buffer; cert: Buffer };

beforeAll(() => {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function access(server: string): KubeAccess {
  const a: KubeAccess = { contextName: 'test', server, tls: { ca: tls?.cert }, headers: { authorization: 'Bearer t' }, refresh: async () => a };
  return a;
}

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, body: string) => void;

async function listen(kind: 'h2' | 'https' | 'http', handler: Handler): Promise<{ url: string; versions: string[]; close: () => Promise<void> }> {
  const versions: string[] = [];
  const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    versions.push(req.httpVersion);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => handler(req, res, body));
  };
  const server =
    kind === 'h2'
      ? createSecureServer({ ...tls, allowHTTP1: false }, onRequest)
      : kind === 'https'
        ? createHttpsServer({ ...tls }, onRequest) // no ALPN h2: HTTP/1.1 only
        : createHttpServer(onRequest);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${kind === 'http' ? 'http' : 'https'}://127.0.0.1:${port}`,
    versions,
    close: () =>
      new Promise<void>((r) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

const json = (res: ServerResponse | Http2ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('KubeClient transports', () => {
  it.each(['h2', 'https', 'http'] as const)('%s: sends method, path prefix, query, headers and body; parses JSON', async (kind) => {
    const seen: string[] = [];
    const srv = await listen(kind, (req, res, body) => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${req.headers['authorization']} ${body}`);
      json(res, 200, { ok: true });
    });
    const client = new KubeClient(access(`${srv.url}/prefix`));
    try {
      const results = await Promise.all([
        client.get('/version'),
        client.request('PATCH', '/api/v1/namespaces/x', { body: { a: 1 }, contentType: 'application/apply-patch+yaml', query: { fieldManager: 'm', dryRun: 'All', force: undefined } }),
      ]);
      expect(results).toEqual([{ ok: true }, { ok: true }]);
      expect(seen.sort()).toEqual([
        'GET /prefix/version - Bearer t ',
        'PATCH /prefix/api/v1/namespaces/x?fieldManager=m&dryRun=All application/apply-patch+yaml Bearer t {"a":1}',
      ]);
      expect(new Set(srv.versions)).toEqual(new Set([kind === 'h2' ? '2.0' : '1.1']));
      expect(client.stats).toEqual({ requests: 2, retries: 0, writes: 0 });
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('retries 429 and 5xx (honouring Retry-After), not 4xx; 404 with allow404 is undefined', async () => {
    let calls = 0;
    const srv = await listen('h2', (req, res) => {
      if (req.url === '/flaky') {
        calls++;
        if (calls === 1) return json(res, 429, { reason: 'TooManyRequests' }, { 'retry-after': '0' });
        if (calls === 2) return json(res, 503, { reason: 'ServiceUnavailable' });
        return json(res, 200, { calls });
      }
      if (req.url === '/missing') return json(res, 404, { reason: 'NotFound', message: 'not found' });
      return json(res, 422, { reason: 'Invalid', message: 'bad', details: { causes: [{ field: 'spec.x', message: 'nope' }] } });
    });
    const client = new KubeClient(access(srv.url), { backoffMs: 1 });
    try {
      expect(await client.get('/flaky')).toEqual({ calls: 3 });
      expect(client.stats.retries).toBe(2);
      expect(await client.get('/missing', { allow404: true })).toBeUndefined();
      const err = await client.request('POST', '/bad', { body: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 422, reason: 'Invalid', details: { causes: [{ field: 'spec.x' }] } });
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('a session that drops mid-request is replaced and the request retried', async () => {
    let calls = 0;
    const srv = await listen('h2', (req, res) => {
      calls++;
      // The first request kills its whole connection before answering.
      if (calls === 1) return (req as Http2ServerRequest).stream.session?.destroy();
      json(res, 200, { calls });
    });
    const client = new KubeClient(access(srv.url), { backoffMs: 1 });
    try {
      expect(await client.get('/x')).toEqual({ calls: 2 });
      expect(client.stats.retries).toBe(1);
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('an unreachable server is one PreflightError after the retries', async () => {
    const srv = await listen('h2', () => undefined);
    const url = srv.url;
    await srv.close(); // nothing listens there now
    const client = new KubeClient(access(url), { backoffMs: 1, attempts: 3 });
    const err = await client.get('/version').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreflightError);
    expect((err as Error).message).toMatch(/^cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(context "test"\): connection refused/);
    expect(client.stats.requests).toBe(3);
    await client.close();
  });

  it('a server whose certificate is not trusted fails with a TLS error, not retried', async () => {
    const srv = await listen('h2', (_req, res) => json(res, 200, {}));
    const client = new KubeClient({ ...access(srv.url), tls: {} }, { backoffMs: 1 });
    try {
      const err = await client.get('/version').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PreflightError);
      expect((err as Error).message).toMatch(/TLS error|certificate/);
      expect(client.stats.requests).toBe(1);
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('text answers (/readyz) come back as text; Warning headers and the status are reported', async () => {
    const srv = await listen('h2', (req, res) => {
      if (req.url === '/readyz') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      json(res, 201, { kind: 'X' }, { warning: '299 - "unknown field \\"spec.x\\""' });
    });
    const client = new KubeClient(access(srv.url), { userAgent: 'ua-test' });
    try {
      expect(await client.get('/readyz')).toBe('ok');
      const response: ResponseInfo = {};
      expect(await client.request('POST', '/objects', { body: {}, response })).toEqual({ kind: 'X' });
      expect(response).toMatchObject({ status: 201, retried: false, warnings: ['unknown field "spec.x"'] });
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('sends its User-Agent (the deployer names itself)', async () => {
    const agents: string[] = [];
    const srv = await listen('h2', (req, res) => {
      agents.push(String(req.headers['user-agent']));
      json(res, 200, {});
    });
    const named = new KubeClient(access(srv.url), { userAgent: 'bitpin-deployer' });
    const plain = new KubeClient(access(srv.url));
    try {
      await named.get('/a');
      await plain.get('/b');
      expect(agents).toEqual(['bitpin-deployer', 'bitpin-kube-client']);
    } finally {
      await named.close();
      await plain.close();
      await srv.close();
    }
  });
});
