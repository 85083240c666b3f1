import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, sleep, startHttpService, type HttpService } from '../support/http.js';
import { tokenOf, waitFor } from '../support/service.js';
import { employee, toCsv, type Row } from '../support/store.js';

/**
 * The HTTP API end to end: a built app (inject), running workers, a real SMTP sink.
 * Creating is not inviting — through the API too.
 */
let h: HttpService;
let acme: string;

beforeAll(async () => {
  h = await startHttpService();
  acme = h.tokens.acme.token;
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  h.sink.reset();
});

/** Every employee in acme's HR export so far: each sync lists them all again, as HR would. */
const hr = new Map<string, Partial<Row>>();
let next = 100;
async function hire(n: number, over: (i: number) => Partial<Row> = () => ({})): Promise<string[]> {
  const ids: string[] = [];
  for (let k = 0; k < n; k++, next++) {
    hr.set(`E${next}`, employee(next, over(next)));
    ids.push(`E${next}`);
  }
  await h.svc.sync([...hr.values()]);
  const rows = await h.svc.store.query<{ id: string }>(`select id from users where organization_id = 'acme' and external_id = any($1) order by seq`, [ids]);
  return rows.map((r) => r.id);
}
const get = async (url: string) => {
  const res = await h.call('GET', url, { token: acme });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
const rolloutReaches = (id: string, status: string, seen?: string[]) =>
  waitFor(async () => {
    const r = await get(`/api/rollouts/${id}`);
    if (seen && seen[seen.length - 1] !== r.status) seen.push(r.status);
    return r.status === status ? r : null;
  }, 15_000, 40);
/** Long enough for a reconcile pass (every second here) to have queued anything it would. */
const quietPeriod = () => sleep(1_300);

describe('inviting through the API', () => {
  it('sends exactly one message for a user created with invite, and none for one created without', async () => {
    const res = await h.call('POST', '/api/users', { token: acme, body: { email: 'new.hire@acme.example', firstName: 'New', invite: { loginMethod: 'sso', message: 'Welcome aboard' } } });
    expect(res.statusCode, res.body).toBe(201);
    const { user, rollout } = res.json();
    expect(user).toMatchObject({ email: 'new.hire@acme.example', access: 'none', organizationId: 'acme' });
    expect(rollout).toMatchObject({ organizationId: 'acme', loginMethod: 'sso', selection: { userIds: [user.id] } });
    const done = await rolloutReaches(rollout.id, 'completed');
    expect(done.counts).toMatchObject({ targeted: 1, sent: 1, pending: 0, failed: 0 });

    const plain = await h.call('POST', '/api/users', { token: acme, body: { email: 'no.invite@acme.example', firstName: 'Quiet' } });
    expect(plain.statusCode, plain.body).toBe(201);
    expect(plain.json().rollout).toBeNull();
    await quietPeriod();

    expect(h.sink.messages.map((m) => m.envelope.to)).toEqual([['new.hire@acme.example']]);
    expect((await get(`/api/users/${user.id}`)).access).toBe('invited');
    expect((await get(`/api/users/${plain.json().user.id}`)).access).toBe('none');
    const invs = await h.svc.store.query(`select user_id from invitations where user_id = any($1)`, [[user.id, plain.json().user.id]]);
    expect(invs).toEqual([{ user_id: user.id }]);
  });

  it('sends a filtered rollout at its sendAt and not before, with counters moving to completed', async () => {
    await hire(3, () => ({ location: 'Atlantis' }));
    await hire(2, () => ({ location: 'Elsewhere' }));
    const sendAt = new Date(Date.now() + 2_000);
    const res = await h.call('POST', '/api/rollouts', { token: acme, body: { filter: { location: 'Atlantis', access: 'none' }, loginMethod: 'password', sendAt: sendAt.toISOString() } });
    expect(res.statusCode, res.body).toBe(202);
    const created = res.json();
    expect(created).toMatchObject({ status: 'scheduled', organizationId: 'acme', sendAt: sendAt.toISOString(), counts: { targeted: 0, sent: 0 } });

    const seen: string[] = [];
    await waitFor(async () => {
      const r = await get(`/api/rollouts/${created.id}`);
      if (seen[seen.length - 1] !== r.status) seen.push(r.status);
      return Date.now() >= sendAt.getTime() - 250;
    }, 5_000, 100);
    expect(h.sink.messages).toHaveLength(0);
    expect(seen).toEqual(['scheduled']);

    await h.sink.waitForMessages(3, 6_000);
    expect(Date.now() - sendAt.getTime()).toBeLessThan(2_000);
    const done = await rolloutReaches(created.id, 'completed', seen);
    expect(done.counts).toMatchObject({ targeted: 3, sent: 3, pending: 0, failed: 0, skipped: 0 });
    expect(done.finishedAt).not.toBeNull();
    // scheduled → (running) → completed, never backwards
    expect(['scheduled,completed', 'scheduled,running,completed']).toContain(seen.join());
    await sleep(300);
    expect(h.sink.messages).toHaveLength(3);
    const listed = (await get('/api/rollouts?status=completed')).data.map((r: { id: string }) => r.id);
    expect(listed).toContain(created.id);
  });

  it('makes the user active when the token from the message is accepted', async () => {
    const res = await h.call('POST', '/api/users', { token: acme, body: { email: 'accepts@acme.example', invite: { loginMethod: 'password' } } });
    expect(res.statusCode, res.body).toBe(201);
    const { user, rollout } = res.json();
    await rolloutReaches(rollout.id, 'completed');
    await h.sink.waitForMessages(1);
    const token = tokenOf(h.sink.messages[0].text);

    const accepted = await h.call('POST', '/api/invitations/accept', { token: null, body: { token } });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toEqual({ status: 'accepted', userId: user.id, organizationId: 'acme' });
    expect((await get(`/api/users/${user.id}`)).access).toBe('active');
    expect((await get(`/api/rollouts/${rollout.id}`)).counts.accepted).toBe(1);

    const again = await h.call('POST', '/api/invitations/accept', { token: null, body: { token } });
    expect(again.statusCode).toBe(400);
    expect(errorBody(again).code).toBe('invitation_invalid');
  });

  it('never invites on a PATCH of roles, location or groups', async () => {
    const [id] = await hire(1);
    const res = await h.call('PATCH', `/api/users/${id}`, { token: acme, body: { roles: ['asset_manager'], location: 'Hamburg Warehouse', groups: ['Logistics', 'Safety'] } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id, roles: ['asset_manager'], location: 'Hamburg Warehouse', groups: ['Logistics', 'Safety'], access: 'none' });
    const again = await h.call('PATCH', `/api/users/${id}`, { token: acme, body: { roles: ['admin'], location: null, groups: [] } });
    expect(again.statusCode, again.body).toBe(200);
    await quietPeriod();
    expect(h.sink.messages).toHaveLength(0);
    expect((await get(`/api/users/${id}`)).access).toBe('none');
    expect(await h.svc.store.query(`select id from invitations where user_id = $1`, [id])).toEqual([]);
  });

  it('lists each user with its own groups (sorted), its location and ISO timestamps, the same as GET /api/users/:id', async () => {
    const [a, b, c] = await hire(3);
    await h.call('PATCH', `/api/users/${a}`, { token: acme, body: { groups: ['Safety', 'Logistics'], location: 'Hamburg Warehouse' } });
    await h.call('PATCH', `/api/users/${b}`, { token: acme, body: { groups: ['Finance'] } });
    await h.call('PATCH', `/api/users/${c}`, { token: acme, body: { groups: [] } });
    const listed: Array<Record<string, unknown>> = [];
    for (let cursor: string | null = null; ;) {
      const page = await get(`/api/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      listed.push(...page.data);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const byId = new Map(listed.map((u) => [u.id as string, u]));
    expect(byId.get(a)).toMatchObject({ groups: ['Logistics', 'Safety'], location: 'Hamburg Warehouse' });
    expect(byId.get(b)).toMatchObject({ groups: ['Finance'] });
    expect(byId.get(c)).toMatchObject({ groups: [] });
    const [stored] = await h.svc.store.query<{ created_at: Date; updated_at: Date }>(`select created_at, updated_at from users where id = $1`, [a]);
    expect(byId.get(a)!.createdAt).toBe(stored.created_at.toISOString());
    expect(byId.get(a)!.updatedAt).toBe(stored.updated_at.toISOString());
    for (const id of [a, b, c]) expect(await get(`/api/users/${id}`)).toEqual(byId.get(id));
  });
});

describe('syncing through the API', () => {
  it('answers 202 with a run id, and the run succeeds listing each bad record with its reason — inviting nobody', async () => {
    await hire(2);
    for (const i of [903, 904]) hr.set(`E${i}`, employee(i)); // new in HR: created by this run, not invited
    const path = (h.svc.ctx.config.organizations.find((o) => o.id === 'acme')!.connectors[0].options as { path: string }).path;
    writeFileSync(path, toCsv([...hr.values(), employee(900, { email: 'not-an-email' }), employee(901, { email: '' }), employee(902, { status: 'on leave' })]));

    const res = await h.call('POST', '/api/connectors/acme-hr/sync', { token: acme, body: {} });
    expect(res.statusCode, res.body).toBe(202);
    const { runId, status } = res.json();
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(status).toBe('queued');

    const run = await waitFor(async () => {
      const r = await get(`/api/sync-runs/${runId}`);
      return r.status === 'succeeded' || r.status === 'failed' ? r : null;
    }, 15_000, 50);
    expect(run).toMatchObject({ id: runId, status: 'succeeded', organizationId: 'acme', connectorId: 'acme-hr', trigger: 'api', dryRun: false });
    expect(run.counts).toMatchObject({ seen: hr.size + 3, rejected: 3, created: 2, unchanged: hr.size - 2 });
    expect(run.rejected).toEqual([
      { externalId: 'E900', reason: 'invalid_email', detail: expect.any(String) },
      { externalId: 'E901', reason: 'no_email', detail: expect.any(String) },
      { externalId: 'E902', reason: 'invalid_status', detail: expect.any(String) },
    ]);
    const listed = (await get('/api/sync-runs?connectorId=acme-hr')).data;
    expect(listed[0]).toMatchObject({ id: runId, status: 'succeeded' });
    expect(listed[0].rejected).toBeUndefined();
    const connectors = (await get('/api/connectors')).data;
    expect(connectors).toEqual([expect.objectContaining({ id: 'acme-hr', organizationId: 'acme', lastRun: expect.objectContaining({ id: runId, status: 'succeeded' }) })]);
    await quietPeriod();
    expect(h.sink.messages).toHaveLength(0);
    // the export on disk stays the test's HR listing for later syncs
    writeFileSync(path, toCsv([...hr.values()]));
  });
});

describe('accept rate limit', () => {
  it('answers 429 with the error shape once the per-minute limit is used up — even to a good token', async () => {
    const res = await h.call('POST', '/api/users', { token: acme, body: { email: 'limited@acme.example', invite: { loginMethod: 'magic_link' } } });
    const { user, rollout } = res.json();
    await rolloutReaches(rollout.id, 'completed');
    await h.sink.waitForMessages(1);
    const good = tokenOf(h.sink.messages[0].text);

    const saved = process.env.ACCEPT_RATE_LIMIT_PER_MINUTE;
    process.env.ACCEPT_RATE_LIMIT_PER_MINUTE = '3';
    const limited = await h.buildApp(); // the limit is read when the app is built
    if (saved === undefined) delete process.env.ACCEPT_RATE_LIMIT_PER_MINUTE;
    else process.env.ACCEPT_RATE_LIMIT_PER_MINUTE = saved;

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.call('POST', '/api/invitations/accept', { app: limited, token: null, body: { token: `bogus-${i}-${'x'.repeat(30)}` } });
      statuses.push(r.statusCode);
      expect(errorBody(r).code).toBe('invitation_invalid');
    }
    const over = await h.call('POST', '/api/invitations/accept', { app: limited, token: null, body: { token: good } });
    statuses.push(over.statusCode);
    expect(statuses).toEqual([400, 400, 400, 429]);
    expect(errorBody(over).code).toBe('rate_limited');
    expect((await get(`/api/users/${user.id}`)).access).toBe('invited');
    // the app built with the default limit still takes it
    const ok = await h.call('POST', '/api/invitations/accept', { token: null, body: { token: good } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await get(`/api/users/${user.id}`)).access).toBe('active');
  });
});
