import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../src/auth/tokens.js';
import { errorBody, fill, routesOf, startHttpService, type HttpService, type RouteInfo } from '../support/http.js';
import { employee } from '../support/store.js';

/**
 * Who may call what: every /api route but two needs a bearer token of the admin or of an
 * organization; Bull Board needs the admin token (Bearer, or Basic with it as password).
 */
let h: HttpService;
let ids: Record<string, string>;
let revoked: string;
const PUBLIC = new Set(['/api/invitations/accept', '/api/openapi.json']);

beforeAll(async () => {
  // Hundreds of wrong tokens from one client on purpose: the failed-authentication limit is test/http/auth-limits.int.test.ts's.
  h = await startHttpService({ workers: false, env: { AUTH_FAIL_LIMIT: '1000000' } });
  await h.svc.sync([employee(1), employee(2)]);
  const user = (await h.svc.store.query<{ id: string }>(`select id from users limit 1`))[0].id;
  const rollout = await h.svc.ctx.rollouts().create('acme', { userIds: [user], loginMethod: 'password', sendAt: new Date(Date.now() + 86_400_000).toISOString() });
  const run = (await h.svc.store.query<{ id: string }>(`select id from sync_runs limit 1`))[0].id;
  ids = { user, rollout: rollout.id, run };
  const t = await createToken(h.svc.ctx.em(), 'acme', 'to revoke');
  expect((await h.call('GET', '/api/users', { token: t.token })).statusCode).toBe(200);
  await revokeToken(h.svc.ctx.em(), t.record.id);
  revoked = t.token;
});
afterAll(async () => {
  await h?.close();
});

/** A real id for each route's `:id`, and a body that would be valid: only the token is wrong. */
function request(r: RouteInfo): { url: string; body?: unknown } {
  const id = r.url.startsWith('/api/users') ? ids.user : r.url.startsWith('/api/rollouts') ? ids.rollout : r.url.startsWith('/api/connectors') ? 'acme-hr' : ids.run;
  const url = fill(r.url, { id, queueName: 'sync', jobId: '1', queueStatus: 'completed', schedulerId: 'x' }).replace('/*', '/main.js');
  const bodies: Record<string, unknown> = {
    'POST /api/users': { organizationId: 'acme', email: 'intruder@acme.example', invite: { loginMethod: 'password' } },
    'PATCH /api/users/:id': { roles: ['admin'] },
    'POST /api/rollouts': { organizationId: 'acme', filter: { status: 'active' }, loginMethod: 'password' },
    'POST /api/connectors/:id/sync': { dryRun: false },
    'POST /api/rules': { organizationId: 'acme', name: 'intruder', daysBefore: 0, localTime: '00:00', loginMethod: 'password', enabled: true },
    'POST /api/rules/preview': { organizationId: 'acme', name: 'intruder', daysBefore: 0, localTime: '00:00', loginMethod: 'password' },
    'PATCH /api/rules/:id': { enabled: true },
    'PUT /api/locations/:id/time-zone': { timeZone: 'Europe/Berlin' },
  };
  return { url, body: bodies[`${r.method} ${r.url}`] ?? (['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined) };
}

const apiRoutes = () => routesOf(h.app).filter((r) => r.url.startsWith('/api/') && !PUBLIC.has(r.url));
const adminRoutes = () => routesOf(h.app).filter((r) => r.url.startsWith('/admin/queues'));
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const badCredentials: Array<[string, () => Record<string, string>]> = [
  ['no token', () => ({})],
  ['a wrong token', () => ({ authorization: 'Bearer not-a-token' })],
  ['a well-formed unknown token', () => ({ authorization: `Bearer hrs_${randomBytes(32).toString('base64url')}` })],
  ['a revoked token', () => ({ authorization: `Bearer ${revoked}` })],
  ['an over-long token', () => ({ authorization: `Bearer hrs_${'a'.repeat(5_000)}` })],
  ['an empty bearer', () => ({ authorization: 'Bearer ' })],
  ['the admin token as Basic (the API takes Bearer only)', () => ({ authorization: basic('admin', h.adminToken) })],
  ['the admin token with another scheme', () => ({ authorization: `Token ${h.adminToken}` })],
];

describe('/api without a valid token', () => {
  it('finds the routes to check: every /api route but accepting an invitation and the OpenAPI document', () => {
    const names = apiRoutes().filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`).sort();
    expect(names).toEqual([
      'GET /api/connectors', 'GET /api/history/export', 'GET /api/locations', 'GET /api/notifications/deliveries', 'GET /api/notifications/endpoints',
      'GET /api/rollouts', 'GET /api/rollouts/:id', 'GET /api/rules', 'GET /api/rules/:id', 'GET /api/rules/:id/audit',
      'GET /api/rules/:id/preview', 'GET /api/sync-runs', 'GET /api/sync-runs/:id', 'GET /api/users', 'GET /api/users/:id', 'GET /api/users/:id/history',
      'PATCH /api/rules/:id', 'PATCH /api/users/:id', 'POST /api/connectors/:id/sync', 'POST /api/notifications/endpoints/:id/enable',
      'POST /api/rollouts', 'POST /api/rollouts/:id/cancel', 'POST /api/rollouts/:id/pause',
      'POST /api/rollouts/:id/resume', 'POST /api/rules', 'POST /api/rules/:id/disable', 'POST /api/rules/:id/enable', 'POST /api/rules/preview',
      'POST /api/sync-runs/:id/approve', 'POST /api/sync-runs/:id/reject', 'POST /api/users', 'POST /api/users/:id/sync', 'PUT /api/locations/:id/time-zone',
    ]);
    expect(apiRoutes()).toHaveLength(49); // with the HEAD twin of each GET
  });

  it.each(badCredentials)('answers 401 with the error shape to %s on every route, and changes nothing', async (_name, headers) => {
    const before = await h.snapshot();
    const wrong: string[] = [];
    for (const r of apiRoutes()) {
      const { url, body } = request(r);
      const res = await h.call(r.method as 'GET', url, { token: null, headers: headers(), body });
      if (res.statusCode !== 401) wrong.push(`${r.method} ${url} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      else if (r.method !== 'HEAD') expect(errorBody(res).code).toBe('unauthorized');
    }
    expect(wrong).toEqual([]);
    expect(await h.snapshot()).toBe(before);
  });

  it('answers 401 before reading the body: an oversized or malformed body from an unknown caller is not parsed', async () => {
    for (const raw of ['x'.repeat(17 * 1024 * 1024), '{"loginMethod":', '['.repeat(100_000)]) {
      const res = await h.call('POST', '/api/rollouts', { token: null, raw });
      expect(res.statusCode).toBe(401);
      expect(errorBody(res).code).toBe('unauthorized');
    }
  });

  it('answers 401 to a percent-encoded path to a protected route', async () => {
    for (const url of ['/%61pi/users', '/api/%75sers', `/%61pi/rollouts/${ids.rollout}/cancel`]) {
      const res = await h.call(url.endsWith('cancel') ? 'POST' : 'GET', url, { token: null });
      expect(res.statusCode, url).toBe(401);
      expect(errorBody(res)).toEqual({ code: 'unauthorized', message: 'missing, invalid or revoked bearer token' });
    }
    expect((await h.svc.ctx.rollouts().get(ids.rollout))!.status).toBe('scheduled');
  });

  it('takes the admin token and an organization token (as Bearer)', async () => {
    const org = await h.call('GET', '/api/users', { token: h.tokens.acme.token });
    expect(org.statusCode).toBe(200);
    expect(org.json().data).toHaveLength(2);
    const admin = await h.call('GET', '/api/users', { token: h.adminToken });
    expect(admin.statusCode).toBe(200);
    expect((await h.call('GET', '/api/users', { token: null, headers: { authorization: `bearer ${h.adminToken}` } })).statusCode).toBe(200);
  });
});

describe('/admin/queues (Bull Board)', () => {
  const orgCredentials: Array<[string, () => Record<string, string>]> = [
    ...badCredentials.filter(([name]) => !name.startsWith('the admin token as Basic')),
    ['an organization token as Bearer', () => ({ authorization: `Bearer ${h.tokens.acme.token}` })],
    ['an organization token as Basic password', () => ({ authorization: basic('admin', h.tokens.acme.token) })],
    ['the admin token as Basic user name', () => ({ authorization: basic(h.adminToken, 'x') })],
    ['a wrong Basic password', () => ({ authorization: basic('admin', `${h.adminToken}x`) })],
    ['Basic without a colon', () => ({ authorization: `Basic ${Buffer.from(h.adminToken).toString('base64')}` })],
  ];

  it.each(orgCredentials)('answers 401 to %s on every Bull Board route (the UI, its API, its actions)', async (_name, headers) => {
    const routes = adminRoutes();
    expect(routes.length).toBeGreaterThan(30);
    const counts = await h.svc.ctx.queues().sync.getJobCounts();
    const wrong: string[] = [];
    for (const r of routes) {
      const { url, body } = request(r);
      const res = await h.call(r.method as 'GET', url, { token: null, headers: headers(), body });
      if (res.statusCode !== 401) wrong.push(`${r.method} ${url} → ${res.statusCode}`);
      else if (r.method !== 'HEAD') {
        expect(errorBody(res).code).toBe('unauthorized');
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
      }
    }
    expect(wrong).toEqual([]);
    expect(await h.svc.ctx.queues().sync.getJobCounts()).toEqual(counts);
    expect(await h.svc.ctx.queues().sync.isPaused()).toBe(false);
  });

  it('opens for the admin token, as Bearer and as Basic password', async () => {
    for (const authorization of [`Bearer ${h.adminToken}`, basic('admin', h.adminToken), basic('', h.adminToken)]) {
      const page = await h.call('GET', '/admin/queues', { token: null, headers: { authorization } });
      expect(page.statusCode, authorization).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      const api = await h.call('GET', '/admin/queues/api/queues', { token: null, headers: { authorization } });
      expect(api.statusCode).toBe(200);
      expect(api.json().queues.map((q: { name: string }) => q.name).sort()).toEqual(['invitations', 'rollouts', 'sync']);
    }
  });
});
