import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, startHttpService, type HttpService } from '../support/http.js';
import { runCli } from '../support/cli.js';
import { csrfOf, DashboardClient } from './dashboard-client.js';

/**
 * Failed authentication is limited per client, in Redis (shared by the replicas): after
 * AUTH_FAIL_LIMIT wrong tokens every attempt from that client gets a 429 with Retry-After —
 * the right token too — on the API, Bull Board, /metrics and the dashboard's sign-in. The
 * client is the address fastify derives under TRUST_PROXY (here a hop count: 1), so a
 * forged X-Forwarded-For entry does not make a fresh client. And the admin token itself:
 * 32 characters at least, and set by the operator in production.
 */
let h: HttpService;
const LIMIT = 5;

beforeAll(async () => {
  h = await startHttpService({ workers: false, env: { AUTH_FAIL_LIMIT: String(LIMIT), AUTH_FAIL_WINDOW_SECONDS: '300', TRUST_PROXY: '1' } });
});
afterAll(async () => {
  await h?.close();
});

/** A client behind the (one, trusted) proxy: the proxy appends the address it saw; what the client sent before it is forged. */
const via = (client: string, forged?: string) => ({ 'x-forwarded-for': forged ? `${forged}, ${client}` : client });
const wrong = () => `hrs_${randomBytes(32).toString('base64url')}`;
const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;

describe('failed authentication per client', () => {
  it('answers 429 with Retry-After on the API after the limit, even to the right token, while other clients go on', async () => {
    const client = '203.0.113.10';
    for (let i = 0; i < LIMIT; i++) {
      // a different forged address each time: the limiter keys on the address the proxy saw
      const res = await h.call('GET', '/api/users', { token: wrong(), headers: via(client, `198.51.100.${i}`) });
      expect(res.statusCode, `attempt ${i + 1}`).toBe(401);
    }
    const blocked = await h.call('GET', '/api/users', { token: wrong(), headers: via(client, '198.51.100.99') });
    expect(blocked.statusCode).toBe(429);
    expect(errorBody(blocked).code).toBe('rate_limited');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);
    // the right token from the blocked client: refused as well (a 200 would tell the guess apart)
    expect((await h.call('GET', '/api/users', { token: h.tokens.acme.token, headers: via(client) })).statusCode).toBe(429);
    // another client, and the right token from it, are not held back
    expect((await h.call('GET', '/api/users', { token: h.tokens.acme.token, headers: via('203.0.113.11') })).statusCode).toBe(200);
    // requests without credentials guess nothing and are not counted
    for (let i = 0; i < LIMIT * 2; i++) expect((await h.call('GET', '/api/users', { token: null, headers: via('203.0.113.12') })).statusCode).toBe(401);
    expect((await h.call('GET', '/api/users', { token: h.tokens.acme.token, headers: via('203.0.113.12') })).statusCode).toBe(200);
  });

  it('shares the count between replicas (two apps over the same Redis)', async () => {
    const client = '203.0.113.20';
    const second = await h.buildApp();
    for (let i = 0; i < LIMIT; i++) {
      const app = i % 2 ? h.app : second;
      expect((await h.call('GET', '/api/users', { app, token: wrong(), headers: via(client) })).statusCode).toBe(401);
    }
    expect((await h.call('GET', '/api/users', { app: second, token: wrong(), headers: via(client) })).statusCode).toBe(429);
    expect((await h.call('GET', '/api/users', { app: h.app, token: wrong(), headers: via(client) })).statusCode).toBe(429);
    const redis = new Redis(h.svc.redisUrl);
    try {
      expect((await redis.keys(`${h.svc.ctx.config.queuePrefix}:auth-fail*`)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('limits wrong admin tokens on Bull Board and /metrics the same way', async () => {
    const client = '203.0.113.30';
    for (let i = 0; i < LIMIT; i++) {
      const url = i % 2 ? '/admin/queues/api/queues' : '/metrics';
      expect((await h.call('GET', url, { token: null, headers: { ...via(client), authorization: i % 2 ? basic(`guess-${i}`) : `Bearer guess-${i}` } })).statusCode).toBe(401);
    }
    const board = await h.call('GET', '/admin/queues/api/queues', { token: null, headers: { ...via(client), authorization: basic(h.adminToken) } });
    expect(board.statusCode).toBe(429);
    expect(Number(board.headers['retry-after'])).toBeGreaterThan(0);
    expect((await h.call('GET', '/metrics', { token: h.adminToken, headers: via(client) })).statusCode).toBe(429);
    expect((await h.call('GET', '/admin/queues/api/queues', { token: null, headers: { ...via('203.0.113.31'), authorization: basic(h.adminToken) } })).statusCode).toBe(200);
  });

  it('limits wrong tokens on the dashboard sign-in', async () => {
    const client = new DashboardClient(h.app, via('203.0.113.40'));
    for (let i = 0; i < LIMIT; i++) {
      const page = await client.get('/dashboard/sign-in');
      const res = await client.post('/dashboard/sign-in', { _csrf: csrfOf(page.body), token: wrong() });
      expect(res.statusCode).toBe(401);
      expect(res.body).toContain('That token is not valid');
    }
    const page = await client.get('/dashboard/sign-in');
    const res = await client.post('/dashboard/sign-in', { _csrf: csrfOf(page.body), token: h.tokens.acme.token });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(client.jar.has('hrsync_session')).toBe(false);
    expect((await new DashboardClient(h.app, via('203.0.113.41')).signIn(h.tokens.acme.token)).statusCode).toBe(303);
  });
});

describe('the admin token at start', () => {
  const env = () => ({ ...h.svc.env, HRSYNC_CONFIG: h.svc.ctx.config.source, PORT: '0', LOG_LEVEL: 'warn' });

  it('refuses an admin token under 32 characters, naming the variable and the minimum', async () => {
    const r = await runCli(['start', '--role', 'api'], { ...env(), HRSYNC_ADMIN_TOKEN: 'x'.repeat(31) }, { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HRSYNC_ADMIN_TOKEN: must be at least 32 characters/);
    expect(r.stderr).not.toContain('x'.repeat(31));
  });

  it('refuses to start without HRSYNC_ADMIN_TOKEN in production, in one line, instead of printing a generated one', async () => {
    const r = await runCli(['start', '--role', 'api'], { ...env(), HRSYNC_ADMIN_TOKEN: '', NODE_ENV: 'production' }, { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hrsync: HRSYNC_ADMIN_TOKEN is not set: in production/);
    expect(r.stderr).not.toContain("this run's admin token");
  });
});
