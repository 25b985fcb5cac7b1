import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { PreflightError } from './errors.js';

/** Everything needed to talk to one API server as one user. Holds credentials: never print it. */
export interface KubeAccess {
  readonly contextName: string;
  /** The kubeconfig's user entry of the context (a name, never a credential): who runs the deployer. */
  readonly userName?: string;
  readonly server: string;
  readonly tls: {
    readonly ca?: string | Buffer;
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
    readonly rejectUnauthorized?: boolean;
    readonly servername?: string;
  };
  /** Authorization and other headers the kubeconfig's user needs (tokens, exec plugins). */
  readonly headers: Readonly<Record<string, string>>;
  /** Re-reads credentials (exec plugins, token files) after a 401. */
  readonly refresh: () => Promise<KubeAccess>;
}

export interface KubeAccessOptions {
  /** `--kubeconfig`; otherwise $KUBECONFIG, otherwise ~/.kube/config. */
  readonly kubeconfig?: string;
  /** `--context`; otherwise the kubeconfig's current context. */
  readonly context?: string;
}

/** The kubeconfig files in effect, checked to exist. Never falls back to localhost:8080. */
export function kubeconfigFiles(opts: KubeAccessOptions = {}): string[] {
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) {
      throw new PreflightError(`kubeconfig ${opts.kubeconfig} (from --kubeconfig) does not exist; pass an existing file`);
    }
    return [opts.kubeconfig];
  }
  const fromEnv = (process.env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length) {
    const present = fromEnv.filter((f) => existsSync(f));
    if (!present.length) {
      throw new PreflightError(`no kubeconfig found: none of $KUBECONFIG (${fromEnv.join(delimiter)}) exists; fix KUBECONFIG or pass --kubeconfig`);
    }
    return present;
  }
  const home = join(homedir(), '.kube', 'config');
  if (!existsSync(home)) {
    throw new PreflightError(`no kubeconfig found ($KUBECONFIG is unset and ${home} does not exist); set KUBECONFIG or pass --kubeconfig`);
  }
  return [home];
}

/** The user and cluster keys {@link simpleKubeconfig} understands; anything else goes to client-node. */
const SIMPLE_USER = ['client-certificate-data', 'client-key-data', 'client-certificate', 'client-key', 'token', 'tokenFile'];
const SIMPLE_CLUSTER = ['server', 'certificate-authority-data', 'certificate-authority', 'insecure-skip-tls-verify', 'tls-server-name'];

/**
 * The common kubeconfig shapes — one file, client certificates and/or a bearer token, CA inline
 * or as a file — read without @kubernetes/client-node (loading it costs ~0.5–1 s of CPU before
 * the first request). Undefined for a kubeconfig with exec plugins, auth providers, basic auth or
 * proxies (client-node understands those), or one that does not parse.
 */
function simpleKubeconfig(file: string, requested: string | undefined): { contextName: string; build: () => KubeAccess } | undefined {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let cfg: any;
  try {
    cfg = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // client-node will report it
  }
  const contextName = requested ?? cfg?.['current-context'];
  const named = (list: unknown, name: unknown) => (Array.isArray(list) ? list : []).find((c) => c?.name === name);
  const ctx = named(cfg?.contexts, contextName)?.context;
  const cluster = named(cfg?.clusters, ctx?.cluster)?.cluster;
  const user = named(cfg?.users, ctx?.user)?.user ?? {};
  if (!contextName || !ctx || !cluster?.server) return undefined;
  if (Object.keys(user).some((k) => !SIMPLE_USER.includes(k)) || Object.keys(cluster).some((k) => !SIMPLE_CLUSTER.includes(k))) return undefined;
  const base = dirname(file);
  const path = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const read = (inline: string | undefined, file: string | undefined): Buffer | undefined =>
    inline ? Buffer.from(inline, 'base64') : file ? readFileSync(path(file)) : undefined;
  const build = (): KubeAccess => {
    const token = user.token ?? (user.tokenFile ? readFileSync(path(user.tokenFile), 'utf8').trim() : undefined);
    return {
      contextName,
      ...(typeof ctx.user === 'string' ? { userName: ctx.user } : {}),
      server: String(cluster.server).replace(/\/+$/, ''),
      tls: {
        ca: read(cluster['certificate-authority-data'], cluster['certificate-authority']),
        cert: read(user['client-certificate-data'], user['client-certificate']),
        key: read(user['client-key-data'], user['client-key']),
        ...(cluster['insecure-skip-tls-verify'] ? { rejectUnauthorized: false } : {}),
        ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
      },
      headers: token ? { authorization: `Bearer ${token}` } : {},
      refresh: async () => build(),
    };
  };
  return { contextName, build };
}

/**
 * Reads one kubeconfig file synchronously (client certificates and/or a token, files or inline
 * data): what test set-ups and tools with a kubeconfig they wrote themselves need. A kubeconfig
 * that needs exec plugins or auth providers is refused; {@link loadKubeAccess} handles those.
 */
export function readKubeconfig(file: string, context?: string): KubeAccess {
  if (!existsSync(file)) throw new PreflightError(`kubeconfig ${file} does not exist`);
  const simple = simpleKubeconfig(file, context);
  if (!simple) {
    throw new PreflightError(
      `kubeconfig ${file}: context ${context ?? '(current)'} is missing, has no server, or needs exec plugins/auth providers; use loadKubeAccess`,
    );
  }
  try {
    return simple.build();
  } catch (e) {
    throw new PreflightError(`cannot read the credentials of context "${simple.contextName}" in ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The kubeconfig's access for one context. The common shapes are read directly; everything else
 * (several files, exec plugins, auth providers, basic auth) is loaded with
 * @kubernetes/client-node, which understands every auth method, and turned into TLS material and
 * headers for our own connection.
 */
export async function loadKubeAccess(opts: KubeAccessOptions = {}): Promise<KubeAccess> {
  const files = kubeconfigFiles(opts);
  if (files.length === 1) {
    const simple = simpleKubeconfig(files[0]!, opts.context);
    if (simple) {
      try {
        return simple.build();
      } catch (e) {
        throw new PreflightError(`cannot read the credentials of context "${simple.contextName}" in ${files[0]}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  // Loaded lazily: it is large, and most kubeconfigs never need it.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) {
      kc.loadFromFile(opts.kubeconfig);
    } else {
      // $KUBECONFIG lists are merged the way kubectl merges them. We checked above that a file
      // exists, so client-node's silent fallback to http://localhost:8080 cannot happen.
      kc.loadFromDefault();
    }
  } catch (e) {
    throw new PreflightError(`cannot read kubeconfig ${files.join(delimiter)}: ${(e as Error).message.split('\n')[0]}`);
  }
  const contextName = opts.context ?? kc.getCurrentContext();
  if (!contextName) throw new PreflightError(`kubeconfig ${files.join(delimiter)} has no current context; pass --context`);
  const context = kc.getContextObject(contextName);
  if (!context) {
    const known = kc.getContexts().map((c) => c.name);
    throw new PreflightError(`context "${contextName}" is not in the kubeconfig; known contexts: ${known.join(', ') || '(none)'}`);
  }
  kc.setCurrentContext(contextName);
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new PreflightError(`context "${contextName}" names no cluster with a server URL; fix the kubeconfig`);

  const build = async (): Promise<KubeAccess> => {
    const o: Record<string, unknown> & { headers?: Record<string, string> } = {};
    try {
      await kc.applyToHTTPSOptions(o as never);
    } catch (e) {
      throw new PreflightError(`cannot get credentials for context "${contextName}": ${(e as Error).message.split('\n')[0]}`);
    }
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (typeof o['auth'] === 'string') headers['authorization'] = `Basic ${Buffer.from(o['auth']).toString('base64')}`;
    return {
      contextName,
      ...(context.user ? { userName: context.user } : {}),
      server: cluster.server.replace(/\/+$/, ''),
      tls: {
        ca: o['ca'] as Buffer | undefined,
        cert: o['cert'] as Buffer | undefined,
        key: o['key'] as Buffer | undefined,
        ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
        ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
      },
      headers,
      refresh: build,
    };
  };
  return build();
}
