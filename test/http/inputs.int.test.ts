import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, routesOf, startHttpService, type HttpService } from '../support/http.js';
import { employee } from '../support/store.js';
import { csrfOf, DashboardClient } from './dashboard-client.js';

/**
 * Input an attacker or a careless client sends: dates outside what the store holds and
 * non-ASCII redirect targets are 400s, not 500s; and API answers with personal data are
 * never stored by a browser or a shared cache.
 */
let h: HttpService;
let user: string;

beforeAll(async () => {
  h = await startHttpService({ workers: false });
  await h.svc.sync([employee(1), employee(2)]);
  user = (await h.svc.store.query<{ id: string }>(`select id from users limit 1`))[0].id;
});
afterAll(async () => {
  await h?.close();
});

describe('dates outside the range the store holds', () => {
  it.each(['0000-01-01T00:00:00Z', '0000-12-31T23:59:59.999Z', '0001-01-01T00:30:00+01:00', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z', '10000-01-01T00:00:00Z'])(
    'answers 400 to a rollout sent at %s, and creates nothing',
    async (sendAt) => {
      const before = await h.snapshot();
      const res = await h.call('POST', '/api/rollouts', { token: h.tokens.acme.token, body: { userIds: [user], loginMethod: 'password', sendAt } });
      expect(res.statusCode).toBe(400);
      expect(errorBody(res)).toEqual({ code: 'validation_failed', message: expect.stringMatching(/^sendAt: /) });
      expect(await h.snapshot()).toBe(before);
    },
  );

  it.each(['/api/rollouts', '/api/sync-runs'])('answers 400 to %s?before= out of range (page cursors)', async (url) => {
    for (const before of ['0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z']) {
      const res = await h.call('GET', `${url}?before=${encodeURIComponent(before)}`, { token: h.tokens.acme.token });
      expect(res.statusCode, before).toBe(400);
      expect(errorBody(res).code).toBe('validation_failed');
    }
    // the edges that are in range still page
    for (const before of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) expect((await h.call('GET', `${url}?before=${before}`, { token: h.tokens.acme.token })).statusCode, before).toBe(200);
  });

  it('takes the far end of the range for a rollout (a date the store can hold)', async () => {
    const res = await h.call('POST', '/api/rollouts', { token: h.tokens.acme.token, body: { userIds: [user], loginMethod: 'password', sendAt: '9999-12-31T23:59:59Z' } });
    expect(res.statusCode).toBe(202);
    expect(res.json().sendAt).toBe('9999-12-31T23:59:59.000Z');
  });

  it('shows the dashboard\'s rollout list from the start for an out-of-range cursor, not a 500', async () => {
    const c = new DashboardClient(h.app);
    await c.signIn(h.tokens.acme.token);
    for (const page of ['rollouts', 'runs']) {
      for (const before of ['+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z']) {
        const res = await c.get(`/dashboard/orgs/acme/${page}?before=${encodeURIComponent(before)}`);
        expect(res.statusCode, `${page} ${before}`).toBe(200);
      }
    }
  });
});

describe('where to go after signing in', () => {
  it.each(['/dashboard/\u00e9', '/dashboard/orgs?q=M\u00fcller', '/dashboard/a\u2028b', '/dashboard/\ud83d\ude00'])('answers 400 to a non-ASCII next (%j), on the form and on its POST', async (next) => {
    const c = new DashboardClient(h.app);
    const form = await c.get(`/dashboard/sign-in?next=${encodeURIComponent(next)}`);
    expect(form.statusCode).toBe(400);
    expect(form.headers['content-type']).toMatch(/^text\/html/);
    const ok = await c.get('/dashboard/sign-in');
    const res = await c.post('/dashboard/sign-in', { _csrf: csrfOf(ok.body), token: h.tokens.acme.token, next });
    expect(res.statusCode).toBe(400);
    // and a signed-in user sent to the form with such a next
    const signedIn = new DashboardClient(h.app);
    await signedIn.signIn(h.tokens.acme.token);
    expect((await signedIn.get(`/dashboard/sign-in?next=${encodeURIComponent(next)}`)).statusCode).toBe(400);
  });

  it('still follows a percent-encoded dashboard path', async () => {
    const c = new DashboardClient(h.app);
    const form = await c.get('/dashboard/sign-in');
    const res = await c.post('/dashboard/sign-in', { _csrf: csrfOf(form.body), token: h.tokens.acme.token, next: '/dashboard/orgs/acme/users?q=M%C3%BCller' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/dashboard/orgs/acme/users?q=M%C3%BCller');
  });
});

describe('Cache-Control on the API', () => {
  it('sends no-store on every API answer: lists, single records, errors', async () => {
    const urls = routesOf(h.app)
      .filter((r) => r.method === 'GET' && r.url.startsWith('/api/'))
      .map((r) => r.url.replace(':id', r.url.startsWith('/api/users') ? user : '00000000-0000-4000-8000-000000000000'));
    expect(urls.length).toBeGreaterThanOrEqual(7);
    for (const url of urls) {
      for (const token of [h.tokens.acme.token, h.adminToken, null]) {
        const res = await h.call('GET', url, { token });
        expect(res.headers['cache-control'], `${url} → ${res.statusCode}`).toBe('no-store');
      }
    }
    const created = await h.call('POST', '/api/users', { token: h.tokens.acme.token, body: { email: 'new.person@acme.example', firstName: 'New' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
  });
});
