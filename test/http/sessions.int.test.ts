import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken, TokenVerifier } from '../../src/auth/tokens.js';
import { readiness } from '../../src/app/readiness.js';
import { loadConfig } from '../../src/config/load.js';
import { buildApp } from '../../src/http/app.js';
import { startHttpService, type HttpService } from '../support/http.js';
import { csrfOf, DashboardClient, setCookies } from './dashboard-client.js';

/**
 * Dashboard sessions are kept on the server: signing out, revoking the token or replacing
 * the admin token ends them, and an old cookie is refused from then on.
 */
let h: HttpService;

beforeAll(async () => {
  h = await startHttpService({ workers: false });
});
afterAll(async () => {
  await h?.close();
});

const home = '/dashboard/orgs/acme/connectors';

describe('dashboard sessions', () => {
  it('refuses the cookie of a session that signed out', async () => {
    const c = new DashboardClient(h.app);
    const signedIn = await c.signIn(h.tokens.acme.token);
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe(home);
    const stolen = c.jar.get('hrsync_session')!;
    expect(stolen).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const page = await c.get(home);
    expect(page.statusCode).toBe(200);

    const out = await c.post('/dashboard/sign-out', { _csrf: csrfOf(page.body) });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/dashboard/sign-in');
    expect(c.jar.has('hrsync_session')).toBe(false);

    // The old cookie, replayed as it was (a copy taken before signing out): signed out for good.
    const replay = await h.app.inject({ method: 'GET', url: home, headers: { cookie: `hrsync_session=${stolen}` } });
    expect(replay.statusCode).toBe(303);
    expect(String(replay.headers.location)).toMatch(/^\/dashboard\/sign-in/);
    const rows = await h.svc.store.query<{ n: string }>(`select count(*) as n from dashboard_sessions`);
    expect(Number(rows[0].n)).toBe(0);
  });

  it('stores only a hash of the session id, and refuses made-up and malformed ids', async () => {
    const c = new DashboardClient(h.app);
    await c.signIn(h.tokens.acme.token);
    const id = c.jar.get('hrsync_session')!;
    const stored = await h.svc.store.query<{ id_hash: string }>(`select id_hash from dashboard_sessions`);
    expect(stored.map((r) => r.id_hash)).not.toContain(id);
    // one character off (never the id itself: an id ending in A stayed valid as "…A", 1 run in 64)
    const madeUp = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`;
    for (const cookie of [`hrsync_session=${madeUp}`, 'hrsync_session=x', `hrsync_session=${'a'.repeat(5000)}`, "hrsync_session=' or 1=1 --"]) {
      const res = await h.app.inject({ method: 'GET', url: home, headers: { cookie } });
      expect(res.statusCode, cookie.slice(0, 40)).toBe(303);
    }
    await h.svc.store.query(`delete from dashboard_sessions`);
  });

  it('ends the sessions of a revoked organization token', async () => {
    const t = await createToken(h.svc.ctx.em(), 'acme', 'to revoke');
    const c = new DashboardClient(h.app);
    expect((await c.signIn(t.token)).statusCode).toBe(303);
    expect((await c.get(home)).statusCode).toBe(200);
    await revokeToken(h.svc.ctx.em(), t.record.id);
    const after = await c.get(home);
    expect(after.statusCode).toBe(303);
    expect(String(after.headers.location)).toMatch(/^\/dashboard\/sign-in/);
  });

  it('keeps admin sessions shorter (1 h) than organization sessions (12 h)', async () => {
    await h.svc.store.query(`delete from dashboard_sessions`);
    const admin = new DashboardClient(h.app);
    const a = await admin.signIn(h.adminToken);
    expect(a.statusCode).toBe(303);
    const org = new DashboardClient(h.app);
    const o = await org.signIn(h.tokens.acme.token);
    const maxAge = (res: typeof a) => Number(/Max-Age=(\d+)/i.exec(setCookies(res).find((l) => l.startsWith('hrsync_session='))!)![1]);
    expect(maxAge(a)).toBe(3600);
    expect(maxAge(o)).toBe(12 * 3600);
    const rows = await h.svc.store.query<{ kind: string; s: string }>(`select kind, extract(epoch from expires_at - created_at) as s from dashboard_sessions order by kind`);
    expect(rows.map((r) => [r.kind, Math.round(Number(r.s))])).toEqual([['admin', 3600], ['organization', 43200]]);
    // an expired session is refused though its cookie is still sent
    await h.svc.store.query(`update dashboard_sessions set expires_at = now() - interval '1 second' where kind = 'admin'`);
    expect((await admin.get('/dashboard')).statusCode).toBe(303);
    expect((await org.get(home)).statusCode).toBe(200);
  });

  it('ends every admin session when the admin token changes', async () => {
    const c = new DashboardClient(h.app);
    expect((await c.signIn(h.adminToken)).statusCode).toBe(303);
    expect((await c.get('/dashboard')).statusCode).toBe(200);
    // The same store and Redis, served by a process started with another admin token.
    const ctx = h.svc.ctx;
    const rotated = loadConfig({ ...h.svc.env, HRSYNC_CONFIG: ctx.config.source, HRSYNC_ADMIN_TOKEN: `${h.adminToken}-rotated-0123456789` });
    const other = await buildApp({
      config: rotated, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync,
      tokens: new TokenVerifier(ctx.em, rotated.adminToken, 0), readiness: () => readiness(ctx.em, rotated.redisUrl),
    });
    try {
      const res = await other.inject({ method: 'GET', url: '/dashboard', headers: { cookie: c.cookieHeader() } });
      expect(res.statusCode).toBe(303);
      expect(String(res.headers.location)).toMatch(/^\/dashboard\/sign-in/);
    } finally {
      await other.close();
    }
  });
});
