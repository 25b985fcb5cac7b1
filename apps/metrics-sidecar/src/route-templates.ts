import { OVERFLOW_ROUTE } from '@bitpin/metrics-contract';
import type { RouteRule } from './config.js';

/** Id of {@link OVERFLOW_ROUTE}; real templates get 1, 2, … */
export const OVERFLOW_ROUTE_ID = 0;

/** Paths remembered per cache generation (two generations: a cheap LRU). */
const CACHE_GENERATION = 4096;
const MAX_TEMPLATE_LENGTH = 256;
const MAX_SEGMENT_LENGTH = 64;

const NUMERIC = /^\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const LONG_HEX = /^[0-9a-fA-F]{16,}$/;

/**
 * Turns request paths into route templates with a hard bound on how many distinct templates
 * exist, so the route label cannot grow the series count without limit.
 *
 * 1. The configured rules, in order: the first whose `match` finds something rewrites the path
 *    (`path.replace(match, template)`).
 * 2. Otherwise each segment is collapsed: digits → `:id`, UUIDs → `:uuid`, 16+ hex digits → `:hex`,
 *    segments over 64 characters → `:long`.
 * 3. The first `cap` distinct templates get their own id; every later one maps to
 *    {@link OVERFLOW_ROUTE_ID} (`route="__overflow__"`).
 *
 * Results are cached by path in two generations of {@link CACHE_GENERATION} entries, so a hit costs
 * one Map lookup and memory stays bounded for any number of distinct paths.
 */
export class RouteTemplates {
  /** Template by id; index 0 is the overflow route. */
  readonly names: string[] = [OVERFLOW_ROUTE];
  private readonly ids = new Map<string, number>();
  private current = new Map<string, number>();
  private previous = new Map<string, number>();

  constructor(
    readonly cap: number,
    private readonly rules: readonly RouteRule[] = [],
  ) {
    if (!Number.isInteger(cap) || cap < 1) throw new Error(`route template cap must be a positive integer (got ${cap})`);
  }

  /** Distinct templates in use, the overflow route not counted. */
  get size(): number {
    return this.names.length - 1;
  }

  /** The route id for a request target (`/path?query`). */
  resolve(url: string): number {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let id = this.current.get(path);
    if (id !== undefined) return id;
    id = this.previous.get(path);
    if (id === undefined) id = this.idOf(this.template(path));
    this.current.set(path, id);
    if (this.current.size >= CACHE_GENERATION) {
      this.previous = this.current;
      this.current = new Map();
    }
    return id;
  }

  /** The template for a path, before the cap applies. */
  template(path: string): string {
    for (const rule of this.rules) {
      rule.match.lastIndex = 0;
      if (rule.match.test(path)) return clip(path.replace(rule.match, rule.template));
    }
    return clip(collapse(path));
  }

  private idOf(template: string): number {
    let id = this.ids.get(template);
    if (id !== undefined) return id;
    if (this.names.length > this.cap) return OVERFLOW_ROUTE_ID;
    id = this.names.length;
    this.names.push(template);
    this.ids.set(template, id);
    return id;
  }
}

function collapse(path: string): string {
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i] as string;
    if (s.length === 0) continue;
    if (NUMERIC.test(s)) parts[i] = ':id';
    else if (s.length === 36 && UUID.test(s)) parts[i] = ':uuid';
    else if (s.length >= 16 && LONG_HEX.test(s)) parts[i] = ':hex';
    else if (s.length > MAX_SEGMENT_LENGTH) parts[i] = ':long';
  }
  return parts.join('/');
}

function clip(t: string): string {
  return t.length > MAX_TEMPLATE_LENGTH ? `${t.slice(0, MAX_TEMPLATE_LENGTH - 3)}...` : t;
}
