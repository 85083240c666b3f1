/**
 * Personio API v2 end to end through the sync engine: the fake v2 server on 127.0.0.1
 * (test/fakes/personio-v2-server.ts), the real store, the connector with fast retries.
 */
import { describe, expect, it } from 'vitest';
import { createPersonioConnector } from '../connectors/personio/index.js';
import { getConnector } from '../connectors/registry.js';
import { silentLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { fastDeps } from './fakes/connector-context.js';
import { FakePersonioV2, generatePersonioV2Persons, type PersonioV2Person } from './fakes/personio-v2-server.js';
import { configFor, storePerFile } from './support/store.js';

const ID = 'papi-v2-client-4411';
const SECRET = 'papi-v2-secret-8c1e3a5b7d9f';

const file = storePerFile();
const { cleanups } = file;

async function setup(opts: { n: number; pageSize?: number; secret?: string; options?: Record<string, unknown>; deactivation?: Record<string, number> }) {
  const seq = file.next();
  const org = `v2-org-${seq}`;
  const connectorId = `personio-v2-${seq}`;
  const fake = new FakePersonioV2({ clientId: ID, clientSecret: SECRET, persons: generatePersonioV2Persons(opts.n) });
  const baseUrl = await fake.start();
  cleanups.push(() => fake.stop());
  const options = { apiVersion: 'v2', clientId: ID, clientSecret: opts.secret ?? SECRET, baseUrl, pageSize: opts.pageSize ?? 50, timeoutMs: 2_000, ...opts.options };
  const config = configFor(file.store.url, {
    organizations: [{
      id: org, name: `v2 ${seq}`,
      connectors: [{ id: connectorId, type: 'personio', options, mapping: { location: 'location', group: 'department' }, ...(opts.deactivation ? { deactivation: opts.deactivation } : {}) }],
    }],
  });
  const fast = fastDeps();
  const connector = createPersonioConnector(fast.deps);
  const engine = new SyncEngine({ orm: file.store.orm, config, log: silentLogger, resolveConnector: (t) => (t === 'personio' ? connector : getConnector(t)) });
  const users = () =>
    file.store.query<{ external_id: string; email: string; job_title: string | null; status: string; location: string | null; manager: string | null; groups: string[] }>(
      `select u.external_id, u.email, u.job_title, u.status, l.name as location, m.external_id as manager,
              coalesce((select array_agg(g.name) from group_memberships gm join groups g on g.id = gm.group_id where gm.user_id = u.id), '{}') as groups
         from users u left join locations l on l.id = u.location_id left join users m on m.id = u.manager_id
        where u.organization_id = $1 order by u.seq`, [org]);
  return { fake, fast, engine, connectorId, run: () => engine.run({ connectorId }), users };
}

const employmentRequests = (fake: FakePersonioV2) => fake.countWhere((r) => fake.isEmployments(r));
const touch = (p: PersonioV2Person, at = '2025-06-01T00:00:00Z') => void (p.updated_at = at);

describe('Personio v2 through the sync engine', () => {
  it('syncs persons by cursor with their employments, names resolved; a re-sync of unchanged people makes no employment request', async () => {
    const t = await setup({ n: 60, pageSize: 20 });
    const run = await t.run();
    expect(run.error).toBeNull();
    expect(run.counts).toMatchObject({ seen: 60, created: 54, skipped: 6, rejected: 0 });
    const byId = new Map((await t.users()).map((u) => [u.external_id, u]));
    expect(byId.get('6')).toMatchObject({ email: 'person6@acme.example', job_title: 'Role 6', location: 'Berlin', manager: '3', groups: ['Finance'], status: 'active' });
    expect(t.fake.countWhere((r) => t.fake.isPersons(r))).toBe(3); // 60 by 20, cursor
    expect(employmentRequests(t.fake)).toBe(60);

    t.fake.resetCounters();
    const again = await t.run();
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 54, deactivated: 0 });
    expect(employmentRequests(t.fake)).toBe(0);
    expect(t.fake.count).toBe(1 + 3); // a token, the persons pages
  });

  it('a changed e-mail is an update of the same user, with one employment request', async () => {
    const t = await setup({ n: 30 });
    await t.run();
    const p = t.fake.persons[4];
    p.email = 'renamed.person5@acme.example';
    touch(p);
    t.fake.resetCounters();
    const run = await t.run();
    expect(run.counts).toMatchObject({ created: 0, updated: 1, deactivated: 0 });
    expect((await t.users()).find((u) => u.external_id === '5')?.email).toBe('renamed.person5@acme.example');
    expect(employmentRequests(t.fake)).toBe(1);
  });

  it('a termination seen through the employment: at once when the person changed, else at the full re-read', async () => {
    const t = await setup({ n: 30, options: { employmentsFullReadEveryHours: 1 } });
    await t.run();
    const a = t.fake.persons[2];
    a.employments[0] = { ...a.employments[0], status: 'INACTIVE', termination_date: '2025-05-31', updated_at: '2025-06-01T00:00:00Z' };
    touch(a);
    const b = t.fake.persons[3];
    b.employments[0] = { ...b.employments[0], status: 'INACTIVE', termination_date: '2025-05-31', updated_at: '2025-06-01T00:00:00Z' }; // the person record unchanged
    const run = await t.run();
    expect(run.counts.deactivated).toBe(1);
    expect((await t.users()).filter((u) => u.status === 'deactivated').map((u) => u.external_id)).toStrictEqual(['3']);

    // The full re-read comes due (an hour later): every employment is read again, b's termination seen.
    await file.store.query(`update connector_records set value = jsonb_build_object('fullReadAt', '2000-01-01T00:00:00Z') where connector_id = $1 and key = 'v2:meta'`, [t.connectorId]);
    t.fake.resetCounters();
    const full = await t.run();
    expect(full.counts.deactivated).toBe(1);
    expect(employmentRequests(t.fake)).toBe(30);
    expect((await t.users()).filter((u) => u.status === 'deactivated').map((u) => u.external_id).sort()).toStrictEqual(['3', '4']);
  });

  it('renews a token that expires mid-listing, and waits out 429 + Retry-After', async () => {
    const t = await setup({ n: 40, pageSize: 10 });
    t.fake.script({ kind: 'hook', run: () => t.fake.expireTokens() }, { when: t.fake.isPersonsPage(2) });
    t.fake.script({ kind: 'status', status: 429, retryAfter: '3', body: { errors: [{ title: 'Too Many Requests' }] } }, { times: 2, when: t.fake.isPersonsPage(3) });
    const run = await t.run();
    expect(run.error).toBeNull();
    expect(run.counts).toMatchObject({ created: 36, skipped: 4 });
    expect(t.fake.tokensIssued).toBe(2);
    expect(t.fast.sleeps.filter((ms) => ms === 3000)).toHaveLength(2);
  });

  it('keeps to a rate limit: 429 with Retry-After from the server, and completes', async () => {
    const t = await setup({ n: 12 });
    t.fake.rateLimit = { requests: 5, windowMs: 60_000 };
    // fast deps do not really wait: the window opens again while the client "waits" (a timer
    // here raced the client's immediate retries and lost on a busy machine).
    t.fast.hooks.onSleep = () => (t.fake.rateLimit = null);
    const done = await t.engine.run({ connectorId: t.connectorId });
    expect(done.error).toBeNull();
    expect(done.counts.created).toBe(11);
    expect(t.fake.injected['status 429'] ?? 0).toBe(0); // the limit is the server's own, not a scripted fault
    expect(t.fast.clients[0].stats.outcomes['429']).toBeGreaterThanOrEqual(1);
    expect(t.fast.sleeps[0]).toBe(60_000); // Retry-After: the rest of the window, in seconds
  });

  it('fails on a malformed persons page, deactivating nobody', async () => {
    const t = await setup({ n: 60, pageSize: 20, deactivation: { maxPercent: 100 } });
    await t.run();
    t.fake.persons = t.fake.persons.slice(0, 50);
    t.fake.script({ kind: 'malformed', body: '{"_data": [{"id": 1' }, { when: t.fake.isPersonsPage(2) });
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/not valid JSON/);
    expect((await t.users()).every((u) => u.status === 'active')).toBe(true);
  });

  it('holds a listing shrunk to 5 %: needs_approval, nobody deactivated, no flood of look-ups', async () => {
    const t = await setup({ n: 200 });
    await t.run();
    t.fake.persons = t.fake.persons.slice(0, 10);
    t.fake.resetCounters();
    const run = await t.run();
    expect(run.status).toBe('needs_approval');
    expect(run.heldReason).toMatch(/maxPercent 10/);
    expect((await t.users()).every((u) => u.status === 'active')).toBe(true);
    expect(t.fake.countWhere((r) => r.path === '/v2/persons' && r.query.has('id'))).toBe(0);
  });

  it('confirms an absent person by id before deactivating: gone → deactivated', async () => {
    const t = await setup({ n: 30 });
    await t.run();
    t.fake.persons = t.fake.persons.filter((p) => p.id !== '7');
    t.fake.resetCounters();
    const run = await t.run();
    expect(run.counts).toMatchObject({ deactivated: 1, confirmedPresent: 0 });
    expect(t.fake.countWhere((r) => r.path === '/v2/persons' && r.query.get('id') === '7')).toBe(1);
    // What the connector remembered of person 7 is forgotten with the complete listing; the others stay.
    const keys = (await file.store.query<{ key: string }>(`select key from connector_records where connector_id = $1 and key like 'v2:person:%'`, [t.connectorId])).map((r) => r.key);
    expect(keys).toHaveLength(29);
    expect(keys).not.toContain('v2:person:7');
  });

  it('fails at once on wrong credentials, naming them, with one request', async () => {
    const t = await setup({ n: 5, secret: 'papi-v2-wrong-secret-000' });
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('options.clientId and options.clientSecret');
    expect(run.error).not.toContain('papi-v2-wrong-secret-000');
    expect(t.fake.count).toBe(1);
  });

  it('stays within the employment request budget: the rest next run, never deactivated meanwhile', async () => {
    const t = await setup({ n: 50, options: { employmentRequestBudget: 30 } });
    const first = await t.run();
    expect(employmentRequests(t.fake)).toBe(30);
    expect(first.counts.rejected).toBe(20);
    expect(first.rejected.every((r) => r.reason === 'employment_not_read')).toBe(true);
    t.fake.resetCounters();
    const second = await t.run();
    expect(employmentRequests(t.fake)).toBe(20);
    expect(second.counts).toMatchObject({ deactivated: 0, rejected: 0 });
    expect((await t.users()).filter((u) => u.status === 'active')).toHaveLength(45);
  });
});

describe('Personio v2: a re-sync of many unchanged people', () => {
  const N = Number(process.env.V2_RESYNC_N ?? 2_000);
  it(`makes no employment request for ${N} unchanged people`, async () => {
    const t = await setup({ n: N, options: { employmentRequestBudget: N } });
    const first = await t.run();
    expect(first.counts.created).toBe(N - N / 10);
    t.fake.resetCounters();
    const again = await t.run();
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: N - N / 10, deactivated: 0 });
    expect(employmentRequests(t.fake)).toBe(0);
    expect(t.fake.count).toBe(1 + Math.ceil(N / 50));
  }, 300_000);
});
