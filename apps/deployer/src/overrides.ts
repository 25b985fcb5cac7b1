import { ConfigError, IMAGE_KEYS, type ImageKey } from '@bitpin/config';

/** Parses `key=ref` pairs from `--image`. Throws ConfigError on a malformed pair or unknown key. */
export function parseImageOverrides(pairs: readonly string[]): Partial<Record<ImageKey, string>> {
  const out: Partial<Record<ImageKey, string>> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    if (eq <= 0 || eq === pair.length - 1) {
      throw new ConfigError('CONFIG_INVALID', [`--image "${pair}": expected key=image-ref, e.g. --image app=repo/app@sha256:<digest>`]);
    }
    if (!(IMAGE_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError('CONFIG_INVALID', [`--image "${pair}": unknown image key "${key}"; known keys: ${IMAGE_KEYS.join(', ')}`]);
    }
    out[key as ImageKey] = pair.slice(eq + 1);
  }
  return out;
}

