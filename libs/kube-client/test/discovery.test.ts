/**
 * Discovery's disk cache: per server URL with the server version, confirmed on every run by a
 * conditional GET of `/apis` (304 when unchanged), read again when `/apis` changed (a CRD added
 * or removed), for another server, or after 6 hours.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeClient } from '../src/client.js';
import { DISCOVERY_TTL_MS, Discovery } from '../src/discovery.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-client-discovery-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A fake API server: aggregated discovery with the given custom kinds and an entity tag on /apis; counts requests by path. */
function fakeClient(server = 'https://10.0.0.1:6443', gitVersion = 'v1.34.4') {
  const state = { crds: ['Cluster'], calls: [] as string[] };
  const apis = () => ({
    items: [
      { metadata: { name: 'apps' }, versions: [{ version: 'v1', resources: [{ resource: 'deployments', scope: 'Namespaced', responseKind: { kind: 'Deployment' } }] }] },
      {
        metadata: { name: 'postgresql.cnpg.io' },
        versions: [{ version: 'v1', resources: state.crds.map((k) => ({ resource: `${k.toLowerCase()}s`, scope: 'Namespaced', responseKind: { kind: k } })) }],
      },
    ],
  });
  const client = {
    server,
    async get(path: string, opts: { ifNoneMatch?: string; response?: { status?: number; etag?: string } } = {}) {
      state.calls.push(opts.ifNoneMatch ? `${path} (if-none-match)` : path);
      if (path === '/version') return { gitVersion, major: '1', minor: gitVersion.split('.')[1], platform: 'linux/amd64' };
      if (path === '/api') return { items: [{ metadata: { name: '' }, versions: [{ version: 'v1', resources: [{ resource: 'configmaps', scope: 'Namespaced', responseKind: { kind: 'ConfigMap' } }] }] }] };
      if (path === '/apis') {
        const body = apis();
        const etag = `"${JSON.stringify(body).length}-${state.crds.join('.')}"`;
        if (opts.response) opts.response.etag = etag;
        if (opts.ifNoneMatch === etag) {
          if (opts.response) opts.response.status = 304;
          return undefined;
        }
        return body;
      }
      throw new Error(`unexpected ${path}`);
    },
  };
  return { client: client as unknown as KubeClient, state };
}

const discovery = (client: KubeClient) => new Discovery(client, { cacheDir: dir });
const FETCH = ['/api', '/apis', '/version'];

describe('discovery cache', () => {
  it('asks the server once, then serves the same server (resources and version) from disk, confirmed by a 304', async () => {
    const a = fakeClient();
    const first = discovery(a.client);
    await first.ensure();
    expect(first.cachedOnly).toBe(false);
    expect(a.state.calls.sort()).toEqual(FETCH);
    expect(readdirSync(dir)).toHaveLength(1);

    const b = fakeClient();
    const second = discovery(b.client);
    await second.ensure();
    expect(second.cachedOnly).toBe(false);
    expect(b.state.calls).toEqual(['/apis (if-none-match)']);
    expect(await second.serverVersion()).toEqual({ gitVersion: 'v1.34.4', major: '1', minor: '34' });
    expect(await second.resolve('apps/v1', 'Deployment')).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true });
  });

  it('another server, or an entry older than the TTL, is asked again (with its version)', async () => {
    await discovery(fakeClient().client).ensure();
    const other = fakeClient('https://10.0.0.2:6443', 'v1.35.0');
    const d = discovery(other.client);
    expect(await d.serverVersion()).toMatchObject({ gitVersion: 'v1.35.0' });
    expect(other.state.calls.sort()).toEqual(FETCH);

    const old = new Date(Date.now() - DISCOVERY_TTL_MS - 60_000);
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      // The entry's own timestamp counts, not the file's: rewrite it as old.
      const entry = JSON.parse(String(await import('node:fs').then((fs) => fs.readFileSync(p, 'utf8'))));
      writeFileSync(p, JSON.stringify({ ...entry, fetchedAt: old.getTime() }));
      utimesSync(p, old, old);
    }
    const later = fakeClient(undefined, 'v1.35.1');
    const upgraded = discovery(later.client);
    expect(await upgraded.serverVersion()).toMatchObject({ gitVersion: 'v1.35.1', minor: '35' });
    expect(later.state.calls.sort()).toEqual(FETCH);
  });

  it('a CRD added since is seen at once: /apis changed, so everything is read again', async () => {
    await discovery(fakeClient().client).ensure();
    const b = fakeClient();
    b.state.crds.push('Pooler');
    const d = discovery(b.client);
    await d.ensure();
    expect(b.state.calls.sort()).toEqual(['/api', '/apis (if-none-match)', '/version']);
    expect(await d.resolveGroupKind('postgresql.cnpg.io', 'Pooler')).toMatchObject({ kind: 'Pooler', resource: 'poolers' });
    expect(b.state.calls).toHaveLength(3);
    // The new entity tag is cached: the next run is one 304 again.
    const c = fakeClient();
    c.state.crds.push('Pooler');
    await discovery(c.client).ensure();
    expect(c.state.calls).toEqual(['/apis (if-none-match)']);
  });

  it('a CRD removed since is seen at once, not after the TTL', async () => {
    await discovery(fakeClient().client).ensure();
    const b = fakeClient();
    b.state.crds = [];
    const d = discovery(b.client);
    await d.ensure();
    expect(await d.resolveKnown('postgresql.cnpg.io/v1', 'Cluster')).toBeUndefined();
    expect(await d.resolveKnown('apps/v1', 'Deployment')).toBeDefined();
  });

  it('without a cache directory nothing is written', async () => {
    const a = fakeClient();
    const d = new Discovery(a.client, { cacheDir: undefined });
    await d.ensure();
    expect(existsSync(dir) && readdirSync(dir)).toEqual([]);
  });
});
