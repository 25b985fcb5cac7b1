import { ConfigError, ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { checkPolicies } from '@bitpin/k8s';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '@bitpin/kube-client';
import { allowedMutableImages, assertPolicies, run, synthesize, type Io } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'deployer-synth-'));
/** One file per library the deployer composes. */
const PLATFORM_FILES = ['app.yaml', 'backup.yaml', 'database.yaml', 'logging.yaml', 'monitoring.yaml'];
/** The files of an env: the cache's only where it runs one (cache.enabled: dev, staging, prod). */
const filesOf = (env: string) => (loadEnvConfig(env).cache.enabled ? [...PLATFORM_FILES, 'cache.yaml'].sort() : PLATFORM_FILES);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
}

describe.each(ENV_NAMES)('synth --env=%s', (env) => {
  it('writes one YAML file per library, byte-identical on a second run', async () => {
    const out = join(work, `det-${env}`);
    const io = capture();
    expect(await run(['synth', `--env=${env}`, '--out', out], io)).toBe(0);
    const first = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    expect(Object.keys(first).sort()).toEqual(filesOf(env));
    expect(await run(['synth', `--env=${env}`, '--out', out], capture())).toBe(0);
    const second = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    expect(second).toEqual(first);
    expect(JSON.stringify(first)).not.toMatch(/creationTimestamp/);
    expect(JSON.stringify(first)).not.toContain(new Date().toISOString().slice(0, 10)); // no build date
    expect(io.out[0]).toMatch(new RegExp(`^synth ${env}: \\d+ objects in ${filesOf(env).length} files → `));
  });

  it('every object passes the policy check (libs/k8s/src/policy.ts) with zero violations', () => {
    const result = synthesize(env);
    expect(checkPolicies(result.objects, { allowMutableImages: allowedMutableImages(result.env) }).map((v) => v.line)).toEqual([]);
  });

  it('every document parses back to the synthesized object, in apply order', () => {
    const result = synthesize(env);
    for (const file of result.files) {
      const docs = parseAllDocuments(file.yaml).map((d) => d.toJS());
      expect(docs).toEqual(JSON.parse(JSON.stringify(file.objects)));
      // kubectl reads YAML 1.1, where a bare `on` is a boolean: nothing may change type for it.
      const asKubectlReads = parseAllDocuments(file.yaml, { version: '1.1' }).map((d) => d.toJS());
      expect(asKubectlReads).toEqual(JSON.parse(JSON.stringify(file.objects)));
    }
    const kinds = result.objects.map((o) => o.kind);
    expect(kinds[0]).toBe('Namespace');
    expect(kinds.indexOf('Service')).toBeLessThan(kinds.indexOf('Deployment'));
  });

  it('every object carries the env and platform labels', () => {
    for (const o of synthesize(env).objects) {
      expect(o.metadata.labels).toMatchObject({ 'bitpin.io/env': env, 'app.kubernetes.io/managed-by': 'bitpin-deployer' });
    }
  });
});

describe('synth output', () => {
  it('--output json prints one machine-readable summary', async () => {
    const io = capture();
    expect(await run(['synth', '--env=prod', '--out', join(work, 'json'), '--output', 'json'], io)).toBe(0);
    expect(io.out).toHaveLength(1);
    const summary = JSON.parse(io.out[0]!);
    expect(summary).toMatchObject({ command: 'synth', env: 'prod' });
    expect(summary.files.map((f: any) => f.name).sort()).toEqual(filesOf('prod'));
    // bitpin-app, the Redis cache bitpin-redis and the WAL receiver bitpin-wal-receiver;
    // bitpin-app-svc and bitpin-redis (the receiver has no Service: Prometheus finds its pod).
    expect(summary.byNamespace['bitpin-task']).toMatchObject({ Deployment: 3, Service: 2, Cluster: 1 });
    expect(summary.warnings).toEqual([expect.stringMatching(/^images\.app .* is not pinned \(allowed in prod: /)]);
  });

  it('--image pins the app image by digest, and the warning goes away', async () => {
    const digest = `docker.io/yasaman664/bitpin-task@sha256:${'b'.repeat(64)}`;
    const out = join(work, 'pinned');
    const io = capture();
    expect(await run(['synth', '--env=prod', '--out', out, '--image', `app=${digest}`], io)).toBe(0);
    expect(io.err).toEqual([]);
    expect(readFileSync(join(out, 'app.yaml'), 'utf8')).toContain(`image: ${digest}`);
  });
});

describe('bad input: one line, exit code 2, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown env', ['synth', '--env=prd'], /^error: unknown env "prd"; known envs: local, dev, staging, prod/],
    ['a missing env', ['synth'], /^error: --env is required; known envs: local, dev, staging, prod$/],
    ['an unknown command', ['deploy', '--env=dev'], /^error: unknown command "deploy"; expected one of: synth, diff, apply, status, history, rollback, destroy, graph, export$/],
    ['an unknown flag', ['synth', '--env=dev', '--force'], /^error: Unknown option '--force'; run with --help for usage$/],
    ['a bad output format', ['synth', '--env=dev', '--output', 'yaml'], /^error: --output "yaml" is not supported; use text or json$/],
    ['an unknown image key', ['synth', '--env=dev', '--image', 'django=x:1'], /^error: --image "django=x:1": unknown image key "django"; known keys: app, /],
    ['a malformed image ref', ['synth', '--env=dev', '--image', 'app=Not A Ref'], /^error: config error: env "dev" at images\.app: must be an image reference .*; fix libs\/config\/src\/envs\/dev\.ts or --image$/],
    ['a mutable image in prod', ['synth', '--env=prod', '--image', 'grafana=grafana/grafana:latest'], /^error: config error: env "prod" at images\.grafana: "grafana\/grafana:latest" is a mutable tag; /],
  ];
  it.each(cases)('fails on %s', async (_name, argv, expected) => {
    const out = join(work, `bad-${_name.replace(/\W+/g, '-')}`);
    const io = capture();
    expect(await run([...argv, '--out', out], io)).toBe(2);
    expect(io.err).toHaveLength(1);
    expect(io.err[0]).toMatch(expected);
    expect(io.out).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it('fails without touching an existing output directory', async () => {
    const out = join(work, 'keep');
    mkdirSync(out);
    writeFileSync(join(out, 'app.yaml'), 'previous');
    expect(await run(['synth', '--env=dev', '--out', out, '--image', 'app=BAD REF'], capture())).toBe(2);
    expect(readdirSync(out)).toEqual(['app.yaml']);
    expect(readFileSync(join(out, 'app.yaml'), 'utf8')).toBe('previous');
    expect(readdirSync(work).filter((f) => f.startsWith('keep.'))).toEqual([]);
  });

  it('replaces a previous output completely (no stale files left behind)', async () => {
    const out = join(work, 'replace');
    mkdirSync(out);
    writeFileSync(join(out, 'removed-library.yaml'), 'stale');
    expect(await run(['synth', '--env=dev', '--out', out], capture())).toBe(0);
    expect(readdirSync(out).sort()).toEqual(filesOf('dev'));
  });
});

describe('synth policy check', () => {
  const badPod = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bad', namespace: 'bitpin-task' },
    spec: { template: { spec: { containers: [{ name: 'bad', image: 'docker.io/example/bad:latest', securityContext: { runAsNonRoot: true } }] } } },
  } as unknown as KubeObject;

  it('only the images the env lets float may float', () => {
    const prod = loadEnvConfig('prod');
    expect(allowedMutableImages(prod)).toEqual([prod.images.app]);
    const local = loadEnvConfig('local');
    expect(allowedMutableImages(local)).toContain(local.images.grafana);
  });

  it('fails with a ConfigError holding one line per violation', () => {
    const env = loadEnvConfig('prod');
    let error: unknown;
    try {
      assertPolicies(env, [...synthesize('prod').objects, badPod]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).lines;
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    expect(lines).toEqual(checkPolicies([badPod], { allowMutableImages: allowedMutableImages(env) }).map((v) => v.line));
    expect(lines).toContain('Deployment/bitpin-task/bad container bad: no memory limit (rule requests-limits)');
    expect(lines).toContain('Deployment/bitpin-task/bad container bad: image "docker.io/example/bad:latest" is not pinned (use a version tag or @sha256 digest) (rule pinned-image)');
    // cpu and memory request, memory limit, escalation, read-only root, image, readiness, liveness, capabilities
    expect(lines).toHaveLength(9);
  });
});
