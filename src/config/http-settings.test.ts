import { describe, expect, it } from 'vitest';
import { loadHttpSettings, parseTrustProxy } from './http-settings.js';

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['true', true],
    ['0', 0],
    ['2', 2],
    ['10.0.0.0/8', ['10.0.0.0/8']],
    [' 10.0.0.1 , 192.168.0.0/16,::1, fd00::/8 ,loopback', ['10.0.0.1', '192.168.0.0/16', '::1', 'fd00::/8', 'loopback']],
  ])('reads %j as %j', (v, want) => {
    expect(parseTrustProxy(v)).toEqual(want);
  });

  it.each(['yes', '-1', '1.5', '10.0.0.0/33', '::1/129', '10.0.0.0/8/1', 'proxy.example', ',', '300.1.1.1'])('refuses %j with a message naming the variable', (v) => {
    expect(() => parseTrustProxy(v)).toThrow(/^TRUST_PROXY: expected true, false, a hop count or a comma-separated list/);
  });
});

describe('HTTP settings', () => {
  it('derives Secure cookies from an https APP_URL, not from a switch', () => {
    expect(loadHttpSettings({}, 'https://hrsync.example.com').settings.cookieSecure).toBe(true);
    expect(loadHttpSettings({}, 'HTTPS://hrsync.example.com').settings.cookieSecure).toBe(true);
    expect(loadHttpSettings({ SECURE_COOKIES: 'true' }, 'http://localhost:3000').settings.cookieSecure).toBe(false);
  });

  it('reports every problem at once', () => {
    const { problems } = loadHttpSettings({ TRUST_PROXY: 'maybe', METRICS_TOKEN: 'short', METRICS_PORT: '70000', AUTH_FAIL_LIMIT: '0', BULK_PER_MINUTE: 'many' }, 'http://x');
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^TRUST_PROXY: expected/),
      'METRICS_TOKEN: must be at least 32 characters',
      expect.stringMatching(/^METRICS_PORT: must be an integer from 1 to 65535/),
      expect.stringMatching(/^AUTH_FAIL_LIMIT: must be an integer from 1/),
      expect.stringMatching(/^BULK_PER_MINUTE: must be an integer from 1/),
    ]));
  });

  it('has defaults that limit: 20 failures in 5 minutes, 20 bulk requests a minute, 2 at once, metrics every 30 s', () => {
    expect(loadHttpSettings({}, 'http://x').settings).toMatchObject({ trustProxy: false, metricsToken: null, metricsPort: null, metricsRefreshMs: 30_000, authFailLimit: 20, authFailWindowSeconds: 300, bulkPerMinute: 20, bulkConcurrency: 2, bulkConcurrencyTotal: 4 });
  });
});
