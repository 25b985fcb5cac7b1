import { loadEnvConfig } from '@bitpin/config';
import type { KubeObject } from '@bitpin/kube-client';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTECTED_KINDS } from '../src/engine/index.js';
import { buildExportTree, KEPT_KINDS, type ExportFormat } from '../src/export.js';
import { withMembership, withPart } from '../src/inventory.js';
import { objectRef, sortForApply } from '../src/manifest.js';
import { buildPlatform } from '../src/platform.js';
import { synthesize } from '../src/synth.js';
import { waveOf } from '../src/waves.js';
import { byRef, deployer, kustomize, readTree, REPO, withoutAnnotations } from './support/export.js';

const ADDED = ['argocd.argoproj.io/sync-wave', 'argocd.argoproj.io/sync-options', 'kustomize.toolkit.fluxcd.io/prune'];
const GENERATE = 'deploy.bitpin.io/generate';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'deployer-export-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const exportArgs = (env: string, format: ExportFormat, out: string, ...more: string[]) => [
  'export',
  `--env=${env}`,
  `--format=${format}`,
  '--out',
  out,
  '--repo-url',
  REPO,
  '--branch',
  'release',
  '--path',
  `envs/${env}`,
  ...more,
];

/** The set `synth` renders for an env, by ref. */
const synthCache = new Map<string, readonly KubeObject[]>();
function synthSet(env: string): readonly KubeObject[] {
  if (!synthCache.has(env)) synthCache.set(env, synthesize(env).objects);
  return synthCache.get(env)!;
}

describe('export: kubectl kustomize yields exactly what synth yields', () => {
  for (const format of ['argocd', 'flux'] as const) {
    it(`${format}: prod with --secrets=omit — every synthesized object but the Secrets, field for field`, async () => {
      // GIVEN prod's synthesized set (it has generated Secrets)
      const synth = synthSet('prod');
      const secrets = synth.filter((o) => o.kind === 'Secret');
      expect(secrets.length).toBeGreaterThan(0);
      // WHEN it is exported and the tree rendered by kubectl's kustomize
      const out = join(work, `prod-${format}`);
      const r = await deployer(...exportArgs('prod', format, out, '--secrets=omit', '--output', 'json'));
      expect(r.code, r.err.join('\n')).toBe(0);
      const rendered = await kustomize(out);
      // THEN the rendered objects are the synthesized ones (Secrets aside), once each, with only the export's annotations added
      const want = byRef(synth.filter((o) => o.kind !== 'Secret'));
      const got = byRef(rendered);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [ref, o] of got) expect(withoutAnnotations(o, ADDED), ref).toEqual(withoutAnnotations(want.get(ref)!, ADDED));
      // …and the JSON report says what was left out, by name and key only
      const report = JSON.parse(r.out.at(-1)!);
      expect(report).toMatchObject({ command: 'export', ok: true, env: 'prod', format, objects: want.size });
      expect(report.omittedSecrets.map((s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`).sort()).toEqual(
        secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort(),
      );
    });
  }

  it('argocd: with features.externalSecrets on, the whole set — ExternalSecrets in, no Secret left out', async () => {
    // GIVEN prod with ExternalSecrets on, synthesized as synth does (every library, membership and part labels)
    const env = loadEnvConfig('prod', { overrides: { features: { externalSecrets: { enabled: true, secretStore: 'vault' } } } });
    const objects = sortForApply(buildPlatform(env).parts.flatMap((p) => (p.chart.toJson() as KubeObject[]).map((o) => withMembership(withPart(o, p.file), env.name))));
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(objects.filter((o) => o.kind === 'ExternalSecret').length).toBeGreaterThan(0);
    // WHEN the tree is built (no --secrets=omit: none is needed) and rendered
    const tree = buildExportTree(env, objects, { format: 'argocd', source: { repoUrl: REPO, branch: 'main', path: '.' } });
    const out = join(work, 'prod-es');
    for (const [f, text] of tree.files) {
      mkdirSync(join(out, f, '..'), { recursive: true });
      writeFileSync(join(out, f), text);
    }
    // THEN kustomize yields every object, nothing omitted
    expect(tree.omittedSecrets).toEqual([]);
    const got = byRef(await kustomize(out));
    const want = byRef(objects);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [ref, o] of got) expect(withoutAnnotations(o, ADDED), ref).toEqual(withoutAnnotations(want.get(ref)!, ADDED));
    expect(tree.files.get('README.md')).not.toContain('Secrets to create out of band');
  });

  it('local: the dev-sized set (no Secret left once omitted), both formats render the same objects', async () => {
    const a = join(work, 'local-argocd');
    const f = join(work, 'local-flux');
    expect((await deployer(...exportArgs('local', 'argocd', a, '--secrets=omit'))).code).toBe(0);
    expect((await deployer(...exportArgs('local', 'flux', f, '--secrets=omit'))).code).toBe(0);
    const strip = (objs: KubeObject[]) => [...byRef(objs.map((o) => withoutAnnotations(o, ADDED)))].sort(([x], [y]) => (x < y ? -1 : 1));
    const argo = strip(await kustomize(a));
    expect(argo).toEqual(strip(await kustomize(f)));
    expect(argo.map(([ref]) => ref).sort()).toEqual(synthSet('local').filter((o) => o.kind !== 'Secret').map(objectRef).sort());
  });
});

describe('export: waves, pruning and sync options', () => {
  it('argocd: every object carries its deployer wave; kept kinds are protected from prune; the Application syncs automatically with SSA', async () => {
    const out = join(work, 'prod-argocd');
    if (!existsSync(out)) expect((await deployer(...exportArgs('prod', 'argocd', out, '--secrets=omit'))).code).toBe(0);
    for (const o of await kustomize(out)) {
      const a = o.metadata.annotations ?? {};
      expect(a['argocd.argoproj.io/sync-wave'], objectRef(o)).toBe(String(waveOf(o)));
      expect(a['argocd.argoproj.io/sync-options'], objectRef(o)).toBe(KEPT_KINDS.has(o.kind) ? 'Prune=false' : undefined);
      expect(a['kustomize.toolkit.fluxcd.io/prune']).toBeUndefined();
    }
    const [app, ...rest] = parseAllDocuments(readFileSync(join(out, 'argocd/application.yaml'), 'utf8')).map((d) => d.toJS());
    expect(rest).toEqual([]);
    expect(app).toMatchObject({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'bitpin-prod', namespace: 'argocd' },
      spec: {
        source: { repoURL: REPO, targetRevision: 'release', path: 'envs/prod' },
        destination: { server: 'https://kubernetes.default.svc' },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
      },
    });
    expect(app.spec.syncPolicy.syncOptions).toEqual(expect.arrayContaining(['ServerSideApply=true', 'PruneLast=true']));
    // The set carries its namespaces (wave 0), so Argo CD need not create them.
    expect(app.spec.syncPolicy.syncOptions).not.toContain('CreateNamespace=true');
  });

  it('self-heal never fights an autoscaler: no env sets spec.replicas on a workload an HPA scales', () => {
    for (const env of ['local', 'dev', 'staging', 'prod']) {
      const set = byRef(synthSet(env));
      for (const hpa of synthSet(env).filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
        const target = set.get(`${hpa.spec.scaleTargetRef.kind}/${hpa.metadata.namespace}/${hpa.spec.scaleTargetRef.name}`);
        expect(target, `${env}: ${objectRef(hpa)}'s target`).toBeDefined();
        expect(target!.spec.replicas, `${env}: ${objectRef(target!)}`).toBeUndefined();
      }
    }
  });

  it('flux: one Kustomization per wave, each depending on the one before, pruning and waiting; kept kinds marked prune: disabled', async () => {
    const out = join(work, 'prod-flux');
    if (!existsSync(out)) expect((await deployer(...exportArgs('prod', 'flux', out, '--secrets=omit'))).code).toBe(0);
    const ks = parseAllDocuments(readFileSync(join(out, 'flux/kustomizations.yaml'), 'utf8')).map((d) => d.toJS());
    const [repo] = parseAllDocuments(readFileSync(join(out, 'flux/gitrepository.yaml'), 'utf8')).map((d) => d.toJS());
    expect(repo).toMatchObject({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'bitpin-prod', namespace: 'flux-system' }, spec: { url: REPO, ref: { branch: 'release' } } });
    const waveDirs = ['waves/0-namespaces', 'waves/1-policy-config-services', 'waves/2-workloads', 'waves/3-autoscalers-ingresses'];
    expect(ks.map((k) => k.spec.path)).toEqual(waveDirs.map((d) => `./envs/prod/${d}`));
    ks.forEach((k, i) => {
      expect(k).toMatchObject({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { namespace: 'flux-system' }, spec: { prune: true, wait: true, sourceRef: { kind: 'GitRepository', name: 'bitpin-prod' } } });
      expect(k.spec.dependsOn).toEqual(i === 0 ? undefined : [{ name: ks[i - 1].metadata.name }]);
    });
    // Each wave directory renders that wave's objects, and only them.
    for (const [wave, d] of waveDirs.entries()) {
      for (const o of await kustomize(join(out, d))) {
        expect(waveOf(o), objectRef(o)).toBe(wave);
        expect(o.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune'], objectRef(o)).toBe(KEPT_KINDS.has(o.kind) ? 'disabled' : undefined);
        expect(o.metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBeUndefined();
      }
    }
  });

  it('the kinds an export protects from prune are the ones the deployer never prunes implicitly', () => {
    expect([...KEPT_KINDS].sort()).toEqual([...PROTECTED_KINDS].sort());
  });

  it('is deterministic: exporting again gives the same files, byte for byte, and replaces an earlier export whole', async () => {
    const out = join(work, 'again');
    expect((await deployer(...exportArgs('staging', 'flux', out, '--secrets=omit'))).code).toBe(0);
    const first = readTree(out);
    writeFileSync(join(out, 'waves/2-workloads/stale.yaml'), 'kind: ConfigMap\n');
    expect((await deployer(...exportArgs('staging', 'flux', out, '--secrets=omit'))).code).toBe(0);
    expect(readTree(out)).toEqual(first);
    // one file per object, with a stable name
    expect([...first.keys()]).toContain('waves/2-workloads/bitpin-task_deployment_bitpin-app.yaml');
  });
});

describe('export: Secrets never leave in plain text', () => {
  it('fails without --secrets=omit when the env has generated Secrets: exit 2, one line naming them and both ways out, nothing written', async () => {
    const out = join(work, 'refused');
    const r = await deployer(...exportArgs('prod', 'argocd', out));
    expect(r.code).toBe(2);
    const errors = r.err.filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    const secrets = synthSet('prod').filter((o) => o.kind === 'Secret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(secrets).toEqual(expect.arrayContaining(['logging/grafana-admin', 'monitoring/grafana-admin']));
    expect(errors[0]).toBe(
      `error: export prod: ${secrets.length} Secrets would leave in the export (${secrets.join(', ')}); turn on features.externalSecrets in libs/config/src/envs/prod.ts ` +
        "(ExternalSecrets are exported instead), or pass --secrets=omit to leave them out and create them out of band (the export's README.md names each)",
    );
    expect(existsSync(out)).toBe(false);
    // With --output json, CI gets the refusal as a document too.
    const json = await deployer(...exportArgs('prod', 'argocd', out, '--output', 'json'));
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out.at(-1)!)).toEqual({ command: 'export', ok: false, exitCode: 2, errors: [errors[0]!.slice('error: '.length)], requests: 0 });
  });

  it('with --secrets=omit: no Secret object, recipe or value anywhere in the export; the README names each Secret and its keys', async () => {
    let literals = 0;
    for (const env of ['dev', 'prod']) {
      const out = join(work, `omit-${env}`);
      expect((await deployer(...exportArgs(env, 'argocd', out, '--secrets=omit'))).code).toBe(0);
      const files = readTree(out);
      const all = [...files.values()].join('\n');
      expect(all).not.toMatch(/^kind: Secret$/m);
      expect(all).not.toContain(GENERATE);
      // Every value the deployer would generate from a fixed recipe (dev: Alertmanager's placeholder
      // receivers; the random ones are made at apply time, in the cluster). Short ones ('admin') are
      // also words of object names, so only those of 12 characters or more are looked for.
      for (const s of synthSet(env).filter((o) => o.kind === 'Secret')) {
        const recipe = JSON.parse(s.metadata.annotations![GENERATE]!) as Record<string, string>;
        for (const how of Object.values(recipe)) {
          if (!how.startsWith('literal:') || how.length < 'literal:'.length + 12) continue;
          literals++;
          expect(all, `${env}: ${objectRef(s)}`).not.toContain(how.slice('literal:'.length));
        }
      }
      const readme = files.get('README.md')!;
      expect(readme).toContain('## Secrets to create out of band');
      expect(readme).toContain('| monitoring | grafana-admin | Opaque | admin-password | random: 24 bytes, base64url |');
      expect(readme).toContain('kubectl --namespace logging create secret generic grafana-admin --from-literal=admin-password="$ADMIN_PASSWORD" --from-literal=admin-user="$ADMIN_USER"');
    }
    expect(literals).toBeGreaterThan(0);
  });

  it('a Secret holding values (data, stringData) is left out: neither value, nor its base64, appears in any file', () => {
    const env = loadEnvConfig('dev');
    const plain = 'tr0ub4dor-and-3-horses-battery';
    const other = 'correct-horse-staple-9f3e2a';
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'hand-made', namespace: 'bitpin-task' },
      type: 'Opaque',
      data: { password: Buffer.from(plain).toString('base64') },
      stringData: { token: other },
    };
    const objects = [...synthSet('dev'), secret];
    expect(() => buildExportTree(env, objects, { format: 'flux', source: { repoUrl: REPO, branch: 'main', path: 'dev' } })).toThrow(/bitpin-task\/hand-made/);
    const tree = buildExportTree(env, objects, { format: 'flux', source: { repoUrl: REPO, branch: 'main', path: 'dev' }, secrets: 'omit' });
    const all = [...tree.files.values()].join('\n');
    for (const v of [plain, Buffer.from(plain).toString('base64'), other, Buffer.from(other).toString('base64')]) expect(all).not.toContain(v);
    expect(tree.files.get('README.md')).toMatch(/\| bitpin-task \| hand-made \| Opaque \| password \| the value in the synthesized set \|/);
    expect(tree.files.get('README.md')).toMatch(/\| bitpin-task \| hand-made \| Opaque \| token \|/);
  });
});

describe('export: bad input, one line each (exit 2, nothing written)', () => {
  const cases: [string, string[], RegExp][] = [
    ['no --format', ['export', '--env=dev', '--repo-url', REPO, '--path', 'x'], /^error: --format is required for export; use argocd or flux$/],
    ['an unknown --format', ['export', '--env=dev', '--format=helm', '--repo-url', REPO, '--path', 'x'], /^error: --format "helm" is not an export format; use argocd or flux$/],
    ['no --repo-url', ['export', '--env=dev', '--format=flux', '--path', 'x'], /^error: --repo-url is required for export/],
    ['a URL that is not Git', ['export', '--env=dev', '--format=argocd', '--repo-url', 'deploy-repo', '--path', 'x'], /^error: --repo-url "deploy-repo" is not a Git URL; use https:\/\//],
    ['an scp-like URL for Flux', ['export', '--env=dev', '--format=flux', '--repo-url', 'git@git.example.com:bitpin/deploy.git', '--path', 'x'], /use ssh:\/\/git@git\.example\.com\/bitpin\/deploy\.git$/],
    ['no --path', ['export', '--env=dev', '--format=flux', '--repo-url', REPO], /^error: --path is required for export/],
    ['a --path outside the repository', ['export', '--env=dev', '--format=flux', '--repo-url', REPO, '--path', '../up'], /^error: --path "\.\.\/up" must be relative to the repository's root/],
    ['a bad --branch', ['export', '--env=dev', '--format=flux', '--repo-url', REPO, '--path', 'x', '--branch', 'a..b'], /^error: --branch "a\.\.b" is not a valid branch name$/],
    ['an unknown --secrets', ['export', '--env=dev', '--format=flux', '--repo-url', REPO, '--path', 'x', '--secrets', 'inline'], /^error: --secrets "inline" is not supported; use omit/],
    ['an unknown env', ['export', '--env=qa', '--format=flux', '--repo-url', REPO, '--path', 'x'], /^error: unknown env "qa"/],
    ['--from', ['export', '--env=dev', '--format=flux', '--repo-url', REPO, '--path', 'x', '--from', 'dist/manifests/dev'], /^error: --from does not apply to export/],
  ];
  for (const [what, argv, message] of cases) {
    it(`fails on ${what}`, async () => {
      const out = join(work, `bad-${what.replace(/\W+/g, '-')}`);
      const r = await deployer(...argv, '--out', out);
      expect(r.code).toBe(2);
      expect(r.err.filter((l) => l.startsWith('error:'))).toEqual([expect.stringMatching(message)]);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('the bundled CLI as a process (dist-cli, as a user runs it): the refusal exits 2, --secrets=omit writes the export', () => {
    // The bundle loads export.js from dist/: its errors come from another copy of the libraries than the CLI's.
    const bundle = join(import.meta.dirname, '..', 'dist-cli', 'deployer.mjs');
    const out = join(work, 'bundled');
    const refused = spawnSync(process.execPath, [bundle, ...exportArgs('prod', 'argocd', out)], { encoding: 'utf8', timeout: 120_000 });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/^error: export prod: \d+ Secrets would leave in the export \(.*monitoring\/grafana-admin/m);
    expect(existsSync(out)).toBe(false);
    const ok = spawnSync(process.execPath, [bundle, ...exportArgs('prod', 'argocd', out, '--secrets=omit', '--output', 'json')], { encoding: 'utf8', timeout: 120_000 });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.trim().split('\n').at(-1)!)).toMatchObject({ command: 'export', ok: true, env: 'prod', format: 'argocd' });
    expect(existsSync(join(out, 'argocd/application.yaml'))).toBe(true);
  });

  it('fails on an --out directory that holds something else, and leaves it as it was', async () => {
    const out = join(work, 'not-an-export');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = await deployer(...exportArgs('dev', 'argocd', out, '--secrets=omit'));
    expect(r.code).toBe(2);
    expect(r.err).toEqual([expect.stringMatching(/^error: --out .*not-an-export: the directory holds files that are not a deployer export and export replaces it whole; give a new or empty directory$/)]);
    expect(readTree(out)).toEqual(new Map([['notes.txt', 'mine']]));
  });
});
