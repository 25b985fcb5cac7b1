import { loadEnvConfig } from '@bitpin/config';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  GENERATE_ANNOTATION,
  GeneratedSecret,
  PlatformChart,
  PlatformNamespace,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  standardLabels,
  toResourceRequirements,
} from '../src/index.js';

describe('shared constructs', () => {
  it('refuses a namespace below restricted without the reason written next to it', () => {
    const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('prod') });
    expect(() => new PlatformNamespace(chart, 'Ns', { name: 'monitoring', podSecurity: 'privileged' })).toThrow(
      "PlatformNamespace monitoring: Pod Security 'privileged' needs a podSecurityReason (why restricted cannot hold)",
    );
  });

  it('stamps platform labels on every object and keeps names unhashed', () => {
    // GIVEN
    const env = loadEnvConfig('prod');
    const chart = new PlatformChart(Testing.app(), 'Test', { env });
    // WHEN
    new PlatformNamespace(chart, 'Ns', { name: 'bitpin-task' });
    const [ns] = Testing.synth(chart);
    // THEN
    expect(ns.metadata.name).toBe('bitpin-task');
    expect(ns.metadata.labels).toMatchObject({
      'app.kubernetes.io/part-of': 'bitpin-platform',
      'app.kubernetes.io/managed-by': 'bitpin-deployer',
      'bitpin.io/env': 'prod',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });

  it('namespaces below restricted carry their reason', () => {
    const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('dev') });
    new PlatformNamespace(chart, 'Ns', { name: 'monitoring', podSecurity: 'privileged', podSecurityReason: 'node-exporter reads the host' });
    const [ns] = Testing.synth(chart);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns.metadata.annotations['bitpin.io/pod-security-reason']).toBe('node-exporter reads the host');
  });

  it('secure defaults: non-root, read-only root, no escalation, all capabilities dropped', () => {
    expect(restrictedContainerSecurity()).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(restrictedContainerSecurity({ runAsUser: 10001 })).toMatchObject({ runAsUser: 10001, runAsGroup: 10001 });
    expect(restrictedPodSecurity({ fsGroup: 26 })).toMatchObject({ runAsNonRoot: true, fsGroup: 26, fsGroupChangePolicy: 'OnRootMismatch' });
  });

  it('maps env resources without inventing a CPU limit', () => {
    const r = toResourceRequirements({ requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(r.requests?.['cpu']?.value).toBe('250m');
    expect(r.requests?.['memory']?.value).toBe('256Mi');
    expect(Object.keys(r.limits ?? {})).toEqual(['memory']);
    expect(r.limits?.['memory']?.value).toBe('512Mi');
  });

  it('standard labels carry the recommended keys', () => {
    expect(standardLabels({ name: 'dev' }, { name: 'loki', component: 'logging', extra: { app: 'loki' } })).toEqual({
      'app.kubernetes.io/name': 'loki',
      'app.kubernetes.io/instance': 'loki',
      'app.kubernetes.io/component': 'logging',
      'app.kubernetes.io/part-of': 'bitpin-platform',
      'app.kubernetes.io/managed-by': 'bitpin-deployer',
      'bitpin.io/env': 'dev',
      app: 'loki',
    });
  });
});

describe('GeneratedSecret', () => {
  it('renders only the recipe, never a value', () => {
    const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('dev') });
    new GeneratedSecret(chart, 'Admin', {
      name: 'grafana-admin',
      namespace: 'monitoring',
      keys: { 'admin-user': { literal: 'admin' }, 'admin-password': { randomBytes: 24 } },
    });
    const [secret] = Testing.synth(chart);
    expect(secret).toMatchObject({ kind: 'Secret', type: 'Opaque', metadata: { name: 'grafana-admin', namespace: 'monitoring' } });
    expect(secret.data).toBeUndefined();
    expect(secret.stringData).toBeUndefined();
    expect(JSON.parse(secret.metadata.annotations[GENERATE_ANNOTATION])).toEqual({ 'admin-user': 'literal:admin', 'admin-password': 'random:24' });
  });

  it('fails on too few random bytes', () => {
    const chart = new PlatformChart(Testing.app(), 'Test', { env: loadEnvConfig('dev') });
    expect(() => new GeneratedSecret(chart, 'X', { name: 'x', namespace: 'y', keys: { p: { randomBytes: 8 } } })).toThrowError(
      "GeneratedSecret x: key 'p' randomBytes (8) must be an integer from 16 to 256",
    );
  });
});
