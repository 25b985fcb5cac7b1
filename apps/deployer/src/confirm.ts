import type { KubeObject } from '@bitpin/kube-client';
import { PreflightError } from '@bitpin/kube-client';
import { ANN_CONFIG_HASH } from './inventory.js';
import { objectRef } from './manifest.js';

/** What an apply is about to do, for the confirmation prompt. */
export interface PendingPlan {
  readonly env: string;
  readonly context: string;
  /** Objects to write, with their live copy when they exist. */
  readonly send: readonly { readonly object: KubeObject; readonly live: KubeObject | undefined }[];
  /** Generated Secrets to create. */
  readonly generate: readonly KubeObject[];
  /** Members to delete (with --prune). */
  readonly prune: readonly string[];
}

/** Asks the operator; resolves true to go on. */
export type Confirm = (plan: PendingPlan) => Promise<boolean>;

const SECRET_KINDS = new Set(['Secret']);
const MAX_FIELDS = 12;

/**
 * The fields of `desired` whose value differs from `live` — only what we send (defaulted and
 * status fields of the live object are not ours) — as `path: old → new`. Secret data is masked.
 */
export function changedFields(desired: unknown, live: unknown, secret = false, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(desired)) {
    const liveObj = isObj(live) ? live : {};
    return Object.keys(desired)
      .sort()
      .flatMap((k) => changedFields(desired[k], liveObj[k], secret || (path === '' && (k === 'data' || k === 'stringData')), `${path}.${k}`));
  }
  // Lists of named items (containers, ports, env, volumes) are compared item by item, by name.
  const named = (v: unknown): v is Record<string, unknown>[] => Array.isArray(v) && v.length > 0 && v.every((x) => isObj(x) && typeof x['name'] === 'string');
  if (named(desired)) {
    const liveItems = new Map((named(live) ? live : []).map((x) => [x['name'] as string, x]));
    const gone = [...liveItems.keys()].filter((n) => !desired.some((x) => x['name'] === n)).map((n) => `${path}[${n}]: (present) → (absent)`);
    return [...desired.flatMap((x) => changedFields(x, liveItems.get(x['name'] as string), secret, `${path}[${x['name'] as string}]`)), ...gone];
  }
  if (JSON.stringify(desired) === JSON.stringify(live)) return [];
  const show = (v: unknown) => {
    if (v === undefined) return '(absent)';
    if (secret) return '(sensitive)';
    const s = JSON.stringify(v);
    return s.length > 160 ? `${s.slice(0, 157)}...` : s;
  };
  return [`${path}: ${show(live)} → ${show(desired)}`];
}

/** The plan as the operator reads it: counts, then per object what changes. */
export function describePlan(plan: PendingPlan): string[] {
  const adds = plan.send.filter((s) => !s.live).length + plan.generate.length;
  const updates = plan.send.filter((s) => s.live).length;
  const lines = [`env ${plan.env} → ${plan.context}: ${adds} to add, ${updates} to update, ${plan.prune.length} to delete`];
  for (const { object, live } of plan.send) {
    if (!live) {
      lines.push(`  + ${objectRef(object)}`);
      continue;
    }
    const { metadata: _m, ...desiredRest } = object;
    const { metadata: _l, ...liveRest } = live;
    const meta = changedFields({ labels: object.metadata.labels, annotations: object.metadata.annotations }, { labels: live.metadata.labels, annotations: live.metadata.annotations }, false, '.metadata');
    const fields = [...meta.filter((f) => !f.startsWith(`.metadata.annotations.${ANN_CONFIG_HASH}`)), ...changedFields(desiredRest, liveRest, SECRET_KINDS.has(object.kind))];
    lines.push(`  ~ ${objectRef(object)}`);
    for (const f of fields.slice(0, MAX_FIELDS)) lines.push(`      ${f}`);
    if (fields.length > MAX_FIELDS) lines.push(`      … ${fields.length - MAX_FIELDS} more`);
  }
  for (const o of plan.generate) lines.push(`  + ${objectRef(o)} (generated once, values never shown)`);
  for (const ref of plan.prune) lines.push(`  - ${ref}`);
  return lines;
}

/**
 * The confirmation an env asks for (`deploy.confirm`): on a terminal the plan is shown and
 * `Continue? [y/N]` asked; without one `--yes` is required — refused in one line otherwise.
 */
export function terminalConfirm(io: { stdout: (l: string) => void; tty: boolean; ask?: (q: string) => Promise<string> }): Confirm {
  return async (plan) => {
    if (!io.tty || !io.ask) {
      const adds = plan.send.filter((s) => !s.live).length + plan.generate.length;
      throw new PreflightError(
        `env ${plan.env} asks for confirmation before it changes the cluster (${adds} to add, ${plan.send.length - plan.send.filter((s) => !s.live).length} to update, ${plan.prune.length} to delete) and there is no terminal to ask on; review with deployer diff --env=${plan.env}, then re-run with --yes`,
      );
    }
    for (const l of describePlan(plan)) io.stdout(l);
    const answer = (await io.ask('Continue? [y/N] ')).trim().toLowerCase();
    return answer === 'y' || answer === 'yes';
  };
}

/** Reads one answer from the terminal. */
export async function askTerminal(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
