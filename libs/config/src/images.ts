/**
 * Image references. Every image the platform runs is pinned in one catalog (see `defaults.ts`);
 * environments override entries, never scatter image strings through the libraries.
 */

/** `[registry/]repository[:tag][@sha256:digest]` — the grammar the container runtimes accept. */
export const IMAGE_REF_PATTERN =
  /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export interface ImageRef {
  /** Registry and repository, e.g. `ghcr.io/cloudnative-pg/postgresql`. */
  readonly repository: string;
  /** The tag, when one is given. */
  readonly tag?: string;
  /** The `sha256:…` digest, when one is given. */
  readonly digest?: string;
}

export function parseImageRef(ref: string): ImageRef {
  const [nameAndTag, digest] = ref.split('@', 2) as [string, string | undefined];
  const lastSlash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.indexOf(':', lastSlash + 1);
  const repository = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon);
  const tag = colon === -1 ? undefined : nameAndTag.slice(colon + 1);
  return { repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/**
 * A reference is mutable when nothing pins its content: no digest, and a tag that is absent or
 * a moving name (`latest`, `main`, `master`, `stable`, `edge`, `dev`, `nightly`).
 */
export function isMutableImageRef(ref: string): boolean {
  const { tag, digest } = parseImageRef(ref);
  if (digest) return false;
  return tag === undefined || /^(latest|main|master|stable|edge|dev|nightly)$/.test(tag);
}
