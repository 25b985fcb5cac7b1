import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run, type Io } from '../src/index.js';

/*
 * The CLI end of the policy check: a library that synthesizes a violating object makes
 * `synth` exit 2 with one `error:` line per violation and write nothing. The platform is the
 * real one plus one extra part holding a bad Deployment (vi.mock is per file, hence this file).
 */
const BAD = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'bad', namespace: 'bitpin-task' },
  spec: {
    selector: { matchLabels: { app: 'bad' } },
    template: {
      metadata: { labels: { app: 'bad' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'quay.io/example/web:1.0.0',
            resources: { requests: { cpu: '10m', memory: '16Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
            readinessProbe: { tcpSocket: { port: 80 } },
          },
        ],
      },
    },
  },
};

vi.mock('../src/platform.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/platform.js')>();
  return {
    ...real,
    buildPlatform: (env: Parameters<typeof real.buildPlatform>[0]) => {
      const platform = real.buildPlatform(env);
      return { ...platform, parts: [...platform.parts, { file: 'bad', chart: { toJson: () => [structuredClone(BAD)] } }] };
    },
  };
});

const work = mkdtempSync(join(tmpdir(), 'deployer-synth-policy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('synth with a violating object', () => {
  it('fails with exit 2, one error line per violation, and writes nothing', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
    const dir = join(work, 'out');
    expect(await run(['synth', '--env=prod', '--out', dir], io)).toBe(2);
    expect(err).toEqual([
      'error: Deployment/bitpin-task/bad container web: no memory limit (rule requests-limits)',
      'error: Deployment/bitpin-task/bad container web: no liveness probe (rule probes)',
    ]);
    expect(out).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
