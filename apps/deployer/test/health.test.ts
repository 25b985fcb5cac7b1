import { describe, expect, it } from 'vitest';
import { externalSecretHealth } from '../src/health.js';

const withReady = (status: string, reason?: string, message?: string) => ({ status: { conditions: [{ type: 'Ready', status, reason, message }] } });

describe('ExternalSecret readiness', () => {
  it('is ready once the operator reports the Secret synced', () => {
    expect(externalSecretHealth(withReady('True', 'SecretSynced'))).toEqual({ done: true, ok: true, message: 'synced from the store' });
  });
  it('keeps waiting, with the operator\'s reason, while it cannot sync (the key may still appear)', () => {
    expect(externalSecretHealth(withReady('False', 'SecretSyncedError', 'could not get secret data from provider'))).toEqual({
      done: false,
      ok: false,
      message: 'not synced: SecretSyncedError could not get secret data from provider',
    });
  });
  it('says when no operator has looked at it', () => {
    expect(externalSecretHealth({}).message).toMatch(/no status from the External Secrets Operator/);
  });
});
