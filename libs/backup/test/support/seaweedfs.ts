/**
 * A real S3-compatible object store for the off-site tests: SeaweedFS (Apache-2.0) `weed mini`
 * (master, volume server, filer and S3 gateway in one process), built from its Go module by
 * `nx run backup:build-seaweedfs` (scripts/dev/build-seaweedfs.sh) into
 * ${BITPIN_CACHE:-~/.cache/bitpin}/seaweedfs/<version>/bin/weed. It listens on 127.0.0.1 only, on
 * random ports, with its data in a temp directory; stop() and start() again keep the data (an
 * object store that is down for a while).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, requireServer, startProcess, waitFor, type Proc, type ServerSuite } from '@bitpin/test-support';

const BUILD = fileURLToPath(new URL('../../scripts/dev/build-seaweedfs.sh', import.meta.url));

/** Path of the cached `weed` binary (built or not). */
export const WEED_BIN: string = process.env['BITPIN_WEED_BIN'] ?? execFileSync('bash', [BUILD, '--print-bin'], { encoding: 'utf8' }).trim();

/** `describe` for suites that need SeaweedFS (fails under CI when it is missing, skipped elsewhere). */
export function describeWithSeaweedfs(): ServerSuite {
  return requireServer(`SeaweedFS weed (${WEED_BIN})`, existsSync(WEED_BIN), 'run npx nx run backup:build-seaweedfs (builds it from its Go module)');
}

export class SeaweedS3 {
  private proc: Proc | undefined;
  private constructor(
    readonly dir: string,
    private readonly ports: Record<string, number>,
    readonly accessKey: string,
    readonly secretKey: string,
  ) {}

  /** A new store with its own data directory and credentials. */
  static async start(): Promise<SeaweedS3> {
    const names = ['master', 'masterGrpc', 'volume', 'volumeGrpc', 'filer', 'filerGrpc', 's3', 's3Grpc', 'iceberg', 'lance', 'admin', 'adminGrpc', 'debug'];
    const list = await freePorts(names.length);
    const ports = Object.fromEntries(names.map((n, i) => [n, list[i]!]));
    const s = new SeaweedS3(mkdtempSync(join(tmpdir(), 'bitpin-seaweedfs-')), ports, 'bitpin-test-access', `secret-${Math.random().toString(36).slice(2)}`);
    await s.start();
    return s;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.ports['s3']}`;
  }

  /** Starts the process (again) on the same ports and data; resolves once S3 answers. */
  async start(): Promise<void> {
    const p = this.ports;
    this.proc = startProcess(
      WEED_BIN,
      [
        'mini',
        `-dir=${this.dir}`,
        '-ip=127.0.0.1',
        '-ip.bind=127.0.0.1',
        `-master.port=${p['master']}`,
        `-master.port.grpc=${p['masterGrpc']}`,
        `-volume.port=${p['volume']}`,
        `-volume.port.grpc=${p['volumeGrpc']}`,
        `-filer.port=${p['filer']}`,
        `-filer.port.grpc=${p['filerGrpc']}`,
        `-s3.port=${p['s3']}`,
        `-s3.port.grpc=${p['s3Grpc']}`,
        `-s3.port.iceberg=${p['iceberg']}`,
        `-s3.port.lance=${p['lance']}`,
        `-admin.port=${p['admin']}`,
        `-admin.port.grpc=${p['adminGrpc']}`,
        `-debug.port=${p['debug']}`,
        '-webdav=false',
        '-admin.ui=false',
        '-master.telemetry=false',
      ],
      { name: 'weed mini', env: { AWS_ACCESS_KEY_ID: this.accessKey, AWS_SECRET_ACCESS_KEY: this.secretKey }, cwd: this.dir },
    );
    const proc = this.proc;
    await waitFor(
      `SeaweedFS S3 on ${this.endpoint}`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`weed mini exited ${proc.child.exitCode}: ${proc.output().slice(-2000)}`);
        // Any S3 answer (403 without a signature) means the gateway and the filer behind it are up.
        const r = await fetch(`${this.endpoint}/`, { signal: AbortSignal.timeout(2_000) });
        return r.status > 0;
      },
      90_000,
      300,
    );
  }

  /** The store's output so far (for failure messages). */
  output(): string {
    return this.proc?.output() ?? '';
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
