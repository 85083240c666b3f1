import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../src/lib/errors.js';
import { FakeBamboohr, generateBamboohrRows } from '../test/fakes/bamboohr-server.js';
import { FakeHibob, generateHibobPeople } from '../test/fakes/hibob-server.js';
import { FakePersonio, generatePersonioRows } from '../test/fakes/personio-server.js';
import { fastDeps, testContext } from '../test/fakes/connector-context.js';
import { createBamboohrConnector } from './bamboohr/index.js';
import { fileConnector } from './file/index.js';
import { createHibobConnector } from './hibob/index.js';
import { createPersonioConnector } from './personio/index.js';
import type { HrEmployee } from './types.js';

/**
 * lookupEmployees: the answer by id that confirms (or not) a deactivation. Found → the employee
 * as the listing maps it; unknown at the vendor → null; a request that keeps failing → throws.
 */

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(isAppError(err), 'expected an AppError').toBe(true);
  return err as { code: string; message: string };
}

describe('BambooHR lookupEmployees (dataset filter on eeid)', () => {
  const server = new FakeBamboohr({ companyDomain: 'acme', apiKey: 'bhr-key-1234567890', rows: generateBamboohrRows(300) });
  let config: { companyDomain: string; apiKey: string; baseUrl: string; paging: 'keyset' | 'page'; pageSize: number; maxPages: number };
  beforeAll(async () => {
    config = { companyDomain: 'acme', apiKey: 'bhr-key-1234567890', baseUrl: await server.start(), paging: 'keyset', pageSize: 50, maxPages: 100 };
  });
  afterAll(() => server.stop());

  it('maps found employees like the listing, inactive included, unknown ids null, in batches of 100', async () => {
    server.resetCounters();
    const f = fastDeps();
    const { ctx } = testContext({ includeInactive: false });
    const ids = [...Array.from({ length: 150 }, (_, i) => String(i + 1)), '99999'];
    const got = await createBamboohrConnector(f.deps).lookupEmployees!(config, ids, ctx);
    expect(got.size).toBe(151);
    expect(got.get('99999')).toBeNull();
    const e7 = got.get('7') as HrEmployee;
    expect(e7).toMatchObject({ externalId: '7', email: 'employee7@acme.example', firstName: 'First7', status: 'active', managerExternalId: '3' });
    expect((got.get('10') as HrEmployee).status).toBe('inactive'); // every 10th is inactive, still reported
    expect(server.count).toBe(2); // 151 ids → 2 requests
    expect(String((server.requests[0].body as { filter: string }).filter)).toMatch(/^eeid eq 1 or eeid eq 2 or /);
  });

  it('zero ids → zero requests', async () => {
    server.resetCounters();
    const got = await createBamboohrConnector(fastDeps().deps).lookupEmployees!(config, [], testContext().ctx);
    expect(got.size).toBe(0);
    expect(server.count).toBe(0);
  });

  it('a 5xx until the retries run out throws (never "gone")', async () => {
    server.resetCounters();
    server.script({ kind: 'status', status: 503 }, { times: 10 });
    const err = await failure(createBamboohrConnector(fastDeps().deps).lookupEmployees!(config, ['5'], testContext().ctx));
    expect(err.code).toBe('connector_request_failed');
    expect(server.count).toBe(5);
    server.clearScript();
  });
});

describe('Personio v1 lookupEmployees (employee by id)', () => {
  const server = new FakePersonio({ clientId: 'pc-1', clientSecret: 'papi-secret-abcdef0123', rows: generatePersonioRows(40) });
  let config: { clientId: string; clientSecret: string; baseUrl: string; pageSize: number; maxPages: number };
  beforeAll(async () => {
    config = { clientId: 'pc-1', clientSecret: 'papi-secret-abcdef0123', baseUrl: await server.start(), pageSize: 10, maxPages: 100 };
  });
  afterAll(() => server.stop());

  it('one GET per id; found mapped, 404 → null, inactive reported', async () => {
    server.resetCounters();
    const got = await createPersonioConnector(fastDeps().deps).lookupEmployees!(config, ['3', '20', '777', '3'], testContext().ctx);
    expect([...got.keys()].sort()).toEqual(['20', '3', '777']);
    expect(got.get('3')).toMatchObject({ externalId: '3', email: 'mitarbeiter3@acme.example', status: 'active', managerExternalId: '1' });
    expect((got.get('20') as HrEmployee).status).toBe('inactive');
    expect(got.get('777')).toBeNull();
    expect(server.countWhere((r) => server.isEmployeeById(r))).toBe(3);
    expect(server.countWhere((r) => server.isAuth(r))).toBe(1);
  });

  it('a token that expires between look-ups is renewed once and the request repeated', async () => {
    server.resetCounters();
    server.script({ kind: 'hook', run: () => server.expireTokens() }, { when: (r) => server.isEmployeeById(r) && r.path.endsWith('/5') });
    const got = await createPersonioConnector(fastDeps().deps).lookupEmployees!(config, ['4', '5', '6'], testContext().ctx);
    expect([...got.values()].every((e) => e !== null)).toBe(true);
    expect(server.countWhere((r) => server.isAuth(r))).toBe(2);
  });

  it('a 500 until the retries run out throws', async () => {
    server.resetCounters();
    server.script({ kind: 'status', status: 500 }, { times: 10, when: (r) => server.isEmployeeById(r) });
    const err = await failure(createPersonioConnector(fastDeps().deps).lookupEmployees!(config, ['4'], testContext().ctx));
    expect(err.code).toBe('connector_request_failed');
    server.clearScript();
  });
});

describe('HiBob lookupEmployees (people search by root.id)', () => {
  const people = generateHibobPeople(30);
  const server = new FakeHibob({ serviceUserId: 'svc-1', token: 'hibob-token-0123456789', people });
  let config: { serviceUserId: string; token: string; baseUrl: string; pageSize: number; maxPages: number };
  beforeAll(async () => {
    config = { serviceUserId: 'svc-1', token: 'hibob-token-0123456789', baseUrl: await server.start(), pageSize: 4, maxPages: 100 };
  });
  afterAll(() => server.stop());

  it('batches of pageSize ids; terminated people reported, unknown ids null', async () => {
    server.resetCounters();
    const ids = [people[0].id, people[9].id, people[2].id, people[3].id, people[4].id, '4242'];
    const got = await createHibobConnector(fastDeps().deps).lookupEmployees!(config, ids, testContext().ctx);
    expect(got.get('4242')).toBeNull();
    expect(got.get(people[0].id)).toMatchObject({ externalId: people[0].id, email: 'person1@acme.example', status: 'active' });
    expect((got.get(people[9].id) as HrEmployee).status).toBe('inactive');
    expect(server.count).toBe(2);
    expect((server.requests[0].body as { showInactive: boolean }).showInactive).toBe(true);
  });

  it('a failing search throws', async () => {
    server.resetCounters();
    server.script({ kind: 'status', status: 502 }, { times: 10 });
    const err = await failure(createHibobConnector(fastDeps().deps).lookupEmployees!(config, [people[1].id], testContext().ctx));
    expect(err.code).toBe('connector_request_failed');
    server.clearScript();
  });
});

describe('file lookupEmployees (a re-read of the export)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hrsync-lookup-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('CSV: found, inactive and absent ids; an unreadable row of an id leaves it unknown', async () => {
    const path = join(dir, 'hr.csv');
    await writeFile(path, [
      'employeeId,email,firstName,lastName,status',
      'e1,a@acme.example,Ann,One,active',
      'e2,b@acme.example,Bob,Two,inactive',
      'e3,c@acme.example,Cy', // short row in the middle: malformed_row
      'e4,d@acme.example,Di,Four,active',
    ].join('\n'));
    const { ctx, rejected } = testContext();
    const got = await fileConnector.lookupEmployees!({ path, pageSize: 2, delimiter: ',' }, ['e1', 'e2', 'e3', 'e9'], ctx);
    expect(got.get('e1')).toMatchObject({ email: 'a@acme.example', status: 'active' });
    expect((got.get('e2') as HrEmployee).status).toBe('inactive');
    expect(got.has('e3')).toBe(false);
    expect(got.get('e9')).toBeNull();
    expect(rejected.map((r) => r.externalId)).toEqual(['e3']);
  });

  it('a file that cannot be read throws', async () => {
    const err = await failure(fileConnector.lookupEmployees!({ path: join(dir, 'gone.csv'), pageSize: 2, delimiter: ',' }, ['e1'], testContext().ctx));
    expect(err.code).toBe('listing_failed');
  });
});
