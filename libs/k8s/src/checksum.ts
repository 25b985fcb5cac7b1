import { createHash } from 'node:crypto';

/**
 * The pod-template annotation carrying {@link configChecksum} of the config a pod reads only at
 * start-up: a change of that config changes the template, so the pods roll.
 */
export const CONFIG_CHECKSUM_ANNOTATION = 'bitpin.io/config-checksum';

/** sha256 (hex) of config texts, each part terminated by NUL so `('ab', 'c')` ≠ `('a', 'bc')`. */
export function configChecksum(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}
