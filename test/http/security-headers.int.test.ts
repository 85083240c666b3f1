import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../src/app/readiness.js';
import { TokenVerifier } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config/load.js';
import { buildApp } from '../../src/http/app.js';
import { fill, routesOf, startHttpService, type HttpService, type RouteInfo } from '../support/http.js';
import { employee } from '../support/store.js';
import { csrfOf, DashboardClient, setCookies } from './dashboard-client.js';

/**
 * Every dashboard and Bull Board response carries the security headers (@fastify/helmet):
 * a CSP with frame-ancestors 'none', X-Frame-Options DENY, nosniff; every cookie is
 * HttpOnly, SameSite and, when APP_URL is https, Secure; every dashboard POST needs the
 * session's CSRF token. The routes are read from the app, so a new one is covered too.
 */
let h: HttpService;
let ids: Record<string, string>;

beforeAll(async () => {
  h = await startHttpService({ workers: false });
  await h.svc.sync([employee(1), employee(2)]);
  const user = (await h.svc.store.query<{ id: string }>(`select id from users limit 1`))[0].id;
  const rollout = await h.svc.ctx.rollouts().create('acme', { userIds: [user], loginMethod: 'password', sendAt: new Date(Date.now() + 86_400_000).toISOString() });
  const run = (await h.svc.store.query<{ id: string }>(`select id from sync_runs limit 1`))[0].id;
  ids = { user, rollout: rollout.id, run };
});
afterAll(async () => {
  await h?.close();
});

function urlOf(r: RouteInfo): string {
  const id = r.url.includes('/users/') ? ids.user : r.url.includes('/rollouts/') ? ids.rollout : r.url.includes('/connectors/') ? 'acme-hr' : ids.run;
  return fill(r.url, { org: 'acme', id, queueName: 'sync', jobId: '1', queueStatus: 'completed', schedulerId: 'x', file: 'nope.css' }).replace('/*', '/x');
}

const browserRoutes = () => routesOf(h.app).filter((r) => (r.url === '/' || r.url.startsWith('/dashboard') || r.url.startsWith('/admin')) && r.method !== 'HEAD');

function expectSecurityHeaders(res: LightMyRequestResponse, what: string): void {
  const csp = String(res.headers['content-security-policy'] ?? '');
  expect(csp, what).toMatch(/(^|;)\s*frame-ancestors 'none'/);
  expect(csp, what).toMatch(/(^|;)\s*default-src 'none'/);
  expect(csp, what).toMatch(/(^|;)\s*object-src 'none'/);
  expect(res.headers['x-frame-options'], what).toBe('DENY');
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(res.headers['referrer-policy'], what).toBe('same-origin');
}

function expectCookieFlags(res: LightMyRequestResponse, what: string, secure: boolean): number {
  const lines = setCookies(res);
  for (const line of lines) {
    expect(line, what).toMatch(/;\s*HttpOnly/i);
    expect(line, what).toMatch(/;\s*SameSite=Lax/i);
    expect(line, what).toMatch(/;\s*Path=\/dashboard(;|$)/);
    if (secure) expect(line, what).toMatch(/;\s*Secure/i);
    else expect(line, what).not.toMatch(/;\s*Secure/i);
  }
  return lines.length;
}

describe('security headers and cookie flags', () => {
  it('finds the routes to check: the dashboard, its assets, sign-in/out, Bull Board UI and API', () => {
    const names = browserRoutes().map((r) => `${r.method} ${r.url}`);
    expect(names.filter((n) => n.includes('/dashboard')).length).toBeGreaterThan(25);
    expect(names.filter((n) => n.includes('/admin/queues')).length).toBeGreaterThan(30);
  });

  it('sets them on every dashboard response, signed out and signed in (admin and organization)', async () => {
    const admin = new DashboardClient(h.app);
    expect((await admin.signIn(h.adminToken)).statusCode).toBe(303);
    const org = new DashboardClient(h.app);
    expect((await org.signIn(h.tokens.acme.token)).statusCode).toBe(303);
    const statuses = new Set<number>();
    let cookies = 0;
    for (const r of browserRoutes().filter((x) => !x.url.startsWith('/admin/queues') && x.method === 'GET')) {
      for (const [who, c] of [['signed out', new DashboardClient(h.app)], ['admin', admin], ['acme', org]] as const) {
        const res = await c.get(urlOf(r));
        statuses.add(res.statusCode);
        expectSecurityHeaders(res, `${who} GET ${urlOf(r)} → ${res.statusCode}`);
        if (!r.url.startsWith('/dashboard/assets')) expect(res.headers['cache-control'], `${who} ${r.url}`).toBe('no-store');
        cookies += expectCookieFlags(res, `${who} GET ${r.url}`, false);
      }
    }
    // pages, redirects to sign-in, 404s: every kind of answer was checked
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 303, 404]));
    expect(cookies).toBeGreaterThan(0);
  });

  it('sets them on every Bull Board response: with the admin token, and on the 401 without it', async () => {
    const auth = { authorization: `Bearer ${h.adminToken}` };
    for (const r of browserRoutes().filter((x) => x.url.startsWith('/admin/queues'))) {
      const url = urlOf(r);
      const denied = await h.call(r.method as 'GET', url, { token: null });
      expect(denied.statusCode, url).toBe(401);
      expectSecurityHeaders(denied, `unauthenticated ${r.method} ${url}`);
      if (r.method !== 'GET') continue; // the admin's actions change queues: their headers are checked on the 401 above
      const res = await h.call('GET', url, { token: null, headers: auth });
      expectSecurityHeaders(res, `admin GET ${url} → ${res.statusCode}`);
    }
    const page = await h.call('GET', '/admin/queues', { token: null, headers: auth });
    expect(page.statusCode).toBe(200);
    // Bull Board's own page works under its policy: scripts from itself only, no inline script
    expect(String(page.headers['content-security-policy'])).toMatch(/script-src 'self'(;|$)/);
    expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)/);
  });

  it('marks every cookie Secure, and sends HSTS, when APP_URL is https (behind TLS-ending proxies)', async () => {
    const ctx = h.svc.ctx;
    const config = loadConfig({ ...h.svc.env, HRSYNC_CONFIG: ctx.config.source, APP_URL: 'https://hrsync.example', TRUST_PROXY: '127.0.0.1/8' });
    expect(config.http.cookieSecure).toBe(true);
    const app = await buildApp({
      config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync,
      tokens: new TokenVerifier(ctx.em, config.adminToken, 0), readiness: () => readiness(ctx.em, config.redisUrl),
    });
    try {
      const c = new DashboardClient(app);
      const form = await c.get('/dashboard/sign-in');
      expect(expectCookieFlags(form, 'sign-in form', true)).toBe(1);
      const signedIn = await c.post('/dashboard/sign-in', { _csrf: csrfOf(form.body), token: h.tokens.acme.token });
      expect(signedIn.statusCode).toBe(303);
      expect(expectCookieFlags(signedIn, 'sign-in', true)).toBe(1);
      const page = await c.get('/dashboard/orgs/acme/connectors');
      expect(page.statusCode).toBe(200);
      expect(page.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      const out = await c.post('/dashboard/sign-out', { _csrf: csrfOf(page.body) });
      expect(expectCookieFlags(out, 'sign-out', true)).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe('CSRF on every dashboard form', () => {
  it('refuses each POST without the token, with a made-up one, or with another session\'s, and changes nothing', async () => {
    const mine = new DashboardClient(h.app);
    await mine.signIn(h.adminToken);
    const other = new DashboardClient(h.app);
    await other.signIn(h.adminToken);
    const othersToken = csrfOf((await other.get('/dashboard/orgs/acme/connectors')).body);
    const signedOutToken = csrfOf((await new DashboardClient(h.app).get('/dashboard/sign-in')).body);
    const before = await h.snapshot();
    const posts = browserRoutes().filter((r) => r.method === 'POST' && r.url.startsWith('/dashboard') && r.url !== '/dashboard/sign-in');
    expect(posts.length).toBeGreaterThanOrEqual(8);
    for (const r of posts) {
      for (const [name, token] of [['none', undefined], ['made up', 'x'.repeat(52)], ["another session's", othersToken], ['signed-out', signedOutToken]] as const) {
        const res = await mine.post(urlOf(r), { ...(token ? { _csrf: token } : {}), dryRun: '1', selection: 'ids', userIds: ids.user, step: 'confirm', loginMethod: 'password' });
        expect(res.statusCode, `${r.url} with ${name} token`).toBe(403);
        expectSecurityHeaders(res, `POST ${r.url}`);
      }
    }
    expect(await h.snapshot()).toBe(before);
    // still signed in: the refused POSTs (sign-out among them) ended nothing
    expect((await mine.get('/dashboard/orgs/acme/connectors')).statusCode).toBe(200);
    // and the sign-in form: its token must come with the form's cookie
    const fresh = new DashboardClient(h.app);
    const form = await fresh.get('/dashboard/sign-in');
    const token = csrfOf(form.body);
    const res = await h.app.inject({ method: 'POST', url: '/dashboard/sign-in', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: token, token: h.adminToken }).toString() });
    expect(res.statusCode).toBe(403);
    expect(setCookies(res).some((l) => l.startsWith('hrsync_session='))).toBe(false);
  });
});
