import { OVERFLOW_ROUTE, UNMATCHED_ROUTE } from '@bitpin/metrics-contract';
import { describe, expect, it } from 'vitest';
import { OVERFLOW_ROUTE_ID, RouteTemplates, UNMATCHED_ROUTE_ID, originForm } from '../src/index.js';
import { word } from './support/words.js';

describe('RouteTemplates', () => {
  const name = (t: RouteTemplates, url: string, status = 200): string => t.names[t.resolve(url, status)] as string;

  it('collapses numeric ids, UUIDs, long hex and over-long segments, and ignores the query', () => {
    const t = new RouteTemplates(100);
    expect(name(t, '/api/users/42/orders/7/?page=3')).toBe('/api/users/:id/orders/:id/');
    expect(name(t, '/wallets/0F9C2D1E-7A3B-4C5D-8E9F-0123456789AB')).toBe('/wallets/:uuid');
    expect(name(t, '/tx/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')).toBe('/tx/:hex');
    expect(name(t, `/files/${'a-'.repeat(40)}`)).toBe('/files/:long');
    expect(name(t, '/markets/BTC-USDT/')).toBe('/markets/BTC-USDT/');
    expect(name(t, '/')).toBe('/');
  });

  it('collapses random-looking segments: short hashes, mixed tokens, base64', () => {
    const t = new RouteTemplates(100);
    expect(name(t, '/commit/a1b2c3d4/')).toBe('/commit/:hex/');
    expect(name(t, '/reset/x7Gk2pQ9zL4m/')).toBe('/reset/:token/');
    expect(name(t, '/static/js/main.3f9a8b7c.js')).toBe('/static/js/:token');
    expect(name(t, '/static/js/app-94a1e7.chunk.js')).toBe('/static/js/:token');
    expect(name(t, '/s/aGVsbG8gV29ybGQgZm9v')).toBe('/s/:token');
    // words, short versions and plain names stay
    expect(name(t, '/api/v2/deadbeef/oauth2callback/')).toBe('/api/v2/deadbeef/oauth2callback/');
    expect(name(t, '/markets/BTC-USDT/orderbook')).toBe('/markets/BTC-USDT/orderbook');
  });

  it('reduces an absolute-form target to its path', () => {
    const t = new RouteTemplates(100);
    expect(name(t, 'http://evil.example/api/users/7?x=1')).toBe('/api/users/:id');
    expect(name(t, 'HTTPS://a.b:8443/x')).toBe('/x');
    expect(originForm('http://evil.example')).toBe('/');
    expect(originForm('http://evil.example?q=1')).toBe('/?q=1');
    expect(originForm('*')).toBe('*');
    expect(originForm('ftp://x/y')).toBe('ftp://x/y');
  });

  it('gives a 404 no slot: it counts under the unmatched route until the app answers the template otherwise', () => {
    // GIVEN a cap of 5 and a scanner's 10,000 random paths, all 404
    const t = new RouteTemplates(5);
    for (let i = 0; i < 10_000; i++) expect(t.resolve(`/${word(i)}/${word(i * 7)}`, 404)).toBe(UNMATCHED_ROUTE_ID);
    // THEN no slot is taken, and a real route seen afterwards gets one
    expect(t.size).toBe(0);
    expect(name(t, '/api/orders/', 200)).toBe('/api/orders/');
    // a 404 on a template with a slot counts under it (an order that does not exist)
    expect(name(t, '/api/orders/', 404)).toBe('/api/orders/');
    expect(name(t, '/nope', 404)).toBe(UNMATCHED_ROUTE);
    expect(t.size).toBe(1);
  });

  it('applies the first matching rule, with group references', () => {
    const t = new RouteTemplates(100, [
      { match: /^\/api\/(v\d+)\/orders\/[^/]+/, template: '/api/$1/orders/:order' },
      { match: /^\/static\/.*/, template: '/static/*' },
    ]);
    expect(name(t, '/api/v2/orders/abc-def/cancel')).toBe('/api/v2/orders/:order/cancel');
    expect(name(t, '/static/css/site.4f2a.css')).toBe('/static/*');
    expect(name(t, '/other/1')).toBe('/other/:id');
  });

  it('maps every template past the cap to the overflow route, for any number of paths', () => {
    // GIVEN a cap of 10
    const t = new RouteTemplates(10);
    // WHEN 10,000 distinct paths arrive, each its own template
    const ids = new Set<number>();
    for (let i = 0; i < 10_000; i++) ids.add(t.resolve(`/p/page-${word(i)}`, 200));
    // THEN 10 templates plus the overflow route exist, and earlier templates keep their ids
    expect(t.size).toBe(10);
    expect(ids.size).toBe(11);
    expect(t.names[OVERFLOW_ROUTE_ID]).toBe(OVERFLOW_ROUTE);
    expect(t.resolve(`/p/page-${word(0)}`, 200)).toBe(2);
    expect(t.resolve(`/p/page-${word(9_999)}`, 200)).toBe(OVERFLOW_ROUTE_ID);
  });

  it('fails for a cap that is not a positive integer', () => {
    expect(() => new RouteTemplates(0)).toThrow('route template cap must be a positive integer (got 0)');
  });
});
