import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wipe } from '../src/index.js';

// A state dir of its own (never the shared control plane's): no instance runs in it.
const root = mkdtempSync(join(tmpdir(), 'k8s-testenv-wipe-'));
const dir = join(root, 'state');
const env = { ...process.env, BITPIN_TESTENV_DIR: dir };
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('wipe (nx run k8s-testenv:wipe)', () => {
  it('fails, removing nothing, while another live test run holds a lease; then removes the state dir', async () => {
    // GIVEN a state dir with PKI and a kubeconfig, and a lease of a live process (our parent)
    mkdirSync(join(dir, 'pki'), { recursive: true });
    writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\n');
    mkdirSync(join(dir, 'users'));
    writeFileSync(join(dir, 'users', String(process.ppid)), '');
    // WHEN wiped THEN refused in one line naming the holder, and nothing is gone
    await expect(wipe({ env })).rejects.toThrow(`k8s-testenv: test runs (pid ${process.ppid}) use the control plane in ${dir}; wipe it when they have ended`);
    expect(existsSync(join(dir, 'kubeconfig'))).toBe(true);
    // WHEN the lease is gone THEN the whole dir is removed
    rmSync(join(dir, 'users', String(process.ppid)));
    expect(await wipe({ env })).toBe(dir);
    expect(existsSync(dir)).toBe(false);
  });
});
