import type { KubeObject } from '@bitpin/kube-client';

/** Pod Security levels, least strict first. */
const LEVELS = ['privileged', 'baseline', 'restricted'] as const;

/** Why a namespace of ours runs below `restricted` (libs/k8s PlatformNamespace's podSecurityReason). */
export const POD_SECURITY_REASON_ANNOTATION = 'bitpin.io/pod-security-reason';

/**
 * The API server's PodSecurity warning for an object is a declared exception when the object's
 * namespace, in the same set, enforces a less strict level than the warning names and says why
 * ({@link POD_SECURITY_REASON_ANNOTATION}) — e.g. node-exporter in `monitoring` (enforce
 * `privileged`, warn `restricted`). Returns the line to print instead of a warning, or undefined
 * for every other warning (a level the namespace enforces, a namespace outside the set or without
 * a reason, any other text), which stays a warning.
 */
export function declaredPodSecurityNote(ref: string, text: string, desired: readonly KubeObject[]): string | undefined {
  const m = /would violate PodSecurity "(privileged|baseline|restricted):/.exec(text);
  const [, namespace, name] = ref.split('/');
  if (!m || !namespace || !name) return undefined;
  const ns = desired.find((o) => o.kind === 'Namespace' && o.metadata.name === namespace);
  const enforce = LEVELS.find((l) => l === ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']);
  if (!enforce || !ns?.metadata.annotations?.[POD_SECURITY_REASON_ANNOTATION]) return undefined;
  const level = m[1] as (typeof LEVELS)[number];
  if (LEVELS.indexOf(level) <= LEVELS.indexOf(enforce)) return undefined;
  return `pod security: ${ref} needs more than "${level}"; namespace ${namespace} enforces "${enforce}", as its ${POD_SECURITY_REASON_ANNOTATION} explains`;
}
