import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/lib/errors.js';
import type { HrEmployee } from '../types.js';
import { FakeBamboohr, generateBamboohrRows } from '../../test/fakes/bamboohr-server.js';
import { collect, fastDeps, testContext } from '../../test/fakes/connector-context.js';
import { createBamboohrConnector } from './index.js';
import type { BamboohrOptions } from './schemas.js';

const API_KEY = 'bhr-live-3f9c1a7e5d2b48c6a0e1';

let server: FakeBamboohr;
let config: BamboohrOptions;

beforeEach(async () => {
  server = new FakeBamboohr({ companyDomain: 'acme', apiKey: API_KEY });
  const baseUrl = await server.start();
  config = { companyDomain: 'acme', apiKey: API_KEY, baseUrl, paging: 'keyset', pageSize: 4, maxPages: 100 };
});

afterEach(async () => {
  await server.stop();
});

const EXPECTED: HrEmployee[] = [
  {
    externalId: '4', email: 'cabbott@acme.example', firstName: 'Charlotte', lastName: 'Abbott', jobTitle: 'Sr. HR Administrator',
    department: 'Human Resources', location: 'Lindon, Utah', managerExternalId: '9', status: 'active', startDate: '2019-03-11', endDate: null,
    attributes: { employeeNumber: '1', preferredName: 'Charlie', division: 'North America', employmentStatus: 'Full-Time', supervisorName: 'Jennifer Caldwell', bamboohrStatus: 'Active', lastChanged: '2025-01-14T09:12:44+00:00' },
  },
  {
    externalId: '5', email: 'aadams@acme.example', firstName: 'Ashley', lastName: 'Adams', jobTitle: 'HR Administrator',
    department: 'Human Resources', location: 'London, UK', managerExternalId: '9', status: 'active', startDate: '2022-08-27', endDate: null,
    attributes: { employeeNumber: '2', preferredName: null, division: 'Europe', employmentStatus: 'Part-Time', supervisorName: 'Jennifer Caldwell', bamboohrStatus: 'Active', lastChanged: '2024-11-02T16:40:03+00:00' },
  },
  {
    externalId: '8', email: 'kgant@acme.example', firstName: 'Khaliq', lastName: 'Gant', jobTitle: 'Chief Executive Officer',
    department: 'Operations', location: 'Lindon, Utah', managerExternalId: null, status: 'active', startDate: '2017-11-27', endDate: null,
    attributes: { employeeNumber: '5', preferredName: null, division: 'North America', employmentStatus: 'Full-Time', supervisorName: null, bamboohrStatus: 'Active', lastChanged: '2023-06-30T08:00:00+00:00' },
  },
  {
    externalId: '9', email: 'jcaldwell@acme.example', firstName: 'Jennifer', lastName: 'Caldwell', jobTitle: 'VP of People',
    department: 'Human Resources', location: 'Lindon, Utah', managerExternalId: '8', status: 'active', startDate: '2018-01-08', endDate: null,
    attributes: { employeeNumber: '6', preferredName: null, division: 'North America', employmentStatus: 'Full-Time', supervisorName: 'Khaliq Gant', bamboohrStatus: 'Active', lastChanged: '2024-02-19T12:01:59+00:00' },
  },
  {
    externalId: '12', email: 'easture@acme.example', firstName: 'Eric', lastName: 'Asture', jobTitle: 'VP of IT',
    department: 'IT', location: 'Lindon, Utah', managerExternalId: '8', status: 'inactive', startDate: '2021-11-27', endDate: '2024-06-30',
    attributes: { employeeNumber: '9', preferredName: null, division: 'North America', employmentStatus: 'Terminated', supervisorName: 'Khaliq Gant', bamboohrStatus: 'Inactive', lastChanged: '2024-07-01T07:30:00+00:00' },
  },
  {
    // A future hire: BambooHR marks it Inactive until the hire date; it is passed through as active.
    externalId: '15', email: 'mlindqvist@acme.example', firstName: 'Maya', lastName: 'Lindqvist', jobTitle: 'Software Engineer',
    department: 'IT', location: 'Stockholm, Sweden', managerExternalId: '9', status: 'active', startDate: '2031-02-01', endDate: null,
    attributes: { employeeNumber: '12', preferredName: null, division: 'Europe', employmentStatus: 'Full-Time', supervisorName: 'Jennifer Caldwell', bamboohrStatus: 'Inactive', lastChanged: '2025-02-03T14:22:10+00:00' },
  },
  {
    // No e-mail: yielded as is; the sync engine rejects it (no_email), not the connector.
    externalId: '16', email: null, firstName: 'Tom', lastName: 'Berger', jobTitle: 'Warehouse Associate',
    department: 'Operations', location: 'Hamburg, Germany', managerExternalId: '8', status: 'active', startDate: '2023-04-17', endDate: null,
    attributes: { employeeNumber: '13', preferredName: null, division: 'Europe', employmentStatus: 'Contractor', supervisorName: 'Khaliq Gant', bamboohrStatus: 'Active', lastChanged: '2025-01-20T10:05:00+00:00' },
  },
];

async function expectFailure(p: Promise<unknown>, code: string): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} failure`).not.toBeNull();
  expect(isAppError(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  return err as Error;
}

describe('BambooHR connector', () => {
  it('lists a multi-page dataset completely and maps it exactly', async () => {
    const f = fastDeps();
    const { ctx, rejected } = testContext();
    const pages = await collect(createBamboohrConnector(f.deps), config, ctx);
    expect(pages.map((p) => p.length)).toStrictEqual([4, 3]);
    expect(pages.flat()).toStrictEqual(EXPECTED);
    expect(rejected).toStrictEqual([]);
    expect(server.count).toBe(2);
    expect(f.requests).toBe(2);
    const body = server.requests[0].body as Record<string, unknown>;
    expect(body.filter).toBe(`status in ('Active','Inactive')`);
    expect(body.orderBy).toBe('eeid asc');
    expect(server.requests[0].headers.authorization).toBe(`Basic ${Buffer.from(`${API_KEY}:x`).toString('base64')}`);
  });

  it('lists a large generated dataset page by page without losing anyone', async () => {
    server.rows = generateBamboohrRows(2_345);
    const f = fastDeps();
    const { ctx } = testContext();
    const pages = await collect(createBamboohrConnector(f.deps), { ...config, pageSize: 500 }, ctx);
    const all = pages.flat();
    expect(pages.length).toBe(5);
    expect(all.length).toBe(2_345);
    expect(new Set(all.map((e) => e.externalId)).size).toBe(2_345);
    expect(all.filter((e) => e.status === 'inactive').length).toBe(234);
    expect(f.requests).toBe(5);
  });

  it('leaves out inactive employees when the scope excludes them, keeping future hires', async () => {
    const { ctx } = testContext({ includeInactive: false });
    const all = (await collect(createBamboohrConnector(fastDeps().deps), config, ctx)).flat();
    expect(all.map((e) => e.externalId)).toStrictEqual(['4', '5', '8', '9', '15', '16']);
  });

  it('honours Retry-After on 429', async () => {
    server.script({ kind: 'status', status: 429, retryAfter: '2' }, { times: 2, when: server.isPage(2) });
    const f = fastDeps();
    const all = (await collect(createBamboohrConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(f.sleeps).toStrictEqual([2000, 2000]);
    expect(server.count).toBe(4);
    expect(f.requests).toBe(4);
  });

  it('honours an HTTP-date Retry-After on 503, capped', async () => {
    const later = new Date(Date.now() + 3_600_000).toUTCString();
    server.script({ kind: 'status', status: 503, retryAfter: later }, { times: 1, when: server.isPage(1) });
    const f = fastDeps({ maxRetryAfterMs: 5_000 });
    const all = (await collect(createBamboohrConnector(f.deps), config, testContext().ctx)).flat();
    expect(all.length).toBe(7);
    expect(f.sleeps).toStrictEqual([5_000]);
    expect(server.count).toBe(3);
  });

  it('survives bursts of 500 and 503 with exponential backoff, within the retry bound', async () => {
    server.script({ kind: 'status', status: 500 }, { times: 3, when: server.isPage(1) });
    server.script({ kind: 'status', status: 503 }, { times: 2, when: server.isPage(2) });
    const f = fastDeps();
    const all = (await collect(createBamboohrConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    // base 10 ms, equal jitter at random=0.5: 7.5, 15, 30 ms for page 1; 7.5, 15 for page 2.
    expect(f.sleeps).toStrictEqual([8, 15, 30, 8, 15]);
    expect(server.count).toBe(2 + 5);
    expect(f.clients[0].stats.retries).toBe(5);
  });

  it('gives up after the bounded number of retries', async () => {
    server.script({ kind: 'status', status: 502 }, { times: 100, when: server.isPage(2) });
    const f = fastDeps({ maxRetries: 3 });
    const err = await expectFailure(collect(createBamboohrConnector(f.deps), config, testContext().ctx), 'connector_request_failed');
    expect(err.message).toContain('HTTP 502');
    expect(err.message).toContain('4 attempts');
    expect(server.count).toBe(1 + 4);
  });

  it('survives slow responses within the timeout', async () => {
    server.script({ kind: 'delay', ms: 150 }, { times: 2 });
    const f = fastDeps();
    const all = (await collect(createBamboohrConnector(f.deps), { ...config, timeoutMs: 5_000 }, testContext().ctx)).flat();
    expect(all.length).toBe(7);
    expect(server.count).toBe(2);
  });

  it('retries a response slower than the timeout', async () => {
    server.script({ kind: 'delay', ms: 600 }, { times: 1, when: server.isPage(1) });
    const f = fastDeps();
    const all = (await collect(createBamboohrConnector(f.deps), { ...config, timeoutMs: 200 }, testContext().ctx)).flat();
    expect(all.length).toBe(7);
    expect(server.count).toBe(3);
    expect(f.clients[0].stats.outcomes.ETIMEDOUT).toBe(1);
  });

  it('fails at once on a wrong API key, naming the credential and never the key', async () => {
    const f = fastDeps();
    const err = await expectFailure(
      collect(createBamboohrConnector(f.deps), { ...config, apiKey: 'wrong-key-0000' }, testContext().ctx),
      'connector_auth_failed',
    );
    expect(err.message).toContain('BambooHR rejected the API key (401)');
    expect(err.message).toContain('options.apiKey');
    expect(err.message).not.toContain('wrong-key-0000');
    expect(server.count).toBe(1);
    expect(f.requests).toBe(1);
  });

  it('fails at once on 403 with a permissions hint', async () => {
    server.script({ kind: 'status', status: 403, body: { title: 'Forbidden' } });
    const f = fastDeps();
    const err = await expectFailure(collect(createBamboohrConnector(f.deps), config, testContext().ctx), 'connector_auth_failed');
    expect(err.message).toContain('403');
    expect(server.count).toBe(1);
  });

  it('fails the listing on a malformed page after yielding the good ones', async () => {
    server.script({ kind: 'malformed' }, { when: server.isPage(2) });
    const yielded: HrEmployee[][] = [];
    const run = (async () => {
      for await (const p of createBamboohrConnector(fastDeps().deps).listEmployees(config, testContext().ctx)) yielded.push(p);
    })();
    const err = await expectFailure(run, 'connector_bad_response');
    expect(err.message).toContain('not valid JSON');
    expect(yielded.map((p) => p.length)).toStrictEqual([4]);
    expect(server.count).toBe(2);
  });

  it('fails the listing on a page of the wrong shape', async () => {
    server.script({ kind: 'wrong-shape', body: { data: 'nope', meta: { page: 2 } } }, { when: server.isPage(2) });
    const err = await expectFailure(collect(createBamboohrConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('unexpected response shape');
  });

  it('fails the listing when the connection is cut mid-listing and stays cut', async () => {
    server.script({ kind: 'cut' }, { times: 100, when: server.isPage(2) });
    const f = fastDeps({ maxRetries: 2 });
    const err = await expectFailure(collect(createBamboohrConnector(f.deps), config, testContext().ctx), 'connector_request_failed');
    expect(err.message).toContain('network error');
    expect(server.count).toBe(1 + 3);
  });

  it('survives a single dropped connection', async () => {
    server.script({ kind: 'destroy' }, { times: 1, when: server.isPage(2) });
    const f = fastDeps();
    const all = (await collect(createBamboohrConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(server.count).toBe(3);
  });

  // Found by the HR API chaos (bench/chaos/hr-api.ts, "shrink-midlisting"): a dataset that lost
  // rows while it was read ended early with consistent metadata; the rest looked gone.
  it('fails a listing that shrinks while it is read', async () => {
    server.rows = generateBamboohrRows(12);
    server.script({ kind: 'hook', run: () => (server.rows = server.rows.slice(0, 6)) }, { when: server.isPage(2) });
    const err = await expectFailure(collect(createBamboohrConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toBe('BambooHR: the listing shrank while it was read (page 2 announces 6 records, an earlier page 12): not trusting it');
  });

  it('refuses a server that answers with the wrong page (page paging)', async () => {
    server.script(
      { kind: 'wrong-shape', body: { data: [], links: {}, meta: { page: 1, pageSize: 4, totalPages: 2, totalItems: 7 } } },
      { when: server.isPage(2) },
    );
    const err = await expectFailure(collect(createBamboohrConnector(fastDeps().deps), { ...config, paging: 'page' }, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('asked for dataset page 2, got page 1');
  });

  it('keyset paging: asks for the rows above the last eeid read, and refuses a server that ignores the key', async () => {
    server.rows = generateBamboohrRows(10);
    const pages = await collect(createBamboohrConnector(fastDeps().deps), config, testContext().ctx);
    expect(pages.map((p) => p.map((e) => e.externalId))).toStrictEqual([['1', '2', '3', '4'], ['5', '6', '7', '8'], ['9', '10']]);
    const filters = server.requests.map((r) => (r.body as { filter: string; page: number }));
    expect(filters.map((b) => b.page)).toStrictEqual([1, 1, 1]);
    expect(filters.map((b) => b.filter.replace(/^status in \('Active','Inactive'\)/, ''))).toStrictEqual(['', ' and eeid gt 4', ' and eeid gt 8']);

    server.resetCounters();
    // A server that ignores the filter and sends the first rows again.
    server.script({ kind: 'transform', run: (reply) => ({ ...reply, body: { ...(reply.body as object), data: server.rows.slice(0, 4) } }) }, { when: server.isPage(2) });
    const err = await expectFailure(collect(createBamboohrConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toMatch(/not in ascending eeid order after 4/);
  });

  it('stops at maxPages', async () => {
    const err = await expectFailure(collect(createBamboohrConnector(fastDeps().deps), { ...config, maxPages: 1 }, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('options.maxPages');
    expect(server.count).toBe(1);
  });

  it('rejects a record with an unparseable date and lists the others', async () => {
    server.rows[1] = { fields: { ...server.rows[1].fields, hireDate: '27/08/2022' } };
    const { ctx, rejected } = testContext();
    const all = (await collect(createBamboohrConnector(fastDeps().deps), config, ctx)).flat();
    expect(all.map((e) => e.externalId)).toStrictEqual(['4', '8', '9', '12', '15', '16']);
    expect(rejected).toStrictEqual([{ externalId: '5', reason: 'malformed_record', detail: 'hireDate: expected YYYY-MM-DD, got "27/08/2022"' }]);
  });

  it('asks only for records changed since the last run when incremental', async () => {
    const { ctx } = testContext({ since: new Date('2025-01-01T00:00:00.000Z') });
    const connector = createBamboohrConnector(fastDeps().deps);
    expect(connector.supportsIncremental).toBe(true);
    const all = (await collect(connector, config, ctx)).flat();
    expect(all.map((e) => e.externalId)).toStrictEqual(['4', '15', '16']);
    expect((server.requests[0].body as { filter: string }).filter).toBe(`status in ('Active','Inactive') and lastChanged gt '2025-01-01T00:00:00Z'`);
  });

  it('validates options before any request', async () => {
    const err = await expectFailure(
      collect(createBamboohrConnector(fastDeps().deps), { ...config, apiKey: '', pageSize: 5000 } as BamboohrOptions, testContext().ctx),
      'validation_failed',
    );
    expect(err.message).toContain('options.apiKey');
    expect(err.message).toContain('options.pageSize');
    expect(server.count).toBe(0);
  });

  it('checks the connection with one request', async () => {
    const f = fastDeps();
    await createBamboohrConnector(f.deps).checkConnection(config, testContext().ctx);
    expect(server.count).toBe(1);
    await expectFailure(createBamboohrConnector(f.deps).checkConnection({ ...config, apiKey: 'nope-nope' }, testContext().ctx), 'connector_auth_failed');
    expect(server.count).toBe(2);
  });

  it('never writes the API key to the log', async () => {
    const { ctx, lines } = testContext({ captureLogs: true });
    server.script({ kind: 'status', status: 429, retryAfter: '1' }, { when: server.isPage(1) });
    server.script({ kind: 'status', status: 500 }, { when: server.isPage(2) });
    await collect(createBamboohrConnector(fastDeps().deps), config, ctx);
    await createBamboohrConnector(fastDeps().deps)
      .checkConnection({ ...config, apiKey: `${API_KEY}-revoked` }, ctx)
      .catch((e: Error) => ctx.log.error({ err: e }, 'check failed'));
    expect(lines.length).toBeGreaterThan(5);
    const basic = Buffer.from(`${API_KEY}:x`).toString('base64');
    for (const line of lines) {
      expect(line).not.toContain(API_KEY);
      expect(line).not.toContain(basic);
    }
  });
});
