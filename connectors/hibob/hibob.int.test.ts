import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/lib/errors.js';
import type { HrEmployee } from '../types.js';
import { FakeHibob, generateHibobPeople } from '../../test/fakes/hibob-server.js';
import { collect, fastDeps, testContext } from '../../test/fakes/connector-context.js';
import { createHibobConnector } from './index.js';
import { HIBOB_FIELDS, type HibobOptions } from './schemas.js';

const SERVICE_USER = 'SERVICE-4711';
const TOKEN = 'hbtok_9d8c7b6a5f4e3d2c1b0a99887766';

let server: FakeHibob;
let config: HibobOptions;

beforeEach(async () => {
  server = new FakeHibob({ serviceUserId: SERVICE_USER, token: TOKEN });
  const baseUrl = await server.start();
  config = { serviceUserId: SERVICE_USER, token: TOKEN, baseUrl, pageSize: 2, maxPages: 100 };
});

afterEach(async () => {
  await server.stop();
});

const ANA = '3332883884017713238';
const DAN = '3332883894235038486';

const EXPECTED: HrEmployee[] = [
  {
    externalId: ANA, email: 'ana.ruiz@acme.example', firstName: 'Ana', lastName: 'Ruiz', jobTitle: 'Financial Controller',
    department: 'Finance', location: 'Berlin Office', managerExternalId: DAN, status: 'active', startDate: '2020-02-01', endDate: null,
    attributes: { displayName: 'Ana Ruiz', employeeIdInCompany: '17', site: 'Berlin Office', siteId: '1234', titleId: '183479287', departmentId: '209192163', lifecycleStatus: 'employed', hibobStatus: 'Active' },
  },
  {
    externalId: DAN, email: 'daniel.cohen@acme.example', firstName: 'Daniel', lastName: 'Cohen', jobTitle: 'Chief Financial Officer',
    department: 'Finance', location: 'Tel Aviv Office', managerExternalId: null, status: 'active', startDate: '2016-05-15', endDate: null,
    attributes: { displayName: 'Daniel Cohen', employeeIdInCompany: '3', site: 'Tel Aviv Office', siteId: '1200', titleId: '183479290', departmentId: '209192163', lifecycleStatus: 'employed', hibobStatus: 'Active' },
  },
  {
    externalId: '3332883902342332421', email: 'ravi.patel@acme.example', firstName: 'Ravi', lastName: 'Patel', jobTitle: 'Software Engineer',
    department: 'R&D', location: 'London Office', managerExternalId: ANA, status: 'active', startDate: '2021-10-04', endDate: null,
    attributes: { displayName: 'Ravi Patel', employeeIdInCompany: '42', site: 'London Office', siteId: '1250', titleId: '183479301', departmentId: '209192170', lifecycleStatus: 'employed', hibobStatus: 'Active' },
  },
  {
    externalId: '3332883911123456789', email: 'emma.novak@acme.example', firstName: 'Emma', lastName: 'Novak', jobTitle: 'Software Engineer',
    department: 'R&D', location: 'Berlin Office', managerExternalId: DAN, status: 'inactive', startDate: '2019-01-07', endDate: '2024-03-31',
    attributes: { displayName: 'Emma Novak', employeeIdInCompany: '21', site: 'Berlin Office', siteId: '1234', titleId: '183479301', departmentId: '209192170', lifecycleStatus: 'terminated', hibobStatus: 'Inactive' },
  },
  {
    // Lifecycle "hired": starts in the future; passed through as active.
    externalId: '3332883922000000001', email: 'liam.obrien@acme.example', firstName: 'Liam', lastName: "O'Brien", jobTitle: 'Software Engineer',
    department: 'R&D', location: 'London Office', managerExternalId: ANA, status: 'active', startDate: '2031-01-15', endDate: null,
    attributes: { displayName: "Liam O'Brien", employeeIdInCompany: '88', site: 'London Office', siteId: '1250', titleId: '183479301', departmentId: '209192170', lifecycleStatus: 'hired', hibobStatus: 'Inactive' },
  },
  {
    externalId: '3332883933000000002', email: 'noa.levi@acme.example', firstName: 'Noa', lastName: 'Levi', jobTitle: null,
    department: 'Finance', location: null, managerExternalId: DAN, status: 'active', startDate: '2023-07-01', endDate: null,
    attributes: { displayName: 'Noa Levi', employeeIdInCompany: '55', site: null, siteId: null, titleId: null, departmentId: '209192163', lifecycleStatus: 'employed', hibobStatus: 'Active' },
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

describe('HiBob connector', () => {
  it('lists everyone in id slices and maps them exactly', async () => {
    const f = fastDeps();
    const { ctx, rejected } = testContext();
    const pages = await collect(createHibobConnector(f.deps), config, ctx);
    expect(pages.map((p) => p.length)).toStrictEqual([2, 2, 2]);
    expect(pages.flat()).toStrictEqual(EXPECTED);
    expect(rejected).toStrictEqual([]);
    expect(server.count).toBe(1 + 3);
    expect(f.requests).toBe(4);
    expect(server.requests[0].body).toStrictEqual({ fields: ['root.id'], showInactive: true });
    expect(server.requests[1].body).toStrictEqual({
      fields: [...HIBOB_FIELDS],
      filters: [{ fieldPath: 'root.id', operator: 'equals', values: [ANA, DAN] }],
      showInactive: true,
      humanReadable: 'APPEND',
    });
    expect(server.requests[0].headers.authorization).toBe(`Basic ${Buffer.from(`${SERVICE_USER}:${TOKEN}`).toString('base64')}`);
  });

  it('lists a large generated company slice by slice', async () => {
    server.people = generateHibobPeople(1_000);
    const f = fastDeps();
    const all = (await collect(createHibobConnector(f.deps), { ...config, pageSize: 250 }, testContext().ctx)).flat();
    expect(all.length).toBe(1_000);
    expect(new Set(all.map((e) => e.externalId)).size).toBe(1_000);
    expect(all.filter((e) => e.status === 'inactive').length).toBe(100);
    expect(server.count).toBe(1 + 4);
  });

  it('leaves out inactive employees when the scope excludes them, keeping future hires', async () => {
    const all = (await collect(createHibobConnector(fastDeps().deps), config, testContext({ includeInactive: false }).ctx)).flat();
    expect(all.map((e) => e.lastName)).toStrictEqual(['Ruiz', 'Cohen', 'Patel', "O'Brien", 'Levi']);
  });

  it('honours Retry-After on 429', async () => {
    server.script({ kind: 'status', status: 429, retryAfter: '5' }, { times: 1, when: (r) => server.isIdListing(r) });
    server.script({ kind: 'status', status: 429, retryAfter: '2' }, { times: 1, when: server.isSlice(2) });
    const f = fastDeps();
    const all = (await collect(createHibobConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(f.sleeps).toStrictEqual([5000, 2000]);
    expect(server.count).toBe(4 + 2);
  });

  it('survives bursts of 500 and 503 within the retry bound', async () => {
    server.script({ kind: 'status', status: 500 }, { times: 2, when: server.isSlice(1) });
    server.script({ kind: 'status', status: 503 }, { times: 3, when: server.isSlice(3) });
    const f = fastDeps();
    const all = (await collect(createHibobConnector(f.deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(server.count).toBe(4 + 5);
    expect(f.clients[0].stats.retries).toBe(5);
  });

  it('survives slow responses, retrying one slower than the timeout', async () => {
    server.script({ kind: 'delay', ms: 100 }, { times: 2 });
    server.script({ kind: 'delay', ms: 600 }, { times: 1, when: server.isSlice(3) });
    const all = (await collect(createHibobConnector(fastDeps().deps), { ...config, timeoutMs: 300 }, testContext().ctx)).flat();
    expect(all.length).toBe(6);
    expect(server.count).toBe(5);
  });

  it('fails at once on wrong service user credentials, naming them and never the token', async () => {
    const f = fastDeps();
    const err = await expectFailure(collect(createHibobConnector(f.deps), { ...config, token: 'stale-token-xyz' }, testContext().ctx), 'connector_auth_failed');
    expect(err.message).toContain('HiBob rejected the service user (401)');
    expect(err.message).toContain('options.serviceUserId and options.token');
    expect(err.message).not.toContain('stale-token-xyz');
    expect(server.count).toBe(1);
    expect(f.requests).toBe(1);
  });

  it('fails at once on 403 with a permissions hint', async () => {
    server.script({ kind: 'status', status: 403, body: { error: 'Forbidden' } }, { when: server.isSlice(1) });
    const err = await expectFailure(collect(createHibobConnector(fastDeps().deps), config, testContext().ctx), 'connector_auth_failed');
    expect(err.message).toContain('permission group');
    expect(server.count).toBe(2);
  });

  it('fails the listing on a malformed slice', async () => {
    server.script({ kind: 'malformed', body: '{"employees":[{"id":"3332883884017713238","work":{' }, { when: server.isSlice(2) });
    await expectFailure(collect(createHibobConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
  });

  it('fails the listing when a slice comes back short', async () => {
    server.script({ kind: 'wrong-shape', body: { employees: [{ id: '3332883902342332421' }] } }, { when: server.isSlice(2) });
    const err = await expectFailure(collect(createHibobConnector(fastDeps().deps), config, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('asked for 2 employees, got 1');
  });

  it('fails the listing when the connection is cut mid-listing and stays cut', async () => {
    server.script({ kind: 'cut' }, { times: 100, when: server.isSlice() });
    const err = await expectFailure(collect(createHibobConnector(fastDeps({ maxRetries: 2 }).deps), config, testContext().ctx), 'connector_request_failed');
    expect(err.message).toContain('network error');
    expect(server.count).toBe(1 + 3);
  });

  it('survives a single dropped connection', async () => {
    server.script({ kind: 'destroy' }, { times: 1, when: server.isSlice(2) });
    const all = (await collect(createHibobConnector(fastDeps().deps), config, testContext().ctx)).flat();
    expect(all).toStrictEqual(EXPECTED);
    expect(server.count).toBe(5);
  });

  it('stops at maxPages', async () => {
    const err = await expectFailure(collect(createHibobConnector(fastDeps().deps), { ...config, maxPages: 2 }, testContext().ctx), 'connector_bad_response');
    expect(err.message).toContain('options.maxPages');
    expect(server.count).toBe(3);
  });

  it('rejects a record whose start date is unparseable and lists the others', async () => {
    const ravi = server.people[2] as unknown as { work: Record<string, unknown> };
    ravi.work = { ...ravi.work, startDate: '04/10/2021' };
    const { ctx, rejected } = testContext();
    const all = (await collect(createHibobConnector(fastDeps().deps), config, ctx)).flat();
    expect(all.length).toBe(5);
    expect(rejected).toStrictEqual([{ externalId: '3332883902342332421', reason: 'malformed_record', detail: 'work.startDate: expected YYYY-MM-DD, got "04/10/2021"' }]);
  });

  it('does a full listing even when given a since date (no incremental support)', async () => {
    const connector = createHibobConnector(fastDeps().deps);
    expect(connector.supportsIncremental).toBe(false);
    const all = (await collect(connector, config, testContext({ since: new Date('2025-01-01T00:00:00Z') }).ctx)).flat();
    expect(all.length).toBe(6);
  });

  it('validates options before any request', async () => {
    const err = await expectFailure(collect(createHibobConnector(fastDeps().deps), { ...config, baseUrl: 'ftp://example' }, testContext().ctx), 'validation_failed');
    expect(err.message).toContain('options.baseUrl');
    expect(server.count).toBe(0);
  });

  it('checks the connection with one request', async () => {
    await createHibobConnector(fastDeps().deps).checkConnection(config, testContext().ctx);
    expect(server.count).toBe(1);
  });

  it('never writes the service user token to the log', async () => {
    const { ctx, lines } = testContext({ captureLogs: true });
    server.script({ kind: 'status', status: 429, retryAfter: '1' }, { when: server.isSlice(1) });
    server.script({ kind: 'status', status: 500 }, { when: server.isSlice(2) });
    await collect(createHibobConnector(fastDeps().deps), config, ctx);
    await createHibobConnector(fastDeps().deps)
      .checkConnection({ ...config, token: `${TOKEN}-rotated` }, ctx)
      .catch((e: Error) => ctx.log.error({ err: e }, 'check failed'));
    expect(lines.length).toBeGreaterThan(5);
    const basic = Buffer.from(`${SERVICE_USER}:${TOKEN}`).toString('base64');
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(basic);
    }
  });
});
