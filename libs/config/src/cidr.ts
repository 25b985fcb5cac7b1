/*
 * IPv4 CIDR arithmetic for the network config: the checks of the schema (which ranges overlap,
 * which block is wide) and the `except` lists the NetworkPolicies carry (libs/k8s/src/network.ts).
 */

interface Block {
  readonly base: number;
  readonly bits: number;
}

/** A block shorter than this prefix reaches far beyond any one cluster (0.0.0.0/0, /1, …). */
export const WIDE_PREFIX_BELOW = 8;

/** The 32-bit value of a dotted IPv4 address. Throws on anything else. */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const maskOf = (bits: number) => (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);

function block(cidr: string): Block {
  const [ip = '', bits, ...rest] = cidr.split('/');
  const n = Number(bits);
  if (bits === undefined || rest.length || !/^\d+$/.test(bits) || n > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return { base: (ipv4ToNumber(ip) & maskOf(n)) >>> 0, bits: n };
}

/** A well-formed IPv4 CIDR (the schema reports the malformed ones itself). */
export function isIpv4Cidr(cidr: string): boolean {
  try {
    block(cidr);
    return true;
  } catch {
    return false;
  }
}

/** The address lies in the block. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const b = block(cidr);
  return ((ipv4ToNumber(ip) & maskOf(b.bits)) >>> 0) === b.base;
}

/** Every address of `inner` lies in `outer` (equal blocks included). */
export function cidrContains(outer: string, inner: string): boolean {
  const o = block(outer);
  const i = block(inner);
  return i.bits >= o.bits && ((i.base & maskOf(o.bits)) >>> 0) === o.base;
}

/** `inner` lies in `outer` and is smaller: what the Kubernetes API accepts as an ipBlock `except`. */
export function cidrStrictlyContains(outer: string, inner: string): boolean {
  return cidrContains(outer, inner) && block(inner).bits > block(outer).bits;
}

/** The two blocks share an address (CIDR blocks either nest or are disjoint). */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** Shorter than /8: the block stands for "anywhere", not for a cluster's machines. */
export function isWideCidr(cidr: string): boolean {
  return block(cidr).bits < WIDE_PREFIX_BELOW;
}

/** The n-th address of the block (0 is the block's first address). Throws when the block is smaller. */
export function nthAddress(cidr: string, n: number): string {
  const b = block(cidr);
  const size = 2 ** (32 - b.bits);
  if (!Number.isInteger(n) || n < 0 || n >= size) throw new Error(`${cidr} has no address number ${n} (it holds ${size})`);
  return numberToIpv4((b.base + n) >>> 0);
}

/**
 * The ranges of `excluded` that lie strictly inside `cidr`, sorted and without duplicates: the
 * `except` list of an ipBlock that stands for `cidr` minus those ranges. Ranges disjoint from
 * `cidr` need no exception; a `cidr` inside one of them is the schema's business (it refuses it).
 */
export function exceptWithin(cidr: string, excluded: readonly string[]): string[] {
  const inside = excluded.filter((e) => cidrStrictlyContains(cidr, e));
  // An exception inside another exception adds nothing.
  const outermost = inside.filter((e) => !inside.some((o) => o !== e && cidrStrictlyContains(o, e)));
  return [...new Set(outermost)].sort((a, b) => block(a).base - block(b).base || block(a).bits - block(b).bits);
}
