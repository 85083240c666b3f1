import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, routesOf, sleep, startHttpService, type HttpService } from '../support/http.js';
import { tokenOf, waitFor } from '../support/service.js';
import { employee, type Row } from '../support/store.js';

/**
 * Two organizations, acme and globex: an organization token never reads or changes the
 * other's data — not by id, not by list, not by naming the other organization, not by a
 * rollout's selection.
 */
let h: HttpService;
let globex: string;
let acme: string;
/** acme's resources, which globex must not reach */
const A = { users: [] as string[], emails: [] as string[], names: [] as string[], rolloutScheduled: '', rolloutPaused: '', rolloutDone: '', run: '', heldRun: '', location: '', group: '', inviteToken: '', rule: '' };
/** globex's own */
const G = { users: [] as string[], run: '' };
const NOBODY = '00000000-0000-4000-8000-000000000000';

const globexRow = (i: number): Partial<Row> => ({ ...employee(i), employeeId: `G${i}`, email: `staff${i}@globex.example`, firstName: `Gx${i}`, location: 'Osaka', department: 'Research', managerId: '' });

beforeAll(async () => {
  h = await startHttpService();
  globex = h.tokens.globex.token;
  acme = h.tokens.acme.token;
  const rows = [1, 2, 3, 4, 5, 6].map((i) => employee(i));
  await h.svc.sync([...rows, employee(7, { email: 'broken' })]);
  const users = await h.svc.store.query<{ id: string; email: string; first_name: string }>(`select id, email, first_name from users where organization_id = 'acme' order by seq`);
  A.users = users.map((u) => u.id);
  A.emails = users.map((u) => u.email);
  A.names = users.map((u) => u.first_name);
  A.location = (await h.svc.store.query<{ id: string }>(`select id from locations where organization_id = 'acme' and name = 'Berlin'`))[0].id;
  A.group = (await h.svc.store.query<{ id: string }>(`select id from groups where organization_id = 'acme' and name = 'Engineering'`))[0].id;
  A.run = (await h.svc.store.query<{ id: string }>(`select id from sync_runs where organization_id = 'acme'`))[0].id;
  // a held run of acme's: a listing that drops most users, above the (explicit) threshold
  await h.svc.store.query(`insert into sync_runs (organization_id, connector_id, trigger, status, held_reason) values ('acme', 'acme-hr', 'manual', 'needs_approval', 'test') `);
  A.heldRun = (await h.svc.store.query<{ id: string }>(`select id from sync_runs where organization_id = 'acme' and status = 'needs_approval'`))[0].id;

  const r = h.svc.ctx.rollouts();
  A.rolloutScheduled = (await r.create('acme', { userIds: [A.users[0]], loginMethod: 'password', sendAt: new Date(Date.now() + 86_400_000).toISOString() })).id;
  A.rolloutPaused = (await r.create('acme', { userIds: [A.users[1]], loginMethod: 'password', sendAt: new Date(Date.now() + 86_400_000).toISOString() })).id;
  await r.pause(A.rolloutPaused);
  A.rolloutDone = (await r.create('acme', { userIds: [A.users[2]], loginMethod: 'sso' })).id;
  await waitFor(async () => (await r.get(A.rolloutDone))?.status === 'completed');
  await h.sink.waitForMessages(1);
  A.inviteToken = tokenOf(h.sink.messages[0].text);
  A.rule = (await h.svc.ctx.rules().create('acme', { name: 'Acme joiners', filter: { location: 'Berlin' }, daysBefore: 3, localTime: '09:00', loginMethod: 'sso' }, 'admin')).id;

  expect(await h.svc.syncOther([1, 2, 3].map(globexRow))).toBe('succeeded');
  G.users = (await h.svc.store.query<{ id: string }>(`select id from users where organization_id = 'globex' order by seq`)).map((u) => u.id);
  G.run = (await h.svc.store.query<{ id: string }>(`select id from sync_runs where organization_id = 'globex'`))[0].id;
  h.sink.reset();
});
afterAll(async () => {
  await h?.close();
});

/** None of acme's data: e-mails, names, ids, its organization's name or its locations. */
function expectNoAcmeData(body: string): void {
  const ids = [...A.users, A.rolloutScheduled, A.rolloutPaused, A.rolloutDone, A.run, A.heldRun, A.location, A.group];
  for (const s of [...A.emails, ...A.names, ...ids, 'Acme', 'Berlin', 'Munich']) expect(body).not.toContain(s);
}
/** An error answer that tells nothing about acme (it may echo the id the caller sent). */
function expectNoLeak(body: string, sent = ''): void {
  expectNoAcmeData(body.split(sent).join(''));
  for (const s of ['"organizationId"', '"email"', '"status"']) expect(body).not.toContain(s);
}

/** Every /api route that names a resource, called on acme's resource: [method, path, body]. */
function acmeTargets(): Array<[string, string, unknown]> {
  return [
    ['GET', `/api/users/${A.users[0]}`, undefined],
    ['HEAD', `/api/users/${A.users[0]}`, undefined],
    ['PATCH', `/api/users/${A.users[0]}`, { roles: ['admin'], location: 'Globex Tower', groups: ['Owned'], status: 'deactivated' }],
    ['GET', `/api/users/${A.users[0]}/history`, undefined],
    ['HEAD', `/api/users/${A.users[0]}/history`, undefined],
    ['POST', `/api/users/${A.users[0]}/sync`, undefined],
    ['POST', `/api/notifications/endpoints/acme-hr/enable`, undefined],
    ['GET', `/api/rollouts/${A.rolloutScheduled}`, undefined],
    ['HEAD', `/api/rollouts/${A.rolloutScheduled}`, undefined],
    ['POST', `/api/rollouts/${A.rolloutScheduled}/cancel`, undefined],
    ['POST', `/api/rollouts/${A.rolloutScheduled}/pause`, undefined],
    ['POST', `/api/rollouts/${A.rolloutPaused}/resume`, undefined],
    ['POST', `/api/connectors/acme-hr/sync`, { dryRun: false }],
    ['GET', `/api/sync-runs/${A.run}`, undefined],
    ['HEAD', `/api/sync-runs/${A.run}`, undefined],
    ['POST', `/api/sync-runs/${A.heldRun}/approve`, undefined],
    ['POST', `/api/sync-runs/${A.heldRun}/reject`, undefined],
    ['GET', `/api/rules/${A.rule}`, undefined],
    ['HEAD', `/api/rules/${A.rule}`, undefined],
    ['PATCH', `/api/rules/${A.rule}`, { enabled: true }],
    ['POST', `/api/rules/${A.rule}/enable`, undefined],
    ['POST', `/api/rules/${A.rule}/disable`, undefined],
    ['GET', `/api/rules/${A.rule}/preview`, undefined],
    ['HEAD', `/api/rules/${A.rule}/preview`, undefined],
    ['GET', `/api/rules/${A.rule}/audit`, undefined],
    ['HEAD', `/api/rules/${A.rule}/audit`, undefined],
    ['PUT', `/api/locations/${A.location}/time-zone`, { timeZone: 'Asia/Tokyo' }],
  ];
}

describe('one organization token on another organization', () => {
  it('covers every /api route that takes an id', () => {
    const withId = routesOf(h.app).filter((r) => r.url.startsWith('/api/') && r.url.includes(':')).map((r) => `${r.method} ${r.url}`);
    const covered = acmeTargets().map(([m, p]) => `${m} ${p.replace(/\/(?:[0-9a-f-]{36}|acme-hr)(?=\/|$)/, '/:id')}`);
    expect(new Set(covered)).toEqual(new Set(withId));
  });

  it("answers 404 to globex's token on each of acme's resources, the same as for an id that does not exist, and changes nothing", async () => {
    const before = await h.snapshot();
    for (const [method, path, body] of acmeTargets()) {
      const res = await h.call(method as 'GET', path, { token: globex, body });
      expect([403, 404], `${method} ${path}: ${res.statusCode} ${res.body}`).toContain(res.statusCode);
      if (method === 'HEAD') continue;
      expectNoLeak(res.body, /[0-9a-f-]{36}/.exec(path)?.[0]);
      const e = errorBody(res);
      const missing = await h.call(method as 'GET', path.replace(/[0-9a-f-]{36}|acme-hr/, (m) => (m === 'acme-hr' ? 'no-such-connector' : NOBODY)), { token: globex, body });
      expect(missing.statusCode, `${method} ${path}`).toBe(res.statusCode);
      expect(errorBody(missing).code, `${method} ${path}`).toBe(e.code);
    }
    await sleep(300); // anything queued by mistake would have started
    expect(await h.snapshot()).toBe(before);
    // and acme's own token still works on them
    expect((await h.call('GET', `/api/rollouts/${A.rolloutScheduled}`, { token: acme })).json().status).toBe('scheduled');
  });

  it('never lists the other organization on any list route, whatever the filter', async () => {
    const all = routesOf(h.app).filter((r) => r.method === 'GET' && r.url.startsWith('/api/') && !r.url.includes(':') && r.url !== '/api/openapi.json').map((r) => r.url);
    expect(all.sort()).toEqual(['/api/connectors', '/api/history/export', '/api/locations', '/api/notifications/deliveries', '/api/notifications/endpoints', '/api/rollouts', '/api/rules', '/api/sync-runs', '/api/users']);
    // the history export (a JSON array, not a page): only the token's own organization's events
    const range = 'from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&format=json';
    for (const [org, token] of [['globex', globex], ['acme', acme]] as const) {
      const res = await h.call('GET', `/api/history/export?${range}`, { token });
      expect(res.statusCode, res.body).toBe(200);
      const events = res.json() as Array<{ userId: string }>;
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => (org === 'acme' ? A.users : G.users).includes(e.userId))).toBe(true);
      if (org === 'globex') expectNoAcmeData(res.body);
    }
    expect((await h.call('GET', `/api/history/export?${range}&organizationId=acme`, { token: globex })).statusCode).toBe(404);
    const lists = all.filter((u) => u !== '/api/history/export');
    const queries: Record<string, string[]> = {
      '/api/users': ['', '?limit=1000', `?locationId=${A.location}`, `?groupId=${A.group}`, `?q=${encodeURIComponent(A.emails[0])}`, '?q=E1', '?access=invited', '?status=active'],
      '/api/rollouts': ['', '?status=scheduled', '?status=paused', '?status=completed', '?limit=500'],
      '/api/sync-runs': ['', '?connectorId=acme-hr', '?status=needs_approval', '?status=succeeded', '?limit=500'],
      '/api/connectors': [''],
      '/api/rules': [''],
      '/api/locations': [''],
      '/api/notifications/endpoints': [''],
      '/api/notifications/deliveries': ['', '?limit=500', '?endpointId=ops'],
    };
    for (const [org, token, other] of [['globex', globex, 'acme'], ['acme', acme, 'globex']] as const) {
      for (const url of lists) {
        for (const q of queries[url]) {
          const res = await h.call('GET', url + q, { token });
          expect(res.statusCode, `${org} ${url}${q}: ${res.body}`).toBe(200);
          const { data } = res.json() as { data: Array<{ organizationId: string }> };
          expect(data.every((d) => d.organizationId === org), `${org} ${url}${q}`).toBe(true);
          expect(res.body).not.toContain(`"${other}"`);
          if (org === 'globex') expectNoAcmeData(res.body);
        }
      }
    }
    // what globex does see: its own
    expect((await h.call('GET', '/api/users', { token: globex })).json().data.map((u: { id: string }) => u.id)).toEqual(G.users);
    expect((await h.call('GET', '/api/sync-runs', { token: globex })).json().data.map((r: { id: string }) => r.id)).toEqual([G.run]);
  });

  it('answers 404 to organizationId=acme with a globex token, in the query or the body, and changes nothing', async () => {
    const before = await h.snapshot();
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/api/users?organizationId=acme', undefined],
      ['GET', '/api/rollouts?organizationId=acme', undefined],
      ['GET', '/api/sync-runs?organizationId=acme', undefined],
      ['GET', '/api/connectors?organizationId=acme', undefined],
      ['GET', `/api/users/${G.users[0]}?organizationId=acme`, undefined],
      ['GET', `/api/users/${A.users[0]}?organizationId=acme`, undefined],
      ['PATCH', `/api/users/${A.users[0]}?organizationId=acme`, { roles: ['admin'] }],
      ['GET', `/api/rollouts/${A.rolloutScheduled}?organizationId=acme`, undefined],
      ['POST', `/api/rollouts/${A.rolloutScheduled}/cancel?organizationId=acme`, undefined],
      ['POST', `/api/rollouts/${A.rolloutPaused}/resume?organizationId=acme`, undefined],
      ['POST', '/api/connectors/acme-hr/sync?organizationId=acme', {}],
      ['POST', '/api/connectors/globex-hr/sync?organizationId=acme', {}],
      ['GET', `/api/sync-runs/${A.run}?organizationId=acme`, undefined],
      ['POST', `/api/sync-runs/${A.heldRun}/approve?organizationId=acme`, undefined],
      ['POST', '/api/users', { organizationId: 'acme', email: 'mole@acme.example', invite: { loginMethod: 'password' } }],
      ['POST', '/api/rollouts', { organizationId: 'acme', filter: { status: 'active' }, loginMethod: 'password' }],
    ];
    for (const [method, url, body] of calls) {
      const res = await h.call(method as 'GET', url, { token: globex, body });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
      expectNoLeak(res.body, /[0-9a-f-]{36}/.exec(url)?.[0]);
      errorBody(res);
    }
    await sleep(300);
    expect(await h.snapshot()).toBe(before);
    expect(h.sink.messages).toHaveLength(0);
  });

  it("reaches nobody in acme from a globex rollout naming acme's users, location, group or connector", async () => {
    const before = await h.svc.store.query(`select id, access, updated_at from users where organization_id = 'acme' order by id`);
    const byIds = await h.call('POST', '/api/rollouts', { token: globex, body: { userIds: [...A.users, G.users[0]], loginMethod: 'password' } });
    expect(byIds.statusCode, byIds.body).toBe(202);
    expect(byIds.json().organizationId).toBe('globex');
    const filters = [{ location: 'Berlin' }, { group: 'Engineering' }, { connector: 'acme-hr' }, { location: 'Munich', access: 'none' as const }];
    const byFilter = [];
    for (const filter of filters) {
      const res = await h.call('POST', '/api/rollouts', { token: globex, body: { filter, loginMethod: 'magic_link' } });
      expect(res.statusCode, res.body).toBe(202);
      byFilter.push(res.json().id as string);
    }
    const done = async (id: string) =>
      waitFor(async () => {
        const r = (await h.call('GET', `/api/rollouts/${id}`, { token: globex })).json();
        return r.status === 'completed' ? r : null;
      });
    const first = await done(byIds.json().id);
    expect(first.counts).toMatchObject({ targeted: 1, sent: 1 });
    expect(first.skippedByReason).toEqual({ not_found: A.users.length });
    for (const id of byFilter) expect((await done(id)).counts).toMatchObject({ targeted: 0, sent: 0 });
    await sleep(1_200); // a reconcile pass
    expect(h.sink.messages.map((m) => m.envelope.to[0])).toEqual(['staff1@globex.example']);
    expect(await h.svc.store.query(`select id, access, updated_at from users where organization_id = 'acme' order by id`)).toEqual(before);
    expect(await h.svc.store.query(`select count(*)::int as n from invitations i join users u on u.id = i.user_id where i.organization_id = 'globex' and u.organization_id <> 'globex'`)).toEqual([{ n: 0 }]);
    h.sink.reset();
  });

  it("refuses acme's invitation token when accepted for globex, and leaves the user invited", async () => {
    const res = await h.call('POST', '/api/invitations/accept', { token: null, body: { token: A.inviteToken, organizationId: 'globex' } });
    expect(res.statusCode).toBe(400);
    expect(errorBody(res)).toEqual({ code: 'invitation_invalid', message: 'this invitation link is invalid or has expired' });
    expect((await h.svc.store.query(`select access from users where id = $1`, [A.users[2]]))[0].access).toBe('invited');
  });
});
