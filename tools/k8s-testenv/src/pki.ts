import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Files of the local PKI, all under `<state>/pki`. */
export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** kube-apiserver serving cert (SANs 127.0.0.1, localhost, kubernetes.default…). */
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  /** Service-account token signing key pair. */
  readonly saKey: string;
  readonly saPub: string;
  /** Client certs: admin (O=system:masters), controller-manager, scheduler. */
  readonly clients: Record<ClientName, { cert: string; key: string }>;
}

export type ClientName = 'admin' | 'controller-manager' | 'scheduler';

const CLIENT_SUBJECTS: Record<ClientName, string> = {
  admin: '/O=system:masters/CN=bitpin-local-admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
};

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`, { cause: err });
  }
}

/** The PKI file paths under `dir` (nothing is created). */
export function pkiPaths(dir: string): Pki {
  const c = (n: string): { cert: string; key: string } => ({ cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) });
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    clients: { admin: c('admin'), 'controller-manager': c('controller-manager'), scheduler: c('scheduler') },
  };
}

function allFiles(p: Pki): string[] {
  return [
    p.caCert,
    p.caKey,
    p.apiserverCert,
    p.apiserverKey,
    p.saKey,
    p.saPub,
    ...Object.values(p.clients).flatMap((c) => [c.cert, c.key]),
  ];
}

/** Signs `<name>.crt` for a fresh P-256 key with the CA. */
function issue(p: Pki, name: string, subject: string, extensions: string): void {
  const key = join(p.dir, `${name}.key`);
  const csr = join(p.dir, `${name}.csr`);
  const ext = join(p.dir, `${name}.ext`);
  openssl(['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', key, '-out', csr, '-subj', subject]);
  writeFileSync(ext, extensions);
  openssl([
    'x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial', '-CAserial', join(p.dir, 'ca.srl'),
    '-days', '3650', '-sha256', '-out', join(p.dir, `${name}.crt`), '-extfile', ext,
  ]);
}

/**
 * Creates (once) a CA, the apiserver serving cert, client certs and the service-account key pair
 * under `dir`. Existing complete PKI is reused so kubeconfigs handed out earlier stay valid.
 */
export function ensurePki(dir: string): Pki {
  const p = pkiPaths(dir);
  if (allFiles(p).every((f) => existsSync(f))) return p;
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  openssl([
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', p.caKey, '-out', p.caCert, '-days', '3650', '-sha256', '-subj', '/CN=bitpin-local-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);

  issue(
    p,
    'apiserver',
    '/CN=kube-apiserver',
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  for (const [name, subject] of Object.entries(CLIENT_SUBJECTS)) {
    issue(
      p,
      name,
      subject,
      ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth', ''].join(
        '\n',
      ),
    );
  }

  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(p.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(p.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  return p;
}
