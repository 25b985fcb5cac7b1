/**
 * Kubeconfig loading: the common shapes (certificates, tokens, files relative to the kubeconfig)
 * read without @kubernetes/client-node, everything else through it, and one-line errors that say
 * what to fix. Never a silent fallback to localhost:8080.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeconfigFiles, loadKubeAccess, readKubeconfig } from '../src/config.js';
import { PreflightError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kube-client-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    dump({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'a',
      contexts: [
        { name: 'a', context: { cluster: 'c', user: 'u' } },
        { name: 'b', context: { cluster: 'c', user: 'u' } },
      ],
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443/', 'certificate-authority-data': b64('CA'), ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

describe('kubeconfig', () => {
  it('reads client certificates inline, the current context, the server without a trailing slash', () => {
    const file = kubeconfig('certs', { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') });
    const a = readKubeconfig(file);
    expect(a.contextName).toBe('a');
    expect(a.server).toBe('https://127.0.0.1:6443');
    expect([a.tls.ca, a.tls.cert, a.tls.key].map(String)).toEqual(['CA', 'CERT', 'KEY']);
    expect(a.headers).toEqual({});
    expect(readKubeconfig(file, 'b').contextName).toBe('b');
  });

  it('reads a token file relative to the kubeconfig, again on refresh; TLS options carried over', async () => {
    writeFileSync(join(dir, 'token'), 'first\n');
    const file = kubeconfig('with-token-file', { tokenFile: 'token' }, { 'insecure-skip-tls-verify': true, 'tls-server-name': 'api.internal' });
    const a = await loadKubeAccess({ kubeconfig: file });
    expect(a.headers).toEqual({ authorization: 'Bearer first' });
    expect(a.tls).toMatchObject({ rejectUnauthorized: false, servername: 'api.internal' });
    writeFileSync(join(dir, 'token'), 'second\n');
    expect((await a.refresh()).headers).toEqual({ authorization: 'Bearer second' });
  });

  it('readKubeconfig refuses what needs client-node (exec plugins) with a PreflightError', () => {
    const file = kubeconfig('exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } });
    expect(() => readKubeconfig(file)).toThrow(PreflightError);
    expect(() => readKubeconfig(join(dir, 'absent'))).toThrow(/kubeconfig .*absent does not exist/);
  });

  it('a missing file, $KUBECONFIG or context is one line saying what to fix', async () => {
    expect(() => kubeconfigFiles({ kubeconfig: join(dir, 'nope') })).toThrow(/nope \(from --kubeconfig\) does not exist; pass an existing file/);
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = join(dir, 'missing-1');
    try {
      expect(() => kubeconfigFiles()).toThrow(/no kubeconfig found: none of \$KUBECONFIG .*missing-1.* exists/);
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
    const file = kubeconfig('ctx', { token: 't' });
    const err = await loadKubeAccess({ kubeconfig: file, context: 'prod' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreflightError);
    expect((err as Error).message).toBe('context "prod" is not in the kubeconfig; known contexts: a, b');
  }, 20_000);
});
