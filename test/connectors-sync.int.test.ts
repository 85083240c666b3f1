/**
 * The HTTP connectors end to end through the sync engine: fake vendor servers on 127.0.0.1
 * (test/fakes), a config file whose secrets come from `${ENV}` interpolation, the real
 * PostgreSQL store, and the vendor connector built with fast retry delays.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBamboohrConnector } from '../connectors/bamboohr/index.js';
import { createHibobConnector } from '../connectors/hibob/index.js';
import type { ConnectorHttpDeps } from '../connectors/http/client.js';
import { createPersonioConnector } from '../connectors/personio/index.js';
import { getConnector } from '../connectors/registry.js';
import type { HrConnector } from '../connectors/types.js';
import { createLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import type { SyncRunRecord } from '../src/sync/run-record.js';
import { FakeBamboohr, generateBamboohrRows, loadBamboohrFixtureRows } from './fakes/bamboohr-server.js';
import { fastDeps } from './fakes/connector-context.js';
import type { FakeRequest, FakeServer } from './fakes/fake-server.js';
import { FakeHibob, generateHibobPeople, loadHibobFixturePeople } from './fakes/hibob-server.js';
import { FakePersonio, generatePersonioRows, loadPersonioFixtureRows } from './fakes/personio-server.js';
import { configFor, storePerFile } from './support/store.js';

// ---- the vendors ---------------------------------------------------------------------------------

const BAMBOOHR_KEY = 'bhr-e2e-7c41d0a9f3b2e58a6d10';
const PERSONIO_ID = 'papi-e2e-client-31b7';
const PERSONIO_SECRET = 'papi-e2e-secret-9a3f5c7e1b2d4f60a8c2';
const HIBOB_USER = 'SERVICE-E2E-0815';
const HIBOB_TOKEN = 'hbtok_e2e_4f3e2d1c0b9a88776655aa';

const HIBOB_ANA = '3332883884017713238';
const HIBOB_DAN = '3332883894235038486';

/** The users a fixture listing must leave in the store, checked field by field for a few of them. */
interface FixtureExpectation {
  pageSize: number;
  seen: number;
  skipped: number;
  externalIds: string[];
  rejected: Array<{ externalId: string; reason: string }>;
  users: Record<string, Record<string, unknown>>;
}

interface Vendor<F extends FakeServer = FakeServer> {
  type: 'bamboohr' | 'personio' | 'hibob';
  /** Environment the config's `${…}` references read: the right credentials. */
  env: Record<string, string>;
  /** The same variables, with the secret wrong. */
  wrongEnv: Record<string, string>;
  wrongSecret: string;
  /** What the error of a run with wrong credentials must name. */
  credentialHint: string;
  /** Connector options as written in the config file: secrets as `${ENV}` references. */
  options(baseUrl: string, pageSize: number): Record<string, unknown>;
  fake(): F;
  connector(deps: ConnectorHttpDeps): HrConnector<any>;
  /** Requests for listing page `k` (1-based), retries included. */
  page(fake: F, k: number, pageSize: number): (req: FakeRequest) => boolean;
  /** Requests a fault-free full listing of `n` employees takes (Personio: + the token, HiBob: + the id search). */
  requestsFor(n: number, pageSize: number): number;
  /** Serve `n` generated employees (ids in listing order, every 10th inactive); `terminateFirst` makes the first one inactive. */
  generate(fake: F, n: number, opts?: { terminateFirst?: boolean }): void;
  /** Keep only the first `n` employees of what the server lists. */
  keepFirst(fake: F, n: number): void;
  /** Every value that must never reach a log line or a run record. */
  secrets(fake: F): string[];
  fixture: FixtureExpectation;
}

const pages = (n: number, pageSize: number) => Math.max(1, Math.ceil(n / pageSize));
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

const bamboohr: Vendor<FakeBamboohr> = {
  type: 'bamboohr',
  env: { BAMBOOHR_API_KEY: BAMBOOHR_KEY },
  wrongEnv: { BAMBOOHR_API_KEY: 'bhr-e2e-revoked-key-0000' },
  wrongSecret: 'bhr-e2e-revoked-key-0000',
  credentialHint: 'options.apiKey',
  options: (baseUrl, pageSize) => ({ companyDomain: 'acme', apiKey: '${BAMBOOHR_API_KEY}', baseUrl, pageSize, timeoutMs: 400 }),
  fake: () => new FakeBamboohr({ companyDomain: 'acme', apiKey: BAMBOOHR_KEY }),
  connector: (deps) => createBamboohrConnector(deps),
  page: (fake, k) => fake.isPage(k),
  requestsFor: (n, ps) => pages(n, ps),
  generate(fake, n, opts = {}) {
    fake.rows = generateBamboohrRows(n);
    if (opts.terminateFirst) fake.rows[0].fields = { ...fake.rows[0].fields, status: 'Inactive', employmentStatus: 'Terminated', terminationDate: '2025-01-31' };
  },
  keepFirst(fake, n) {
    fake.rows = fake.rows.slice(0, n);
  },
  secrets: () => [BAMBOOHR_KEY, basic(BAMBOOHR_KEY, 'x'), 'bhr-e2e-revoked-key-0000'],
  fixture: {
    pageSize: 4,
    seen: 7,
    skipped: 1, // eeid 12 left in 2024 and was never synced
    externalIds: ['4', '5', '8', '9', '15'],
    rejected: [{ externalId: '16', reason: 'no_email' }],
    users: {
      '5': { email: 'aadams@acme.example', first_name: 'Ashley', last_name: 'Adams', job_title: 'HR Administrator', location: 'London, UK', groups: ['Human Resources'], manager: '9', start_date: '2022-08-27' },
      '9': { first_name: 'Jennifer', location: 'Lindon, Utah', groups: ['Human Resources'], manager: '8' },
      '8': { job_title: 'Chief Executive Officer', groups: ['Operations'], manager: null },
      // A future hire (Inactive in BambooHR until the hire date) exists, with its start date.
      '15': { location: 'Stockholm, Sweden', groups: ['IT'], manager: '9', start_date: '2031-02-01', status: 'active' },
    },
  },
};

const personio: Vendor<FakePersonio> = {
  type: 'personio',
  env: { PERSONIO_CLIENT_ID: PERSONIO_ID, PERSONIO_CLIENT_SECRET: PERSONIO_SECRET },
  wrongEnv: { PERSONIO_CLIENT_ID: PERSONIO_ID, PERSONIO_CLIENT_SECRET: 'papi-e2e-rotated-away-secret-11' },
  wrongSecret: 'papi-e2e-rotated-away-secret-11',
  credentialHint: 'options.clientId and options.clientSecret',
  options: (baseUrl, pageSize) => ({ clientId: '${PERSONIO_CLIENT_ID}', clientSecret: '${PERSONIO_CLIENT_SECRET}', baseUrl, pageSize, timeoutMs: 400 }),
  fake: () => new FakePersonio({ clientId: PERSONIO_ID, clientSecret: PERSONIO_SECRET }),
  connector: (deps) => createPersonioConnector(deps),
  page: (fake, k, ps) => fake.isEmployees((k - 1) * ps),
  requestsFor: (n, ps) => 1 + pages(n, ps),
  generate(fake, n, opts = {}) {
    fake.rows = generatePersonioRows(n);
    if (opts.terminateFirst) {
      const a = fake.rows[0].attributes;
      a.status = { ...a.status, value: 'inactive' };
      a.termination_date = { ...a.termination_date, value: '2025-01-31T00:00:00+01:00' };
    }
  },
  keepFirst(fake, n) {
    fake.rows = fake.rows.slice(0, n);
  },
  secrets: (fake) => [PERSONIO_SECRET, 'papi-e2e-rotated-away-secret-11', ...fake.issuedTokens],
  fixture: {
    pageSize: 2,
    seen: 6,
    skipped: 1, // 1004 left in 2023
    externalIds: ['1001', '1002', '1003', '1005'],
    rejected: [{ externalId: '1006', reason: 'no_email' }],
    users: {
      '1002': { email: 'lena.fischer@acme.example', first_name: 'Lena', last_name: 'Fischer', job_title: 'Engineering Manager', location: 'Berlin', groups: ['Engineering'], manager: '1001', start_date: '2019-04-01' },
      '1001': { location: 'Munich', groups: ['Engineering'], manager: null },
      // On leave is still employed.
      '1003': { location: 'Berlin', groups: ['Sales'], manager: '1001', status: 'active' },
      '1005': { manager: '1002', start_date: '2031-03-01' },
    },
  },
};

const hibob: Vendor<FakeHibob> = {
  type: 'hibob',
  env: { HIBOB_SERVICE_USER_ID: HIBOB_USER, HIBOB_TOKEN },
  wrongEnv: { HIBOB_SERVICE_USER_ID: HIBOB_USER, HIBOB_TOKEN: 'hbtok_e2e_expired_000000000000' },
  wrongSecret: 'hbtok_e2e_expired_000000000000',
  credentialHint: 'options.serviceUserId and options.token',
  options: (baseUrl, pageSize) => ({ serviceUserId: '${HIBOB_SERVICE_USER_ID}', token: '${HIBOB_TOKEN}', baseUrl, pageSize, timeoutMs: 400 }),
  fake: () => new FakeHibob({ serviceUserId: HIBOB_USER, token: HIBOB_TOKEN }),
  connector: (deps) => createHibobConnector(deps),
  page: (fake, k) => fake.isSlice(k),
  requestsFor: (n, ps) => 1 + Math.ceil(n / ps),
  generate(fake, n, opts = {}) {
    fake.people = generateHibobPeople(n);
    if (opts.terminateFirst) {
      const p = fake.people[0] as Record<string, unknown>;
      p.internal = { status: 'Inactive', lifecycleStatus: 'terminated', terminationDate: '2025-01-31' };
    }
  },
  keepFirst(fake, n) {
    fake.people = fake.people.slice(0, n);
  },
  secrets: () => [HIBOB_TOKEN, basic(HIBOB_USER, HIBOB_TOKEN), 'hbtok_e2e_expired_000000000000', basic(HIBOB_USER, 'hbtok_e2e_expired_000000000000')],
  fixture: {
    pageSize: 2,
    seen: 6,
    skipped: 1, // Emma Novak left in 2024
    externalIds: [HIBOB_ANA, HIBOB_DAN, '3332883902342332421', '3332883922000000001', '3332883933000000002'],
    rejected: [],
    users: {
      '3332883902342332421': { email: 'ravi.patel@acme.example', first_name: 'Ravi', last_name: 'Patel', job_title: 'Software Engineer', location: 'London Office', groups: ['R&D'], manager: HIBOB_ANA, start_date: '2021-10-04' },
      [HIBOB_ANA]: { job_title: 'Financial Controller', location: 'Berlin Office', groups: ['Finance'], manager: HIBOB_DAN },
      [HIBOB_DAN]: { location: 'Tel Aviv Office', manager: null },
      // No site in HiBob: no location, still in its department.
      '3332883933000000002': { location: null, groups: ['Finance'], manager: HIBOB_DAN },
    },
  },
};

// ---- one organization, connector, fake server and engine per test ----------------------------------

const file = storePerFile();
const { cleanups } = file;

interface UserRow {
  external_id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  job_title: string | null;
  status: string;
  access: string;
  source: string;
  start_date: string | null;
  location: string | null;
  groups: string[];
  manager: string | null;
}

async function setup<F extends FakeServer>(
  vendor: Vendor<F>,
  opts: { pageSize: number; env?: Record<string, string>; batchSize?: number; deactivation?: Record<string, number> },
) {
  const seq = file.next();
  const org = `${vendor.type}-org-${seq}`;
  const connectorId = `${vendor.type}-${seq}`;
  const fake = vendor.fake();
  const baseUrl = await fake.start();
  cleanups.push(() => fake.stop());
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination, name: 'connectors-sync' });
  const config = configFor(
    file.store.url,
    {
      organizations: [{
        id: org,
        name: `${vendor.type} ${seq}`,
        connectors: [{
          id: connectorId,
          type: vendor.type,
          options: vendor.options(baseUrl, opts.pageSize),
          mapping: { location: 'location', group: 'department' },
          ...(opts.deactivation ? { deactivation: opts.deactivation } : {}),
        }],
      }],
      ...(opts.batchSize ? { sync: { batchSize: opts.batchSize } } : {}),
    },
    opts.env ?? vendor.env,
  );
  const fast = fastDeps();
  const connector = vendor.connector(fast.deps);
  const engine = new SyncEngine({ orm: file.store.orm, config, log, resolveConnector: (type) => (type === vendor.type ? connector : getConnector(type)) });
  return {
    org,
    connectorId,
    fake,
    fast,
    engine,
    lines,
    run: (dryRun = false) => engine.run({ connectorId, dryRun }),
    users: () =>
      file.store.query<UserRow>(
        `select u.external_id, u.email, u.first_name, u.last_name, u.job_title, u.status, u.access, u.source, u.start_date::text as start_date,
                l.name as location, m.external_id as manager,
                coalesce((select array_agg(g.name order by g.name) from group_memberships gm join groups g on g.id = gm.group_id where gm.user_id = u.id), '{}') as groups
           from users u left join locations l on l.id = u.location_id left join users m on m.id = u.manager_id
          where u.organization_id = $1 order by u.seq`,
        [org],
      ),
    pendingDeactivations: async (runId: string) =>
      (await file.store.query<{ n: number }>(`select count(*)::int as n from sync_run_deactivations where run_id = $1`, [runId]))[0].n,
    storedError: async (runId: string) => (await file.store.query<{ error: string | null }>(`select error from sync_runs where id = $1`, [runId]))[0].error,
  };
}

function expectNoSecret(text: string | null | undefined, secrets: string[]): void {
  for (const s of secrets) expect(text ?? '', 'a secret leaked').not.toContain(s);
}

function expectSucceeded(run: SyncRunRecord): void {
  expect(run.error).toBeNull();
  expect(run.status).toBe('succeeded');
}

// ---- the behaviour, for every vendor ---------------------------------------------------------------

describe.each([
  ['BambooHR', bamboohr],
  ['Personio', personio],
  ['HiBob', hibob],
] as Array<[string, Vendor<any>]>)('%s through the sync engine', (_name, vendor: Vendor<any>) => {
  it('syncs a multi-page listing into exactly the expected users, structured and not invited', async () => {
    const x = vendor.fixture;
    const t = await setup(vendor, { pageSize: x.pageSize });
    const run = await t.run();
    expectSucceeded(run);
    expect(run.counts).toMatchObject({ seen: x.seen, created: x.externalIds.length, skipped: x.skipped, rejected: x.rejected.length, deactivated: 0 });
    expect(run.rejected.map((r) => ({ externalId: r.externalId, reason: r.reason }))).toStrictEqual(x.rejected);

    const users = await t.users();
    expect(users.map((u) => u.external_id).sort()).toStrictEqual([...x.externalIds].sort());
    expect(users.every((u) => u.access === 'none' && u.status === 'active' && u.source === 'sync')).toBe(true);
    const byId = new Map(users.map((u) => [u.external_id, u]));
    for (const [id, fields] of Object.entries(x.users)) expect(byId.get(id), `user ${id}`).toMatchObject(fields);

    // Every page requested once, nothing more.
    expect(t.fake.count).toBe(vendor.requestsFor(x.seen, x.pageSize));
    expect(t.fast.requests).toBe(t.fake.count);

    // The same listing again writes nothing.
    const again = await t.run();
    expectSucceeded(again);
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: x.externalIds.length, deactivated: 0 });
  });

  it('completes through 429 with Retry-After, bursts of 500/503 and slow responses, within pages + retries', async () => {
    const ps = 20;
    const t = await setup(vendor, { pageSize: ps });
    vendor.generate(t.fake, 60);
    t.fake.script({ kind: 'status', status: 429, retryAfter: '2' }, { times: 2, when: vendor.page(t.fake, 1, ps) });
    t.fake.script({ kind: 'status', status: 500 }, { times: 2, when: vendor.page(t.fake, 2, ps) });
    t.fake.script({ kind: 'status', status: 503 }, { times: 1, when: vendor.page(t.fake, 2, ps) });
    // Slower than the 400 ms timeout once (retried), then merely slow.
    t.fake.script({ kind: 'delay', ms: 900 }, { times: 1, when: vendor.page(t.fake, 3, ps) });
    t.fake.script({ kind: 'delay', ms: 150 }, { times: 1, when: vendor.page(t.fake, 3, ps) });
    const faults = 2 + 3 + 1;

    const run = await t.run();
    expectSucceeded(run);
    expect(run.counts).toMatchObject({ seen: 60, created: 54, skipped: 6, rejected: 0 });
    expect((await t.users()).filter((u) => u.status === 'active' && u.access === 'none')).toHaveLength(54);

    const stats = t.fast.clients[0].stats;
    expect(t.fast.sleeps.slice(0, 2)).toStrictEqual([2000, 2000]); // Retry-After honoured
    expect(stats.retries).toBe(faults);
    expect(t.fake.count).toBeLessThanOrEqual(vendor.requestsFor(60, ps) + stats.retries);
    expect(t.fake.count).toBe(vendor.requestsFor(60, ps) + faults);
  });

  it('fails at once on wrong credentials, naming the credential to check, with one request and no retry', async () => {
    const t = await setup(vendor, { pageSize: 20, env: vendor.wrongEnv });
    vendor.generate(t.fake, 30);
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toContain(vendor.credentialHint);
    expect(run.error).toMatch(/\(401\)/);
    expectNoSecret(run.error, vendor.secrets(t.fake));
    expect(t.fake.count).toBe(1);
    expect(t.fast.clients[0].stats.retries).toBe(0);
    expect(await t.users()).toHaveLength(0);
  });

  it('fails on a malformed page after a good sync, deactivating nobody and recording the error', async () => {
    const ps = 20;
    // batchSize = page size: page 1 (with a termination) is applied before page 2 breaks.
    const t = await setup(vendor, { pageSize: ps, batchSize: ps, deactivation: { maxPercent: 100 } });
    vendor.generate(t.fake, 60);
    expectSucceeded(await t.run());
    expect(await t.users()).toHaveLength(54);

    vendor.generate(t.fake, 60, { terminateFirst: true });
    vendor.keepFirst(t.fake, 50); // … and ten people gone from the listing
    t.fake.script({ kind: 'malformed' }, { times: 1, when: vendor.page(t.fake, 2, ps) });
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/not valid JSON/);
    expect(await t.storedError(run.id)).toBe(run.error);
    expect(run.counts.seen).toBeGreaterThan(0); // page 1 went through the engine
    expect(run.counts).toMatchObject({ deactivated: 0, heldDeactivations: 0 });
    expect(await t.pendingDeactivations(run.id)).toBe(0);
    const users = await t.users();
    expect(users).toHaveLength(54);
    expect(users.every((u) => u.status === 'active')).toBe(true);
  });

  it('fails when the connection is cut mid-listing and stays cut, deactivating nobody and recording the error', async () => {
    const ps = 20;
    const t = await setup(vendor, { pageSize: ps, batchSize: ps, deactivation: { maxPercent: 100 } });
    vendor.generate(t.fake, 60);
    expectSucceeded(await t.run());
    const before = t.fake.count;

    vendor.generate(t.fake, 60, { terminateFirst: true });
    t.fake.script({ kind: 'cut' }, { times: 100, when: vendor.page(t.fake, 2, ps) });
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/network error/);
    expect(await t.storedError(run.id)).toBe(run.error);
    expect(run.counts.deactivated).toBe(0);
    expect(await t.pendingDeactivations(run.id)).toBe(0);
    expect((await t.users()).every((u) => u.status === 'active')).toBe(true);
    // The pages before the cut, then page 2: one attempt + 4 retries (fast deps: maxRetries 4).
    expect(t.fake.count - before).toBe(vendor.requestsFor(ps, ps) + 5);
  });

  it('holds the deactivations of a listing that shrinks to 5%: needs_approval, nobody deactivated', async () => {
    const t = await setup(vendor, { pageSize: 50 });
    vendor.generate(t.fake, 200);
    expectSucceeded(await t.run());
    expect(await t.users()).toHaveLength(180);

    vendor.keepFirst(t.fake, 10);
    const run = await t.run();
    expect(run.status).toBe('needs_approval');
    // 9 of the 10 still listed are active users; the other 171 would be gone.
    expect(run.counts).toMatchObject({ seen: 10, unchanged: 9, deactivated: 0, heldDeactivations: 171 });
    expect(run.heldReason).toMatch(/maxPercent 10/);
    const users = await t.users();
    expect(users).toHaveLength(180);
    expect(users.every((u) => u.status === 'active')).toBe(true);
  });

  it('never writes a credential to a log line or a run record', async () => {
    const ps = 20;
    const t = await setup(vendor, { pageSize: ps });
    vendor.generate(t.fake, 60);
    t.fake.script({ kind: 'status', status: 429, retryAfter: '1' }, { times: 1, when: vendor.page(t.fake, 1, ps) });
    t.fake.script({ kind: 'status', status: 500, body: { error: 'internal', message: 'boom' } }, { times: 1, when: vendor.page(t.fake, 2, ps) });
    if (vendor.type === 'personio') t.fake.script({ kind: 'hook', run: () => (t.fake as FakePersonio).expireTokens() }, { when: vendor.page(t.fake, 3, ps) });
    const good = await t.run();
    expectSucceeded(good);
    await t.engine.checkConnector(t.connectorId);

    const bad = await setup(vendor, { pageSize: ps, env: vendor.wrongEnv });
    const failed = await bad.run();
    expect(failed.status).toBe('failed');
    await expect(bad.engine.checkConnector(bad.connectorId)).rejects.toMatchObject({ code: 'connector_auth_failed' });

    // The capture is real: engine and connector lines, debug included.
    const lines = [...t.lines, ...bad.lines];
    const msgs = new Set(lines.map((l) => (JSON.parse(l) as { msg: string }).msg));
    expect(msgs).toContain('sync started');
    expect(msgs).toContain('connector request');
    expect(msgs).toContain('connector request retry');
    expect(msgs).toContain('sync failed');
    const secrets = [...vendor.secrets(t.fake), ...vendor.secrets(bad.fake)];
    for (const line of lines) expectNoSecret(line, secrets);
    expectNoSecret(good.error, secrets);
    expectNoSecret(failed.error, secrets);
    expectNoSecret(await bad.storedError(failed.id), secrets);
  });

  it('keeps an e-mail address that a vendor error names out of the log lines and the run record', async () => {
    const t = await setup(vendor, { pageSize: 20 });
    vendor.generate(t.fake, 30);
    const named = 'ana.ruiz@acme.example';
    t.fake.script({ kind: 'status', status: 422, body: { message: `employee ${named} (E7) is locked for editing` } }, { times: 1, when: vendor.page(t.fake, 1, 20) });
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/HTTP 422 .*\(employee \[address\] \(E7\) is locked for editing\)$/);
    expect(t.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('sync failed');
    for (const text of [run.error, await t.storedError(run.id), ...t.lines]) expect(text).not.toContain(named);
  });

  it('checks a connector: resolves with good credentials, rejects with connector_auth_failed otherwise', async () => {
    const t = await setup(vendor, { pageSize: 20 });
    await expect(t.engine.checkConnector(t.connectorId)).resolves.toMatchObject({ connectorId: t.connectorId, type: vendor.type, ok: true });

    const bad = await setup(vendor, { pageSize: 20, env: vendor.wrongEnv });
    const err = await bad.engine.checkConnector(bad.connectorId).then(() => null, (e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'connector_auth_failed' });
    expect(err!.message).toContain(vendor.credentialHint);
    expectNoSecret(err!.message, vendor.secrets(bad.fake));
    expect(bad.fake.count).toBe(1);
  });
});

describe('Personio tokens through the sync engine', () => {
  it('renews a token that expires mid-listing and completes the run', async () => {
    const ps = 20;
    const t = await setup(personio, { pageSize: ps });
    personio.generate(t.fake, 60);
    t.fake.script({ kind: 'hook', run: () => t.fake.expireTokens() }, { when: personio.page(t.fake, 2, ps) });
    const run = await t.run();
    expectSucceeded(run);
    expect(run.counts).toMatchObject({ seen: 60, created: 54 });
    expect(await t.users()).toHaveLength(54);
    expect(t.fake.tokensIssued).toBe(2);
    // token, page 1, page 2 (401), token, page 2, page 3
    expect(t.fake.count).toBe(personio.requestsFor(60, ps) + 2);
  });
});
