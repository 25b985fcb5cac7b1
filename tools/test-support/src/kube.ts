/**
 * The few API calls a library's tests need against the test control plane, over HTTPS with the admin client certificate of
 * its kubeconfig (libraries may not import the deployer's kube-client; tools/k8s-testenv writes the kubeconfig).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';

export interface Kube {
  readonly server: string;
  call<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
}

export function kubeFromConfig(path: string): Kube {
  const cfg = parse(readFileSync(path, 'utf8')) as any;
  const ctx = cfg.contexts.find((c: any) => c.name === cfg['current-context']).context;
  const cluster = cfg.clusters.find((c: any) => c.name === ctx.cluster).cluster;
  const user = cfg.users.find((u: any) => u.name === ctx.user).user;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const tls = { ca: b64(cluster['certificate-authority-data']), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) };
  const server: string = cluster.server;
  return {
    server,
    call: (method, p, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = request(new URL(p, server), { method, ...tls, headers: data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            let parsed: any = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        });
        req.on('error', reject);
        req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${p}: timed out`)));
        if (data) req.write(data);
        req.end();
      }),
  };
}
