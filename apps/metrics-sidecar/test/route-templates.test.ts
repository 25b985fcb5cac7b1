import { OVERFLOW_ROUTE } from '@bitpin/metrics-contract';
import { describe, expect, it } from 'vitest';
import { OVERFLOW_ROUTE_ID, RouteTemplates } from '../src/index.js';

describe('RouteTemplates', () => {
  const name = (t: RouteTemplates, url: string): string => t.names[t.resolve(url)] as string;

  it('collapses numeric ids, UUIDs, long hex and over-long segments, and ignores the query', () => {
    const t = new RouteTemplates(100);
    expect(name(t, '/api/users/42/orders/7/?page=3')).toBe('/api/users/:id/orders/:id/');
    expect(name(t, '/wallets/0F9C2D1E-7A3B-4C5D-8E9F-0123456789AB')).toBe('/wallets/:uuid');
    expect(name(t, '/tx/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')).toBe('/tx/:hex');
    expect(name(t, `/files/${'a-'.repeat(40)}`)).toBe('/files/:long');
    expect(name(t, '/markets/BTC-USDT/')).toBe('/markets/BTC-USDT/');
    expect(name(t, '/')).toBe('/');
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
    for (let i = 0; i < 10_000; i++) ids.add(t.resolve(`/p/page-${i.toString(36)}x`));
    // THEN 10 templates plus the overflow route exist, and earlier templates keep their ids
    expect(t.size).toBe(10);
    expect(ids.size).toBe(11);
    expect(t.names[OVERFLOW_ROUTE_ID]).toBe(OVERFLOW_ROUTE);
    expect(t.resolve('/p/page-0x')).toBe(1);
    expect(t.resolve('/p/page-zzzzx')).toBe(OVERFLOW_ROUTE_ID);
  });

  it('fails for a cap that is not a positive integer', () => {
    expect(() => new RouteTemplates(0)).toThrow('route template cap must be a positive integer (got 0)');
  });
});
