/**
 * tools/django_routes.py (route rules from Django's URLconf) through the real python3, on
 * objects shaped like Django 3.2's URLPattern/URLResolver/RoutePattern/RegexPattern (Django itself
 * is not installed here), and its output through the sidecar's real config loader and templating.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { requireServer } from '@bitpin/test-support';
import { RouteTemplates, loadConfig } from '../src/index.js';
import { removeTempFiles, tempFile } from './support/files.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), '..', 'tools');
const hasPython = spawnSync('python3', ['--version']).status === 0;

// What `path()`, `re_path()` and `include()` build, as Django 3.2 compiles them.
const URLCONF = String.raw`
import re, sys
sys.path.insert(0, sys.argv[1])
import django_routes as d

class RoutePattern:
    def __init__(self, route, regex): self._route, self.regex = route, re.compile(regex)
    def __str__(self): return self._route
class RegexPattern:
    def __init__(self, regex): self.regex = re.compile(regex)
class URLPattern:
    def __init__(self, pattern): self.pattern = pattern
class URLResolver:
    def __init__(self, pattern, url_patterns): self.pattern, self.url_patterns = pattern, url_patterns

patterns = [
    URLPattern(RoutePattern('healthz/', r'^healthz/\Z')),
    URLResolver(RoutePattern('api/v1/', r'^api/v1/'), [
        URLPattern(RoutePattern('orders/', r'^orders/\Z')),
        URLPattern(RoutePattern('orders/<int:pk>/', r'^orders/(?P<pk>[0-9]+)/\Z')),
        URLPattern(RoutePattern('markets/<slug:symbol>/trades/', r'^markets/(?P<symbol>[-a-zA-Z0-9_]+)/trades/\Z')),
    ]),
    URLPattern(RegexPattern(r'^wallets/(?P<wallet>[0-9a-f-]{36})/tx/(\d+)\.json$')),
]
sys.stdout.write(d.to_yaml(d.rules_from_patterns(patterns)))
`;

const withPython = requireServer('python3', hasPython, 'install python3 (Debian python3)');

withPython('tools/django_routes.py', () => {
  afterAll(removeTempFiles);

  it("turns Django's URLconf into route rules the sidecar loads and applies", () => {
    // GIVEN the URLconf above run through the generator
    const r = spawnSync('python3', ['-I', '-c', URLCONF, TOOLS], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // THEN the YAML loads through the same config loader as in production
    const config = loadConfig({ SIDECAR_ROUTES_FILE: tempFile('routes.yaml', r.stdout) });
    expect(config.routes.rules.map((x) => x.template)).toEqual([
      '/healthz/',
      '/api/v1/orders/',
      '/api/v1/orders/:pk/',
      '/api/v1/markets/:symbol/trades/',
      '/wallets/:wallet/tx/:param1.json',
    ]);
    // and every request path gets its Django route as its template, unknown paths are untouched
    const t = new RouteTemplates(200, config.routes.rules);
    expect(t.template('/api/v1/orders/12345/')).toBe('/api/v1/orders/:pk/');
    expect(t.template('/api/v1/orders/')).toBe('/api/v1/orders/');
    expect(t.template('/api/v1/markets/BTC-USDT/trades/')).toBe('/api/v1/markets/:symbol/trades/');
    expect(t.template('/wallets/0f9c2d1e-7a3b-4c5d-8e9f-0123456789ab/tx/7.json')).toBe('/wallets/:wallet/tx/:param1.json');
    expect(t.template('/api/v1/orders/12345/cancel/')).toBe('/api/v1/orders/:id/cancel/');
  });
});
