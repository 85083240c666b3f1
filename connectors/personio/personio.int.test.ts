import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/lib/errors.js';
import type { HrEmployee } from '../types.js';
import { FakePersonio, generatePersonioRows } from '../../test/fakes/personio-server.js';
import { collect, fastDeps, testContext } from '../../test/fakes/connector-context.js';
import { createPersonioConnector } from './index.js';
import type { PersonioOptions } from './schemas.js';

const CLIENT_ID = 'papi-client-8f2d1c';
const CLIENT_SECRET = 'papi-secret-5b7e9a0c3d1f46e2b8a4';

let server: FakePersonio;
let config: PersonioOptions;

beforeEach(async () => {
  server = new FakePersonio({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const baseUrl = await server.start();
  config = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl, pageSize: 2, maxPages: 100 };
});

afterEach(async () => {
  await server.stop();
});

const base = { preferredName: null, subcompany: 'Acme GmbH', employmentType: 'internal', costCenters: null, dynamic_24407: null };

const EXPECTED: HrEmployee[] = [
  {
    externalId: '1001', email: 'alexander.bergmann@acme.example', firstName: 'Alexander', lastName: 'Bergmann', jobTitle: 'CTO',
    department: 'Engineering', location: 'Munich', managerExternalId: null, status: 'active', startDate: '2014-11-09', endDate: null,
    attributes: { ...base, team: 'Platform', costCenters: 'Cost center 1', personioStatus: 'active', lastModifiedAt: '2025-01-10T17:33:55+01:00', dynamic_24407: 'Dr' },
  },
  {
    externalId: '1002', email: 'lena.fischer@acme.example', firstName: 'Lena', lastName: 'Fischer', jobTitle: 'Engineering Manager',
    department: 'Engineering', location: 'Berlin', managerExternalId: '1001', status: 'active', startDate: '2019-04-01', endDate: null,
    attributes: { ...base, team: 'Platform', personioStatus: 'active', lastModifiedAt: '2024-10-02T09:14:00+02:00' },
  },
  {
    // On leave is still employed.
    externalId: '1003', email: 'jonas.weber@acme.example', firstName: 'Jonas', lastName: 'Weber', jobTitle: 'Account Executive',
    department: 'Sales', location: 'Berlin', managerExternalId: '1001', status: 'active', startDate: '2020-09-15', endDate: null,
    attributes: { ...base, team: null, personioStatus: 'leave', lastModifiedAt: '2024-12-19T11:00:00+01:00' },
  },
  {
    externalId: '1004', email: 'sophie.klein@acme.example', firstName: 'Sophie', lastName: 'Klein', jobTitle: 'Backend Engineer',
    department: 'Engineering', location: 'Munich', managerExternalId: '1002', status: 'inactive', startDate: '2018-02-01', endDate: '2023-12-31',
    attributes: { ...base, team: 'Platform', personioStatus: 'inactive', lastModifiedAt: '2024-01-02T08:00:00+01:00' },
  },
  {
    // "onboarding": hired, starting in the future: passed through as active with its start date.
    externalId: '1005', email: 'mehmet.yilmaz@acme.example', firstName: 'Mehmet', lastName: 'Yilmaz', jobTitle: 'Frontend Engineer',
    department: 'Engineering', location: 'Berlin', managerExternalId: '1002', status: 'active', startDate: '2031-03-01', endDate: null,
    attributes: { ...base, team: 'Platform', personioStatus: 'onboarding', lastModifiedAt: '2025-02-11T15:45:12+01:00' },
  },
  {
    externalId: '1006', email: null, firstName: 'Clara', lastName: 'Hoffmann', jobTitle: 'Office Manager',
    department: null, location: 'Munich', managerExternalId: null, status: 'active', startDate: '2022-06-01', endDate: null,
    attributes: { ...base, team: null, employmentType: 'external', personioStatus: 'active', lastModifiedAt: '2024-06-03T10:00:00+02:00' },
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

const employeesRequests = () => server.countWhere(server.isEmployees());
const authRequests = () => server.countWhere((r) => server.isAuth(r));

describe('Personio connector', () => {
  it('lists every page with one token and maps the employees exactly', async () => {
    const f = fastDeps();
    const { ctx, rejected } = testContext();
    const pages = await collect(createPersonioConnector(f.deps), config, ctx);
    expect(pages.map((p) => p.length)).toStrictEqual([2, 2, 2]);
    expect(pages.flat()).toStrictEqual(EXPECTED);
    expect(rejected).toStrictEqual([]);
    expect(authRequests()).toBe(1);
    expect(employeesRequests()).toBe(3);
    expect(f.requests).toBe(4);
    expect(server.requests.filter((r) => server.isEmployees()(r)).map((r) => r.query.get('offset'))).toStrictEqual(['0', '2', '4']);
    // Credentials travel in the body, never in the URL.
    expect(server.requests[0].query.toString()).toBe('');
    expect(server.requests[0].body).toStrictEqual({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
  });

  it('lists a large generated company at 100 per page', async () => {
    server.rows = generatePersonioRows(1_234);
    const f = fastDeps();
    const all = (await collect(createPersonioConnector(f.deps), { ...config, pageSize: 100 }, testContext().ctx)).flat();
    expect(all.length).toBe(1_234);
    expect(new Set(all.map((e) => e.externalId)).size).toBe(1_234);
    expect(employeesRequests()).toBe(13);
    expect(f.requests).toBe(14);
  });

  it('renews a token that expires mid-listing and completes the listing', async () => {
    server.script({ kind: 'hook', run: () => server.expireTokens() }, { when: server.isEmployees(2) });
    const f = fastDeps();
    const all = (await collect(createPersonioConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(authRequests()).toBe(2);
    // auth, offset 0, offset 2 (401), auth, offset 2, offset 4
    expect(server.count).toBe(6);
    expect(f.requests).toBe(6);
  });

  it('renews a token each time it runs out of uses', async () => {
    server.tokenMaxUses = 1;
    const all = (await collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(authRequests()).toBe(3);
    expect(employeesRequests()).toBe(5);
  });

  it('follows rotating one-time tokens from the response header', async () => {
    server.rotateTokens = true;
    const all = (await collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(authRequests()).toBe(1);
    expect(employeesRequests()).toBe(3);
  });

  it('fails when even a freshly issued token is rejected', async () => {
    server.tokenMaxUses = 0;
    const err = await expectFailure(collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx), 'connector_auth_failed');
    expect(err.message).toContain('freshly issued token');
    expect(server.count).toBe(4);
  });

  it('fails at once on wrong client credentials, naming them and never the secret', async () => {
    const f = fastDeps();
    const err = await expectFailure(
      collect(createPersonioConnector(f.deps), { ...config, clientSecret: 'not-the-secret-123' }, testContext().ctx),
      'connector_auth_failed',
    );
    expect(err.message).toContain('Personio rejected the API credentials (401)');
    expect(err.message).toContain('options.clientId and options.clientSecret');
    expect(err.message).not.toContain('not-the-secret-123');
    expect(server.count).toBe(1);
    expect(f.requests).toBe(1);
  });

  it('fails at once on 403 with a permissions hint', async () => {
    server.script({ kind: 'status', status: 403, body: { success: false, error: { message: 'Forbidden' } } }, { when: server.isEmployees() });
    const err = await expectFailure(collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx), 'connector_auth_failed');
    expect(err.message).toContain('403');
    expect(err.message).toContain('read access');
    expect(server.count).toBe(2);
  });

  it('honours Retry-After on 429', async () => {
    server.script({ kind: 'status', status: 429, retryAfter: '3' }, { times: 2, when: server.isEmployees(2) });
    const f = fastDeps();
    const all = (await collect(createPersonioConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(f.sleeps).toStrictEqual([3000, 3000]);
    expect(server.count).toBe(1 + 3 + 2);
  });

  it('survives bursts of 500 and 503 within the retry bound', async () => {
    server.script({ kind: 'status', status: 503 }, { times: 2, when: (r) => server.isAuth(r) });
    server.script({ kind: 'status', status: 500 }, { times: 3, when: server.isEmployees(4) });
    const f = fastDeps();
    const all = (await collect(createPersonioConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(server.count).toBe(4 + 5);
    expect(f.requests).toBe(9);
    expect(f.clients[0].stats.retries).toBe(5);
  });

  it('survives slow responses', async () => {
    server.script({ kind: 'delay', ms: 100 }, { times: 3 });
    server.script({ kind: 'delay', ms: 600 }, { times: 1, when: server.isEmployees(4) });
    const f = fastDeps();
    const all = (await collect(createPersonioConnector(f.deps), { ...config, timeoutMs: 300 }, testContext().ctx)).flat();
    expect(all.length).toBe(6);
    expect(server.count).toBe(5);
  });

  it('fails the listing on a malformed page', async () => {
    server.script({ kind: 'malformed', body: '{"success":true,"data":[{"type":"Employee","attr' }, { when: server.isEmployees(2) });
    const err = await expectFailure(collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('offset 2');
  });

  it('fails the listing on success:false in a 200 answer', async () => {
    server.script({ kind: 'wrong-shape', body: { success: false, error: { message: 'Something went wrong' } } }, { when: server.isEmployees(2) });
    await expectFailure(collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
  });

  it('fails the listing when the connection is cut mid-listing and stays cut', async () => {
    server.script({ kind: 'cut' }, { times: 100, when: server.isEmployees(2) });
    const err = await expectFailure(collect(createPersonioConnector(fastDeps({ maxRetries: 2 }).deps), config, testContext().ctx), 'connector_request_failed');
    expect(err.message).toContain('network error');
    expect(server.count).toBe(1 + 1 + 3);
  });

  // Found by the HR API chaos (bench/chaos/hr-api.ts, "shrink-midlisting"): people leaving the
  // listing while it was read made it end early with a consistent, smaller total; everyone after
  // them looked gone and was deactivated (under the threshold).
  it('fails a listing that shrinks while it is read', async () => {
    server.rows = generatePersonioRows(10);
    server.script({ kind: 'hook', run: () => (server.rows = server.rows.slice(0, 5)) }, { when: server.isEmployees(4) });
    const err = await expectFailure(collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toBe('Personio: the listing shrank while it was read (page 4 announces 5 records, an earlier page 10): not trusting it');
  });

  it('refuses a server that ignores the offset', async () => {
    server.ignoreOffset = true;
    const err = await expectFailure(collect(createPersonioConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('repeats the previous page');
    expect(employeesRequests()).toBe(2);
  });

  it('stops at maxPages', async () => {
    const err = await expectFailure(collect(createPersonioConnector(fastDeps().deps), { ...config, maxPages: 2 }, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('options.maxPages');
    expect(employeesRequests()).toBe(2);
  });

  it('rejects a record with an unparseable date and lists the others', async () => {
    const row = structuredClone(server.rows[2]);
    row.attributes.hire_date = { ...row.attributes.hire_date, value: 'next monday' };
    server.rows[2] = row;
    const { ctx, rejected } = testContext();
    const all = (await collect(createPersonioConnector(fastDeps().deps), config, ctx)).flat();
    expect(all.map((e) => e.externalId)).toStrictEqual(['1001', '1002', '1004', '1005', '1006']);
    expect(rejected).toStrictEqual([{ externalId: '1003', reason: 'malformed_record', detail: 'hire_date: expected YYYY-MM-DD, got "next monday"' }]);
  });

  it('asks only for employees updated since the last run when incremental', async () => {
    const { ctx } = testContext({ since: new Date('2025-01-01T00:00:00.000Z') });
    const all = (await collect(createPersonioConnector(fastDeps().deps), config, ctx)).flat();
    expect(all.map((e) => e.externalId)).toStrictEqual(['1001', '1005']);
    expect(server.requests[1].query.get('updated_since')).toBe('2025-01-01T00:00:00');
  });

  it('takes an updated_since answer that ignores the paging as complete', async () => {
    server.rows = generatePersonioRows(9);
    server.ignorePagingWhenUpdatedSince = true;
    const { ctx } = testContext({ since: new Date('2020-01-01T00:00:00.000Z') });
    const all = (await collect(createPersonioConnector(fastDeps().deps), config, ctx)).flat();
    expect(all.length).toBe(9);
    expect(employeesRequests()).toBe(1);
  });

  it('leaves out inactive employees when the scope excludes them, keeping future hires', async () => {
    const all = (await collect(createPersonioConnector(fastDeps().deps), config, testContext({ includeInactive: false }).ctx)).flat();
    expect(all.map((e) => e.externalId)).toStrictEqual(['1001', '1002', '1003', '1005', '1006']);
  });

  it('validates options before any request', async () => {
    const err = await expectFailure(
      collect(createPersonioConnector(fastDeps().deps), { ...config, pageSize: 200, extra: 1 } as unknown as PersonioOptions, testContext().ctx),
      'validation_failed',
    );
    expect(err.message).toContain('options.pageSize');
    expect(server.count).toBe(0);
  });

  it('checks the connection with a token and one employee', async () => {
    await createPersonioConnector(fastDeps().deps).checkConnection(config, testContext().ctx);
    expect(server.count).toBe(2);
    expect(server.requests[1].query.get('limit')).toBe('1');
  });

  it('never writes the client secret or a token to the log', async () => {
    const { ctx, lines } = testContext({ captureLogs: true });
    server.script({ kind: 'hook', run: () => server.expireTokens() }, { when: server.isEmployees(2) });
    server.script({ kind: 'status', status: 503, retryAfter: '1' }, { when: server.isEmployees(4) });
    await collect(createPersonioConnector(fastDeps().deps), config, ctx);
    await createPersonioConnector(fastDeps().deps)
      .checkConnection({ ...config, clientSecret: `${CLIENT_SECRET}-old` }, ctx)
      .catch((e: Error) => ctx.log.error({ err: e }, 'check failed'));
    expect(lines.length).toBeGreaterThan(5);
    expect(server.issuedTokens.length).toBe(2);
    for (const line of lines) {
      expect(line).not.toContain(CLIENT_SECRET);
      for (const t of server.issuedTokens) expect(line).not.toContain(t);
    }
  });
});
