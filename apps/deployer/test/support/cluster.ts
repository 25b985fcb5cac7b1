/**
 * What the deployer's cluster tests share: the real test control plane (tools/k8s-testenv) under
 * every env's context name, the CLI run in-process against it, and a wipe of every env.
 */
import { ENV_NAMES } from '@bitpin/config';
import { ObjectClient, type ObjectClient as AdminClient } from '@bitpin/kube-client';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { run } from '../../src/index.js';

export interface DeployerRun {
  readonly code: number;
  readonly out: string[];
  /** The `error:` lines only: stderr also carries progress lines and warnings. */
  readonly err: string[];
}

/**
 * An admin client for the test cluster, and a kubeconfig in `work` that reaches it under each
 * of `contexts` (as a real kubeconfig would list every env's cluster).
 */
export async function connectTestCluster(work: string, contexts: readonly string[]): Promise<{ kubeconfig: string; admin: AdminClient }> {
  // Loaded lazily, as the deployer itself loads the test control plane only for embedded envs.
  const { testEnvInfo } = await import('@bitpin/k8s-testenv/vitest');
  const info = testEnvInfo();
  const cfg = parse(readFileSync(info.kubeconfigPath, 'utf8'));
  const base = cfg.contexts.find((c: { name: string }) => c.name === cfg['current-context']);
  cfg.contexts = contexts.map((name) => ({ name, context: base.context }));
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, stringify(cfg), { mode: 0o600 });
  return { kubeconfig, admin: new ObjectClient(info.kubeconfigPath) };
}

/**
 * Runs the deployer CLI in-process with `--kubeconfig`. apply and rollback get `--yes` (staging and
 * prod ask for confirmation, and a test has no terminal) unless `terminal` answers the prompt the
 * way an operator at a terminal would (the CLI's `ask`; progress stays plain lines).
 */
export async function runDeployer(
  kubeconfig: string,
  argv: readonly string[],
  terminal?: { readonly answer: string; readonly asked?: string[] },
): Promise<DeployerRun> {
  const out: string[] = [];
  const err: string[] = [];
  const yes = !terminal && (argv[0] === 'apply' || argv[0] === 'rollback') ? ['--yes'] : [];
  const code = await run([...argv, ...yes, '--kubeconfig', kubeconfig], {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    tty: false,
    ...(terminal
      ? {
          ask: async (q: string) => {
            terminal.asked?.push(q);
            return terminal.answer;
          },
        }
      : {}),
  });
  return { code, out, err: err.filter((l) => l.startsWith('error:')) };
}

/** Destroys every env, data included: the tests own the platform's namespaces and inventory. */
export async function wipeEnvs(kubeconfig: string): Promise<void> {
  for (const env of ENV_NAMES) {
    const r = await runDeployer(kubeconfig, ['destroy', `--env=${env}`, `--confirm=${env}`, '--include-data', '--timeout=90s']);
    if (r.code !== 0) throw new Error(`destroy ${env}: ${r.err.join(' | ')}`);
  }
}
