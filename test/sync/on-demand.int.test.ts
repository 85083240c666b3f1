import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../src/app/readiness.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/lib/logger.js';
import { FakeBamboohr, generateBamboohrRows } from '../fakes/bamboohr-server.js';
import { auditSecrets } from '../support/log-audit.js';
import { runCli } from '../support/cli.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { configFor, createTestStore, tempDir, type TestStore } from '../support/store.js';

/** "Sync this person now": one look-up by id at the vendor, no listing, a run with trigger on_demand, never an invitation. */
const KEY = 'bhr-key-ondemand-1234567890';
const ADMIN = 'admin-token-ondemand-0123456789abcdef';
auditSecrets(KEY, ADMIN);
const admin = { authorization: `Bearer ${ADMIN}` };
const bamboo = new FakeBamboohr({ companyDomain: 'acme', apiKey: KEY, rows: generateBamboohrRows(30) });

let store: TestStore;
let ctx: AppContext;
let app: FastifyInstance;
let env: Record<string, string>;
const prefix = testPrefix();

const listings = () => bamboo.countWhere((r) => r.path === bamboo.datasetPath && !/^eeid eq /.test(String((r.body as { filter?: unknown })?.filter ?? '')));
const lookups = () => bamboo.countWhere((r) => r.path === bamboo.datasetPath && /^eeid eq /.test(String((r.body as { filter?: unknown })?.filter ?? '')));
const newHire = (id: number) => ({ fields: { ...generateBamboohrRows(id)[id - 1].fields, email: `newhire${id}@acme.example` } });

beforeAll(async () => {
  store = await createTestStore();
  const base = await bamboo.start();
  const file = {
    organizations: [
      { id: 'acme', name: 'Acme', connectors: [{ id: 'acme-bamboo', type: 'bamboohr', options: { companyDomain: 'acme', apiKey: '${BAMBOO_KEY}', baseUrl: base } }] },
      { id: 'other', name: 'Other', connectors: [] },
    ],
  };
  const dir = tempDir('hrsync-ondemand-');
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify(file));
  env = { DATABASE_URL: store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, BAMBOO_KEY: KEY };
  const config = configFor(store.url, file, { HRSYNC_ADMIN_TOKEN: ADMIN, REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, BAMBOO_KEY: KEY });
  ctx = await createContext({ config, log: silentLogger });
  app = await buildApp({ config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync, enqueueWebhookEvents: ctx.enqueueWebhookEvents, tokens: new TokenVerifier(ctx.em, config.adminToken, 0), readiness: () => readiness(ctx.em, config.redisUrl) });
  const run = await ctx.sync.run({ connectorId: 'acme-bamboo' });
  expect(run.status).toBe('succeeded');
});
afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await bamboo.stop();
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

describe('hrsync sync <connector> --employee', () => {
  it('creates a new hire within seconds without listing anyone, and never invites', async () => {
    bamboo.rows.push(newHire(31));
    bamboo.resetCounters();
    const t0 = Date.now();
    const r = await runCli(['sync', 'acme-bamboo', '--employee', '31', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000); // the child process's start included
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ trigger: 'on_demand', status: 'succeeded', connectorId: 'acme-bamboo' });
    expect(run.counts.created).toBe(1);
    expect(listings()).toBe(0);
    expect(lookups()).toBe(1);
    const [u] = await store.query<{ access: string; status: string }>(`select access, status from users where connector_id = 'acme-bamboo' and external_id = '31'`);
    expect(u).toEqual({ access: 'none', status: 'active' });
    expect(await store.query(`select 1 from invitations`)).toHaveLength(0);
    expect(await store.query(`select 1 from rollouts`)).toHaveLength(0);
  });

  it('refuses more than five people and a dry run', async () => {
    const many = await runCli(['sync', 'acme-bamboo', '--employee', '1', '2', '3', '4', '5', '6'], env);
    expect(many.code).toBe(1);
    expect(many.stderr).toMatch(/at most 5/);
    const dry = await runCli(['sync', 'acme-bamboo', '--employee', '1', '--dry-run'], env);
    expect(dry.code).toBe(1);
  });
});

describe('POST /api/connectors/:id/sync { employeeId } and POST /api/users/:id/sync', () => {
  it('applies a change of one person at once (a run on_demand), with no listing', async () => {
    bamboo.rows[4].fields.jobInformationJobTitle = 'Chief Widget Officer';
    bamboo.resetCounters();
    const res = await app.inject({ method: 'POST', url: '/api/connectors/acme-bamboo/sync', headers: admin, payload: { employeeId: '5' } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.run).toMatchObject({ trigger: 'on_demand', status: 'succeeded' });
    expect(body.outcomes['5'].outcome).toBe('updated');
    expect(listings()).toBe(0);
    const [u] = await store.query<{ job_title: string }>(`select job_title from users where connector_id = 'acme-bamboo' and external_id = '5'`);
    expect(u.job_title).toBe('Chief Widget Officer');
  });

  it('deactivates someone the vendor no longer knows, by the user\'s id', async () => {
    const [u] = await store.query<{ id: string }>(`select id from users where connector_id = 'acme-bamboo' and external_id = '7'`);
    bamboo.rows = bamboo.rows.filter((r) => r.fields.eeid !== '7');
    const res = await app.inject({ method: 'POST', url: `/api/users/${u.id}/sync`, headers: admin, payload: {} });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().outcomes['7'].outcome).toBe('deactivated');
    const [after] = await store.query<{ status: string }>(`select status from users where id = $1`, [u.id]);
    expect(after.status).toBe('deactivated');
  });

  it('is scoped: another organization cannot sync the connector or the user (404)', async () => {
    const token = (await import('../../src/auth/tokens.js')).createToken;
    const { token: other } = await token(ctx.em(), 'other', 'test');
    const [u] = await store.query<{ id: string }>(`select id from users where connector_id = 'acme-bamboo' and external_id = '3'`);
    const h = { authorization: `Bearer ${other}` };
    expect((await app.inject({ method: 'POST', url: '/api/connectors/acme-bamboo/sync', headers: h, payload: { employeeId: '3' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: `/api/users/${u.id}/sync`, headers: h, payload: {} })).statusCode).toBe(404);
  });

  it('rejects bad input with a 400', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/connectors/acme-bamboo/sync', headers: admin, payload: { employeeIds: ['1', '2', '3', '4', '5', '6'] } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/connectors/acme-bamboo/sync', headers: admin, payload: { employeeId: '1', dryRun: true } })).statusCode).toBe(400);
    // a scope override is for dry runs only; with one, the dry run is queued carrying it
    const scope = { exclude: [{ field: 'department', values: ['Sales'] }] };
    expect((await app.inject({ method: 'POST', url: '/api/connectors/acme-bamboo/sync', headers: admin, payload: { scope } })).statusCode).toBe(400);
    const queued = await app.inject({ method: 'POST', url: '/api/connectors/acme-bamboo/sync', headers: admin, payload: { dryRun: true, scope } });
    expect(queued.statusCode, queued.body).toBe(202);
    const job = (await ctx.queues().sync.getJobs(['waiting', 'delayed', 'active'])).find((j) => j.data.runId === queued.json().runId);
    expect(job?.data).toMatchObject({ dryRun: true, scope: { include: [], exclude: scope.exclude } });
  });
});
