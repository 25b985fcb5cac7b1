import { describe, expect, it } from 'vitest';
import {
  ANN_RELEASE,
  decodeSet,
  defaultRollbackTarget,
  encodeSet,
  imagesOf,
  LABEL_OUTCOME,
  releaseSecret,
  releaseSecretName,
  revisionsToTrim,
  type Outcome,
  type ReleaseInfo,
} from '../src/releases.js';

const rev = (revision: number, outcome: Outcome): ReleaseInfo => ({
  env: 'prod',
  revision,
  time: `2026-12-0${revision}T02:00:00.000Z`,
  outcome,
  user: 'ops',
  context: 'bitpin-prod',
  images: [],
  objects: 3,
  description: 'apply',
});

describe('release records', () => {
  it('stores the applied set gzip-compressed and reads it back exactly', () => {
    // GIVEN a set with a Secret in it (never printed, stored as data of a Secret)
    const set = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n' }, stringData: { password: 'p4ss' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { big: 'x'.repeat(100_000) } },
    ];
    // WHEN it is encoded into a release Secret
    const secret: any = releaseSecret({ ...rev(4, 'pending'), set });
    // THEN the name, type and labels follow Helm's pattern and the data is compressed
    expect(secret.metadata.name).toBe('bitpin-release.prod.v4');
    expect(secret.metadata.namespace).toBe('bitpin-deployer');
    expect(secret.type).toBe('bitpin.io/release.v1');
    expect(secret.metadata.labels[LABEL_OUTCOME]).toBe('pending');
    expect(JSON.parse(secret.metadata.annotations[ANN_RELEASE]).revision).toBe(4);
    expect(secret.metadata.annotations[ANN_RELEASE]).not.toContain('p4ss');
    expect(secret.data.release.length).toBeLessThan(2_000);
    expect(decodeSet(secret.data.release, 'x')).toEqual(set);
    expect(encodeSet(set)).toBe(secret.data.release);
  });

  it('fails to decode a damaged release with the name and what to do', () => {
    expect(() => decodeSet('bm90IGd6aXA=', releaseSecretName('prod', 7))).toThrow(
      /release bitpin-deployer\/bitpin-release\.prod\.v7 is unreadable .*; pick another revision with --to/,
    );
  });

  it('lists every image of pod templates, cron jobs and the database cluster once, sorted', () => {
    const set: any[] = [
      { kind: 'Deployment', metadata: { name: 'a' }, spec: { template: { spec: { initContainers: [{ image: 'i:1' }], containers: [{ image: 'b:2' }, { image: 'a:1' }] } } } },
      { kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'a:1' }] } } } } } },
      { kind: 'Cluster', metadata: { name: 'db' }, spec: { imageName: 'ghcr.io/cloudnative-pg/postgresql:15.3' } },
      { kind: 'ConfigMap', metadata: { name: 'x' }, data: {} },
    ];
    expect(imagesOf(set)).toEqual(['a:1', 'b:2', 'ghcr.io/cloudnative-pg/postgresql:15.3', 'i:1']);
  });
});

describe('rollback target', () => {
  it('after a good apply: the revision before it', () => {
    expect(defaultRollbackTarget([rev(3, 'deployed'), rev(2, 'superseded'), rev(1, 'superseded')])?.revision).toBe(2);
  });

  it('after a failed apply: the revision still running', () => {
    expect(defaultRollbackTarget([rev(3, 'failed'), rev(2, 'deployed'), rev(1, 'superseded')])?.revision).toBe(2);
  });

  it('skips revisions that never got ready', () => {
    expect(defaultRollbackTarget([rev(4, 'deployed'), rev(3, 'rolled-back'), rev(2, 'failed'), rev(1, 'superseded')])?.revision).toBe(1);
  });

  it('has none with a single revision', () => {
    expect(defaultRollbackTarget([rev(1, 'deployed')])).toBeUndefined();
  });
});

describe('history trimming', () => {
  it('keeps the newest revisions and never deletes the deployed one', () => {
    // GIVEN 5 revisions whose deployed one is the oldest (every later apply failed)
    const history = [rev(5, 'failed'), rev(4, 'failed'), rev(3, 'rolled-back'), rev(2, 'failed'), rev(1, 'deployed')];
    // WHEN 2 are kept
    const gone = revisionsToTrim(history, 2).map((r) => r.revision);
    // THEN the oldest failures go, the deployed one stays
    expect(gone).toEqual([3, 2]);
  });

  it('deletes nothing below the limit and always keeps the newest', () => {
    expect(revisionsToTrim([rev(2, 'deployed'), rev(1, 'superseded')], 10)).toEqual([]);
    expect(revisionsToTrim([rev(2, 'deployed'), rev(1, 'superseded')], 0).map((r) => r.revision)).toEqual([1]);
  });
});
