import { DEPLOY_ANNOTATIONS, type EnvConfig } from '@bitpin/config';
import { PreflightError, type KubeObject } from '@bitpin/kube-client';

/** `--secrets`: what an export does with the Secrets of the set. */
export const SECRETS_MODES = ['refuse', 'omit'] as const;
export type SecretsMode = (typeof SECRETS_MODES)[number];

/** A Secret left out of an export: where it goes and its keys (never a value). */
export interface OmittedSecret {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** Key → how the deployer would make its value (`random: 24 bytes`), or `value` when the set holds one. */
  readonly keys: readonly { readonly key: string; readonly source: string }[];
}

/** Refused before anything was written (exit 2), with one line per problem (the CLI prints each). */
export class ExportRefused extends PreflightError {
  constructor(readonly lines: readonly string[]) {
    super(lines.join('; '));
  }
}

/**
 * Splits the set into what may leave in Git and the Secrets that may not. A Secret never leaves
 * in plain text — neither its values nor a generation recipe: with `features.externalSecrets` on
 * the set carries ExternalSecrets instead (they hold no values) and any Secret left in it is
 * omitted; otherwise Secrets are refused unless `--secrets=omit` says to create them out of band.
 */
export function splitSecrets(env: EnvConfig, objects: readonly KubeObject[], mode: SecretsMode): { kept: KubeObject[]; omitted: OmittedSecret[] } {
  const secrets = objects.filter(isSecret);
  if (secrets.length && mode === 'refuse' && !env.features.externalSecrets.enabled) {
    const refs = secrets.map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name}`);
    throw new ExportRefused([
      `export ${env.name}: ${secrets.length} Secret${secrets.length === 1 ? '' : 's'} would leave in the export (${refs.join(', ')}); ` +
        `turn on features.externalSecrets in libs/config/src/envs/${env.name}.ts (ExternalSecrets are exported instead), ` +
        'or pass --secrets=omit to leave them out and create them out of band (the export\'s README.md names each)',
    ]);
  }
  return { kept: objects.filter((o) => !isSecret(o)), omitted: secrets.map(describe) };
}

function isSecret(o: KubeObject): boolean {
  return o.apiVersion === 'v1' && o.kind === 'Secret';
}

function describe(s: KubeObject): OmittedSecret {
  const keys = new Map<string, string>();
  const recipe = s.metadata.annotations?.[DEPLOY_ANNOTATIONS.generate];
  if (recipe) {
    for (const [key, how] of Object.entries(JSON.parse(recipe) as Record<string, string>)) {
      keys.set(key, how.startsWith('random:') ? `random: ${how.slice('random:'.length)} bytes, base64url` : 'a fixed value the platform sets (the library that declares the Secret)');
    }
  }
  for (const field of ['data', 'stringData'] as const) {
    for (const key of Object.keys((s[field] as Record<string, unknown> | undefined) ?? {})) if (!keys.has(key)) keys.set(key, 'the value in the synthesized set');
  }
  return {
    namespace: s.metadata.namespace ?? '',
    name: s.metadata.name,
    type: (s['type'] as string | undefined) ?? 'Opaque',
    keys: [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, source]) => ({ key, source })),
  };
}

/** The export's README section naming each omitted Secret and how to create it (no values). */
export function omittedSecretsSection(env: string, omitted: readonly OmittedSecret[]): string[] {
  if (!omitted.length) return [];
  const lines = [
    '## Secrets to create out of band',
    '',
    `These Secrets are part of env ${env} but not of this export: a Secret never goes into Git in plain text.`,
    'Create each one in the cluster before (or right after) the first sync — the workloads that mount them',
    'wait until they exist — or turn on `features.externalSecrets` for the env and export again, so that',
    'ExternalSecrets fetch them from the secret store.',
    '',
    '| namespace | name | type | key | value |',
    '|---|---|---|---|---|',
  ];
  for (const s of omitted) for (const k of s.keys) lines.push(`| ${s.namespace} | ${s.name} | ${s.type} | ${k.key} | ${k.source} |`);
  lines.push('', 'For example (read each value from your password manager; never type it into a file that is committed):', '', '```sh');
  for (const s of omitted) {
    const kind = s.type === 'Opaque' ? 'generic' : `generic --type=${s.type}`;
    lines.push(`kubectl --namespace ${s.namespace} create secret ${kind} ${s.name} ${s.keys.map((k) => `--from-literal=${k.key}="$${envVar(k.key)}"`).join(' ')}`);
  }
  lines.push('```', '', 'Argo CD and Flux leave these Secrets alone: they are not in the synced set, so neither prunes them.', '');
  return lines;
}

const envVar = (key: string): string => key.toUpperCase().replace(/[^A-Z0-9]/g, '_');
