import { OVERFLOW_ROUTE, UNMATCHED_ROUTE } from '@bitpin/metrics-contract';
import type { RouteRule } from './config.js';

/** Id of {@link OVERFLOW_ROUTE}. */
export const OVERFLOW_ROUTE_ID = 0;
/** Id of {@link UNMATCHED_ROUTE}; real templates get 2, 3, … */
export const UNMATCHED_ROUTE_ID = 1;
/** The status whose answers never claim a template slot. */
const NOT_FOUND = 404;

/** Paths remembered per cache generation (two generations: a cheap LRU). */
const CACHE_GENERATION = 4096;
const MAX_TEMPLATE_LENGTH = 256;
const MAX_SEGMENT_LENGTH = 64;

const NUMERIC = /^\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const LONG_HEX = /^[0-9a-fA-F]{16,}$/;
/** 8+ hex digits with at least one digit and one letter (short hashes, `a1b2c3d4`). */
const SHORT_HEX = /^(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}$/;
/** 10+ token characters with at least two digits and a letter (ids, hashed file names, random tokens). */
const MIXED = /^(?=(?:[^0-9]*[0-9]){2})(?=.*[A-Za-z])[A-Za-z0-9_.~=+-]{10,}$/;
/** 16+ base64/base64url characters with both cases (encoded blobs, signed tokens). */
const BASE64ISH = /^(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_=+-]{16,}$/;

/**
 * One template as seen from the path cache. `id` is its slot (or {@link OVERFLOW_ROUTE_ID}), or
 * -1 while no non-404 answer has claimed a slot for it.
 */
interface Template {
  readonly name: string;
  id: number;
}

/**
 * Turns request paths into route templates with a hard bound on how many distinct templates
 * exist, so the route label cannot grow the series count without limit, and so that what fills
 * the slots is the app's real routes, not a scanner's guesses.
 *
 * 1. An absolute-form target (`http://host/path`) is reduced to its path; the query is dropped.
 * 2. The configured rules, in order: the first whose `match` finds something rewrites the path
 *    (`path.replace(match, template)`).
 * 3. Otherwise each segment is collapsed: digits → `:id`, UUIDs → `:uuid`, hex digits (16+, or
 *    8+ with a digit and a letter) → `:hex`, random-looking tokens (10+ characters with two
 *    digits and a letter, or 16+ base64 characters in both cases) → `:token`, segments over 64
 *    characters → `:long`.
 * 4. A template gets a slot the first time the app answers it with anything but 404; a 404 on a
 *    template without a slot counts under {@link UNMATCHED_ROUTE_ID} (`route="__unmatched__"`).
 *    The first `cap` templates get slots; every later one maps to {@link OVERFLOW_ROUTE_ID}.
 *
 * Results are cached by path in two generations of {@link CACHE_GENERATION} entries, so a hit costs
 * one Map lookup and memory stays bounded for any number of distinct paths.
 */
export class RouteTemplates {
  /** Template by id; 0 and 1 are the overflow and unmatched routes. */
  readonly names: string[] = [OVERFLOW_ROUTE, UNMATCHED_ROUTE];
  private readonly slots = new Map<string, Template>();
  private current = new Map<string, Template>();
  private previous = new Map<string, Template>();

  constructor(
    readonly cap: number,
    private readonly rules: readonly RouteRule[] = [],
  ) {
    if (!Number.isInteger(cap) || cap < 1) throw new Error(`route template cap must be a positive integer (got ${cap})`);
  }

  /** Distinct templates with a slot, the overflow and unmatched routes not counted. */
  get size(): number {
    return this.names.length - 2;
  }

  /** The route id for a request target (`/path?query` or `http://host/path?query`) answered with `status`. */
  resolve(url: string, status: number): number {
    const q = url.indexOf('?');
    const key = q === -1 ? url : url.slice(0, q);
    let t = this.current.get(key);
    if (t === undefined) t = this.miss(key);
    if (t.id >= 0) return t.id;
    if (status === NOT_FOUND) return UNMATCHED_ROUTE_ID;
    return this.claim(t);
  }

  /** The template for a path (no query), before slots and the cap apply. */
  template(path: string): string {
    for (const rule of this.rules) {
      rule.match.lastIndex = 0;
      if (rule.match.test(path)) return clip(path.replace(rule.match, rule.template));
    }
    return clip(collapse(path));
  }

  private miss(key: string): Template {
    let t = this.previous.get(key);
    if (t === undefined) {
      const name = this.template(pathOf(key));
      t = this.slots.get(name) ?? { name, id: -1 };
    }
    this.current.set(key, t);
    if (this.current.size >= CACHE_GENERATION) {
      this.previous = this.current;
      this.current = new Map();
    }
    return t;
  }

  private claim(t: Template): number {
    const slot = this.slots.get(t.name);
    if (slot !== undefined) {
      t.id = slot.id;
      return slot.id;
    }
    if (this.size >= this.cap) return OVERFLOW_ROUTE_ID;
    t.id = this.names.length;
    this.names.push(t.name);
    this.slots.set(t.name, t);
    return t.id;
  }
}

/**
 * The path of a request target: the query removed, and an absolute-form target
 * (`http://host:port/path`, RFC 9112 §3.2.2) reduced to its path (`/` when it has none).
 */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  const p = q === -1 ? url : url.slice(0, q);
  return p.charCodeAt(0) === 47 /* / */ ? p : originForm(p);
}

/** `http://host/x?y` → `/x?y`; anything that is not absolute-form is returned unchanged. */
export function originForm(target: string): string {
  const scheme = target.indexOf('://');
  if (scheme <= 0 || scheme > 5 || !/^https?$/i.test(target.slice(0, scheme))) return target;
  const slash = target.indexOf('/', scheme + 3);
  const query = target.indexOf('?', scheme + 3);
  if (slash === -1 || (query !== -1 && query < slash)) return query === -1 ? '/' : `/${target.slice(query)}`;
  return target.slice(slash);
}

function collapse(path: string): string {
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i] as string;
    if (s.length === 0) continue;
    if (NUMERIC.test(s)) parts[i] = ':id';
    else if (s.length > MAX_SEGMENT_LENGTH) parts[i] = ':long';
    else if (s.length === 36 && UUID.test(s)) parts[i] = ':uuid';
    else if (s.length >= 8 && (LONG_HEX.test(s) || SHORT_HEX.test(s))) parts[i] = ':hex';
    else if (s.length >= 10 && (MIXED.test(s) || BASE64ISH.test(s))) parts[i] = ':token';
  }
  return parts.join('/');
}

function clip(t: string): string {
  return t.length > MAX_TEMPLATE_LENGTH ? `${t.slice(0, MAX_TEMPLATE_LENGTH - 3)}...` : t;
}
