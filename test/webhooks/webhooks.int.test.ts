import { createHmac } from 'node:crypto';
import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookWorker } from '../../jobs/webhooks/worker.js';
import { tryLockConnector } from '../../src/sync/connector-lock.js';
import { checkInvariants } from '../../src/db/invariants.js';
import { readiness } from '../../src/app/readiness.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/lib/logger.js';
import { FakeBamboohr, generateBamboohrRows } from '../fakes/bamboohr-server.js';
import { FakeHibob, generateHibobPeople } from '../fakes/hibob-server.js';
import { FakePersonio, generatePersonioRows } from '../fakes/personio-server.js';
import { auditSecrets } from '../support/log-audit.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { waitFor } from '../support/service.js';
import { configFor, createTestStore, type TestStore } from '../support/store.js';

/**
 * Vendor webhooks end to end: a signed delivery → queued per person → looked up by id at the
 * (fake) vendor → a targeted run (trigger webhook) → the store. Real PostgreSQL, Redis and HTTP.
 */
const SECRETS = { bamboo: 'bamboo-webhook-key-0123456789', hibob: 'hibob-webhook-secret-abcdef', personio: 'personio-webhook-secret-xyz', bulk: 'bulk-webhook-key-9876543210' };
auditSecrets(...Object.values(SECRETS));

const bamboo = new FakeBamboohr({ companyDomain: 'acme', apiKey: 'bhr-key-1234567890', rows: generateBamboohrRows(20) });
const bulk = new FakeBamboohr({ companyDomain: 'bulk', apiKey: 'bhr-key-bulk-1234567890', rows: generateBamboohrRows(120) });
const hibob = new FakeHibob({ serviceUserId: 'svc-1', token: 'hibob-token-abcdef123456', people: generateHibobPeople(20) });
const personio = new FakePersonio({ clientId: 'pc-1', clientSecret: 'papi-secret-abcdef0123', rows: generatePersonioRows(20) });

let store: TestStore;
let ctx: AppContext;
let app: FastifyInstance;
let worker: Worker;
let prefix: string;

beforeAll(async () => {
  store = await createTestStore();
  prefix = testPrefix();
  const [b, bb, h, p] = await Promise.all([bamboo.start(), bulk.start(), hibob.start(), personio.start()]);
  const config = configFor(
    store.url,
    {
      organizations: [
        {
          id: 'acme',
          name: 'Acme',
          connectors: [
            { id: 'acme-bamboo', type: 'bamboohr', options: { companyDomain: 'acme', apiKey: 'bhr-key-1234567890', baseUrl: b }, deactivation: { maxPercent: 100 }, webhook: { secret: '${BAMBOO_HOOK}', debounceMs: 200 } },
            { id: 'acme-hibob', type: 'hibob', options: { serviceUserId: 'svc-1', token: 'hibob-token-abcdef123456', baseUrl: h }, deactivation: { maxPercent: 100 }, webhook: { secret: '${HIBOB_HOOK}', debounceMs: 200 } },
            { id: 'acme-personio', type: 'personio', options: { clientId: 'pc-1', clientSecret: 'papi-secret-abcdef0123', baseUrl: p }, deactivation: { maxPercent: 100 }, webhook: { secret: '${PERSONIO_HOOK}', debounceMs: 200 } },
            { id: 'acme-bulk', type: 'bamboohr', options: { companyDomain: 'bulk', apiKey: 'bhr-key-bulk-1234567890', baseUrl: bb }, deactivation: { maxPercent: 100 }, webhook: { secret: '${BULK_HOOK}', debounceMs: 5_000 } },
            { id: 'acme-nohook', type: 'bamboohr', options: { companyDomain: 'acme', apiKey: 'bhr-key-1234567890', baseUrl: b } },
          ],
        },
      ],
    },
    { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, BAMBOO_HOOK: SECRETS.bamboo, HIBOB_HOOK: SECRETS.hibob, PERSONIO_HOOK: SECRETS.personio, BULK_HOOK: SECRETS.bulk },
  );
  ctx = await createContext({ config, log: silentLogger });
  app = await buildApp({ config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync, enqueueWebhookEvents: ctx.enqueueWebhookEvents, tokens: new TokenVerifier(ctx.em, null, 0), readiness: () => readiness(ctx.em, config.redisUrl) });
  for (const id of ['acme-bamboo', 'acme-hibob', 'acme-personio', 'acme-bulk']) {
    const run = await ctx.sync.run({ connectorId: id });
    expect(run.status, `${id}: ${run.error}`).toBe('succeeded');
  }
  worker = startWebhookWorker(ctx);
});
afterAll(async () => {
  await worker?.close();
  await app?.close();
  await ctx?.close();
  await Promise.all([bamboo.stop(), bulk.stop(), hibob.stop(), personio.stop()]);
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

const unix = (ms = Date.now()) => String(Math.floor(ms / 1000));

function bambooDelivery(secret: string, body: unknown, ts = unix()) {
  const raw = JSON.stringify(body);
  const sig = createHmac('sha256', secret).update(raw).update(ts).digest('hex');
  return { raw, headers: { 'content-type': 'application/json', 'x-bamboohr-timestamp': ts, 'x-bamboohr-signature': sig } };
}
function hibobDelivery(secret: string, type: string, employeeId: string, at = new Date()) {
  const raw = JSON.stringify({ companyId: 640379, type, triggeredBy: 'system', triggeredAt: at.toISOString(), version: 'v2', data: { employeeId, fieldChanges: [] } });
  return { raw, headers: { 'content-type': 'application/json', 'bob-signature': createHmac('sha512', secret).update(raw).digest('base64') } };
}
function personioDelivery(secret: string, eventName: string, personId: string, at = new Date()) {
  const raw = JSON.stringify({ company_id: '4711', event_name: eventName, occurred_at: at.toISOString(), payload: { id: personId }, meta: {} });
  return { raw, headers: { 'content-type': 'application/json', 'x-personio-signature': createHmac('sha256', secret).update(raw).digest('hex') } };
}
const post = (connectorId: string, d: { raw: string; headers: Record<string, string> }) => app.inject({ method: 'POST', url: `/hooks/${connectorId}`, headers: d.headers, payload: d.raw });

async function user(connectorId: string, externalId: string) {
  const [u] = await store.query<{ email: string; last_name: string; status: string; access: string }>(`select email, last_name, status, access from users where connector_id = $1 and external_id = $2`, [connectorId, externalId]);
  return u;
}
const seenByWebhookRuns = async (connectorId: string) => (await store.query<{ n: number }>(`select coalesce(sum((counts->>'seen')::int), 0)::int as n from sync_runs where connector_id = $1 and trigger = 'webhook'`, [connectorId]))[0].n;
const webhookRuns = async (connectorId: string) => (await store.query<{ n: number }>(`select count(*)::int as n from sync_runs where connector_id = $1 and trigger = 'webhook'`, [connectorId]))[0].n;

describe('a correctly signed event makes the change visible within 5 s', () => {
  it('BambooHR (HMAC-SHA256 of body + timestamp)', async () => {
    bamboo.rows[2].fields.lastName = 'Changed-In-Bamboo';
    const t0 = Date.now();
    const res = await post('acme-bamboo', bambooDelivery(SECRETS.bamboo, { employees: [{ id: '3', action: 'Updated', changedFields: ['lastName'], fields: {} }] }));
    expect(res.statusCode).toBe(202);
    await waitFor(async () => (await user('acme-bamboo', '3'))?.last_name === 'Changed-In-Bamboo', 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await user('acme-bamboo', '3')).toMatchObject({ status: 'active', access: 'none' });
  });

  it('HiBob webhooks v2 (Bob-Signature, HMAC-SHA512)', async () => {
    const p = hibob.people[4];
    p.surname = 'Changed-In-Bob';
    const res = await post('acme-hibob', hibobDelivery(SECRETS.hibob, 'employee.updated', p.id));
    expect(res.statusCode).toBe(202);
    await waitFor(async () => (await user('acme-hibob', p.id))?.last_name === 'Changed-In-Bob', 5_000);
  });

  it('Personio v2 (ids only: fetched by id)', async () => {
    personio.rows[5].attributes.last_name.value = 'Changed-In-Personio';
    const res = await post('acme-personio', personioDelivery(SECRETS.personio, 'Person.updated', '6'));
    expect(res.statusCode).toBe(202);
    await waitFor(async () => (await user('acme-personio', '6'))?.last_name === 'Changed-In-Personio', 5_000);
  });

  it('a new hire named by a "Created" event is created with access none', async () => {
    bamboo.rows.push({ fields: { ...bamboo.rows[0].fields, eeid: '500', email: 'newhire@acme.example', firstName: 'New', lastName: 'Hire', supervisorEid: '1' } });
    expect((await post('acme-bamboo', bambooDelivery(SECRETS.bamboo, { employees: [{ id: '500', action: 'Created' }] }))).statusCode).toBe(202);
    await waitFor(async () => (await user('acme-bamboo', '500')) ?? null, 5_000);
    expect(await user('acme-bamboo', '500')).toMatchObject({ email: 'newhire@acme.example', status: 'active', access: 'none' });
    expect(await store.query(`select 1 from invitations`)).toEqual([]);
  });
});

describe('deletions are confirmed by id', () => {
  it('a "left" event for someone the vendor still lists as active deactivates nobody', async () => {
    const p = hibob.people[6];
    const before = await webhookRuns('acme-hibob');
    expect((await post('acme-hibob', hibobDelivery(SECRETS.hibob, 'employee.left', p.id))).statusCode).toBe(202);
    await waitFor(async () => (await webhookRuns('acme-hibob')) > before, 5_000);
    expect((await user('acme-hibob', p.id)).status).toBe('active');
    expect((await store.query<{ n: number }>(`select count(*)::int as n from users where status = 'deactivated' and connector_id = 'acme-hibob' and deactivated_at > now() - interval '1 minute'`))[0].n).toBe(0);
  });

  it('a "Deleted" event the vendor confirms (inactive now) deactivates the user', async () => {
    bamboo.rows[7].fields.status = 'Inactive';
    bamboo.rows[7].fields.terminationDate = '2026-12-01';
    expect((await post('acme-bamboo', bambooDelivery(SECRETS.bamboo, { employees: [{ id: '8', action: 'Deleted' }] }))).statusCode).toBe(202);
    await waitFor(async () => (await user('acme-bamboo', '8'))?.status === 'deactivated', 5_000);
  });
});

describe('the signature is the authentication', () => {
  it('wrong signature, missing signature, old timestamp, replay, unknown or unconfigured connector → 401 and nothing changes', async () => {
    bamboo.rows[8].fields.lastName = 'Must-Not-Arrive';
    const body = { employees: [{ id: '9', action: 'Updated' }] };
    const before = await store.query(`select * from users order by id`);
    const runsBefore = await webhookRuns('acme-bamboo');
    const good = bambooDelivery(SECRETS.bamboo, body);
    const attempts = [
      bambooDelivery('not-the-secret-at-all', body),
      { raw: good.raw, headers: { 'content-type': 'application/json', 'x-bamboohr-timestamp': unix() } },
      bambooDelivery(SECRETS.bamboo, body, unix(Date.now() - 6 * 60_000)),
      { raw: good.raw.replace('"9"', '"11"'), headers: good.headers },
    ];
    for (const a of attempts) {
      const res = await post('acme-bamboo', a);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { code: 'unauthorized', message: 'unauthorized' } });
    }
    expect((await post('acme-nothing', good)).statusCode).toBe(401);
    expect((await post('acme-nohook', good)).statusCode).toBe(401);
    expect((await post('acme-hibob', hibobDelivery(SECRETS.hibob, 'employee.updated', hibob.people[1].id, new Date(Date.now() - 10 * 60_000)))).statusCode).toBe(401);
    expect((await post('acme-personio', personioDelivery('wrong-secret-for-personio', 'Person.updated', '2'))).statusCode).toBe(401);
    // the same delivery, accepted once, is a replay the second time
    const once = bambooDelivery(SECRETS.bamboo, { employees: [{ id: '12', action: 'Updated' }] });
    expect((await post('acme-bamboo', once)).statusCode).toBe(202);
    expect((await post('acme-bamboo', once)).statusCode).toBe(401);
    await waitFor(async () => (await webhookRuns('acme-bamboo')) === runsBefore + 1, 5_000);
    await new Promise((r) => setTimeout(r, 700));
    expect(await webhookRuns('acme-bamboo')).toBe(runsBefore + 1); // the valid one only
    expect(await store.query(`select * from users order by id`)).toEqual(before);
    expect((await user('acme-bamboo', '9')).last_name).not.toBe('Must-Not-Arrive');
    const [stats] = await store.query<{ accepted: string; rejected: string }>(`select accepted, rejected from webhook_stats where connector_id = 'acme-bamboo'`);
    expect(Number(stats.rejected)).toBe(5);
  });
});

describe('set-up pings', () => {
  it('HiBob\'s set-up ping ("Ping test", signed, no timestamp) is answered 202 and changes nothing; unsigned, 401', async () => {
    const before = await webhookRuns('acme-hibob');
    for (const ping of ['Ping test', JSON.stringify({ text: 'Ping test' })]) {
      const res = await app.inject({ method: 'POST', url: '/hooks/acme-hibob', headers: { 'content-type': ping.startsWith('{') ? 'application/json' : 'text/plain', 'bob-signature': createHmac('sha512', SECRETS.hibob).update(ping).digest('base64') }, payload: ping });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ accepted: 0 });
    }
    expect((await app.inject({ method: 'POST', url: '/hooks/acme-hibob', headers: { 'content-type': 'text/plain' }, payload: 'Ping test' })).statusCode).toBe(401);
    // an event without its timestamp is not a ping: refused
    const raw = JSON.stringify({ type: 'employee.updated', data: { employeeId: hibob.people[1].id } });
    expect((await app.inject({ method: 'POST', url: '/hooks/acme-hibob', headers: { 'content-type': 'application/json', 'bob-signature': createHmac('sha512', SECRETS.hibob).update(raw).digest('base64') }, payload: raw })).statusCode).toBe(401);
    await new Promise((r) => setTimeout(r, 400));
    expect(await webhookRuns('acme-hibob')).toBe(before);
  });
});

describe('the connector lock', () => {
  it('a webhook run never overlaps a full run: it waits for the lock, then applies', async () => {
    const lock = await tryLockConnector(store.url, 'acme-personio'); // as a full run holds it
    expect(lock).not.toBeNull();
    personio.rows[3].attributes.last_name.value = 'After-The-Full-Run';
    expect((await post('acme-personio', personioDelivery(SECRETS.personio, 'Person.updated', '4'))).statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await user('acme-personio', '4')).last_name).not.toBe('After-The-Full-Run');
    await lock!.release();
    await waitFor(async () => (await user('acme-personio', '4'))?.last_name === 'After-The-Full-Run', 10_000);
  });
});

describe('deduplication', () => {
  it('1,000 events for 100 people → about 100 look-ups, not 1,000', async () => {
    bulk.resetCounters();
    const seenBefore = await seenByWebhookRuns('acme-bulk');
    const ids = Array.from({ length: 100 }, (_, i) => String(i + 1));
    for (let round = 0; round < 10; round++) {
      await Promise.all(ids.map((id) => post('acme-bulk', bambooDelivery(SECRETS.bulk, { employees: [{ id, action: 'Updated', changedFields: [`f${round}`] }] })).then((r) => expect(r.statusCode).toBe(202))));
    }
    await waitFor(async () => (await seenByWebhookRuns('acme-bulk')) - seenBefore >= 100, 30_000, 200);
    await new Promise((r) => setTimeout(r, 500));
    // each look-up request names its ids (`eeid eq 1 or eeid eq 2 …`): people looked up, requests made
    const filters = bulk.requests.map((r) => String((r.body as { filter?: unknown })?.filter ?? '')).filter((f) => /eeid eq/.test(f));
    const idsLookedUp = filters.reduce((n, f) => n + (f.match(/eeid eq/g) ?? []).length, 0);
    expect(idsLookedUp).toBeGreaterThanOrEqual(100);
    expect(idsLookedUp).toBeLessThanOrEqual(110);
    expect(filters.length).toBeLessThanOrEqual(idsLookedUp);
    expect((await seenByWebhookRuns('acme-bulk')) - seenBefore).toBe(idsLookedUp);
    expect((await checkInvariants(ctx.em())).failed).toEqual([]);
  });
});
