/**
 * Objects by kind: REST paths from aggregated discovery (a kind unknown at first, like a CRD
 * installed a moment ago, refreshes it once), server-side apply's query, 404s as undefined/false,
 * API errors as ApiError — against a local HTTP/2 server that plays the API server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../src/client.js';
import type { KubeAccess } from '../src/config.js';
import { ApiError } from '../src/errors.js';
import { isApiError, ObjectClient } from '../src/objects.js';
import { conditionOf, hasCondition, waitFor } from '../src/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'kube-client-objects-'));
let tls: { key: Buffer; cert: Buffer };
let url: string;
let server: ReturnType<typeof createSecureServer>;
const seen: string[] = [];
const crds: string[] = [];

const group = (name: string, version: string, resources: [string, string, boolean][]) => ({
  metadata: { name },
  versions: [{ version, resources: resources.map(([resource, kind, ns]) => ({ resource, scope: ns ? 'Namespaced' : 'Cluster', responseKind: { kind } })) }],
});

function handle(req: Http2ServerRequest, res: Http2ServerResponse, body: string): void {
  const send = (status: number, b: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(b));
  };
  const path = req.url.split('?')[0] ?? '';
  if (path === '/version') return send(200, { gitVersion: 'v1.34.4', major: '1', minor: '34' });
  if (path === '/api') return send(200, { items: [group('', 'v1', [['namespaces', 'Namespace', false], ['configmaps', 'ConfigMap', true]])] });
  if (path === '/apis') return send(200, { items: [group('apps', 'v1', [['deployments', 'Deployment', true]]), group('example.com', 'v1', crds.map((k) => [`${k.toLowerCase()}s`, k, true]))] });
  seen.push(`${req.method} ${req.url}${body ? ` ${req.headers['content-type']} ${body}` : ''}`);
  if (path.endsWith('/missing')) return send(404, { kind: 'Status', reason: 'NotFound', message: 'configmaps "missing" not found' });
  if (path.endsWith('/conflict')) return send(409, { kind: 'Status', reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "other": .data.x' });
  if (req.method === 'GET' && path === '/api/v1/namespaces/ns/configmaps') return send(200, { kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [] });
  send(200, body ? JSON.parse(body) : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: path.split('/').pop() } });
}

beforeAll(async () => {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  server = createSecureServer({ ...tls }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function objects(fieldManager?: string): ObjectClient {
  const access: KubeAccess = { contextName: 't', server: url, tls: { ca: tls.cert }, headers: {}, refresh: async () => access };
  return new ObjectClient(new KubeClient(access), fieldManager ? { fieldManager } : {});
}

describe('ObjectClient', () => {
  it('resolves paths by discovery: namespaced, cluster-scoped, collections', async () => {
    const c = objects();
    try {
      expect(await c.pathFor('v1', 'ConfigMap', 'ns', 'a')).toBe('/api/v1/namespaces/ns/configmaps/a');
      expect(await c.pathFor('v1', 'Namespace', undefined, 'ns')).toBe('/api/v1/namespaces/ns');
      expect(await c.pathFor('apps/v1', 'Deployment')).toBe('/apis/apps/v1/deployments');
      await expect(c.pathFor('v1', 'ConfigMap', undefined, 'a')).rejects.toThrow('ConfigMap is namespaced: give a namespace');
      await expect(c.pathFor('v1', 'Nothing')).rejects.toThrow('the API server serves no Nothing in v1');
    } finally {
      await c.close();
    }
  });

  it('a kind unknown at first (a CRD installed since) refreshes discovery once', async () => {
    const c = objects();
    try {
      await expect(c.pathFor('example.com/v1', 'Widget', 'ns', 'w')).rejects.toThrow(/serves no Widget/);
      crds.push('Widget');
      expect(await c.pathFor('example.com/v1', 'Widget', 'ns', 'w')).toBe('/apis/example.com/v1/namespaces/ns/widgets/w');
    } finally {
      crds.length = 0;
      await c.close();
    }
  });

  it('get, tryGet (404: undefined), list, create, apply (force, Strict, the field manager), delete (404: false)', async () => {
    const c = objects('tester');
    seen.length = 0;
    try {
      expect((await c.get('v1', 'ConfigMap', 'a', 'ns')).metadata.name).toBe('a');
      expect(await c.tryGet('v1', 'ConfigMap', 'missing', 'ns')).toBeUndefined();
      expect((await c.list('v1', 'ConfigMap', 'ns', { labelSelector: 'x=y' })).items).toEqual([]);
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns' }, data: { x: '1' } };
      await c.create(cm, { dryRun: true });
      expect(await c.apply(cm)).toEqual(cm);
      expect(await c.delete('v1', 'ConfigMap', 'b', 'ns')).toBe(true);
      expect(await c.delete('v1', 'ConfigMap', 'missing', 'ns')).toBe(false);
      const body = JSON.stringify(cm);
      expect(seen).toEqual([
        'GET /api/v1/namespaces/ns/configmaps/a',
        'GET /api/v1/namespaces/ns/configmaps/missing',
        'GET /api/v1/namespaces/ns/configmaps?labelSelector=x%3Dy',
        `POST /api/v1/namespaces/ns/configmaps?dryRun=All&fieldValidation=Strict application/json ${body}`,
        `PATCH /api/v1/namespaces/ns/configmaps/b?fieldManager=tester&force=true&fieldValidation=Strict application/apply-patch+yaml ${body}`,
        'DELETE /api/v1/namespaces/ns/configmaps/b application/json {"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}',
        'DELETE /api/v1/namespaces/ns/configmaps/missing application/json {"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}',
      ]);
    } finally {
      await c.close();
    }
  });

  it('API errors are ApiError with status, reason and the server message', async () => {
    const c = objects();
    try {
      const err = await c.get('v1', 'ConfigMap', 'missing', 'ns').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 404, reason: 'NotFound', message: 'configmaps "missing" not found' });
      const conflict = await c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conflict', namespace: 'ns' } }, { force: false }).catch((e: unknown) => e);
      expect(isApiError(conflict, 409)).toBe(true);
      expect(isApiError(conflict, 404)).toBe(false);
      expect((conflict as Error).message).toContain('.data.x');
    } finally {
      await c.close();
    }
  });
});

describe('waitFor and conditions', () => {
  it('waitFor returns the first truthy value; on timeout it names what it waited for and the last error', async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', () => (++n >= 3 ? n : false), { intervalMs: 1 })).toBe(3);
    await expect(
      waitFor(
        'the impossible',
        () => {
          throw new Error('still no');
        },
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow(/^timed out after 20 ms waiting for the impossible \(last error: still no\)$/);
  });

  it('hasCondition and conditionOf read status.conditions', () => {
    const o = { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Stalled', status: 'False', reason: 'Fine' }] } };
    expect(hasCondition(o, 'Ready')).toBe(true);
    expect(hasCondition(o, 'Stalled')).toBe(false);
    expect(hasCondition(o, 'Stalled', 'False')).toBe(true);
    expect(hasCondition(undefined, 'Ready')).toBe(false);
    expect(conditionOf(o, 'Stalled')?.reason).toBe('Fine');
  });
});
