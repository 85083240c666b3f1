import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileConnector } from '../connectors/file/index.js';
import type { HrConnector, HrEmployee } from '../connectors/types.js';
import type { AppConfig } from '../src/config/load.js';
import { silentLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { createUser, findUserByEmail, updateUser } from '../src/users/user-service.js';
import { configFor, createTestStore, employee, employees, tempDir, toCsv, writeCsv, type Row, type TestStore } from './support/store.js';

let store: TestStore;
let dir: string;
let n = 0;

beforeAll(async () => {
  store = await createTestStore();
  dir = tempDir();
});
afterAll(async () => {
  await store?.drop();
});

interface Fixture {
  org: string;
  connector: string;
  path: string;
  config: AppConfig;
  engine: SyncEngine;
  write(rows: Array<Partial<Row>>): void;
  users(): Promise<Array<Record<string, any>>>;
}

/** A fresh organization with one file connector, so tests never see each other's users. */
function fixture(opts: { deactivation?: Record<string, number>; mapping?: Record<string, unknown>; extraOrgs?: unknown[]; resolveConnector?: (t: string) => HrConnector<any>; pageSize?: number } = {}): Fixture {
  n++;
  const org = `org${n}`;
  const connector = `hr${n}`;
  const path = join(dir, `export-${n}.csv`);
  writeFileSync(path, toCsv([]));
  const config = configFor(store.url, {
    ...(opts.pageSize ? { sync: { batchSize: opts.pageSize } } : {}),
    organizations: [
      { id: org, name: `Org ${n}`, connectors: [{ id: connector, type: 'file', options: { path, ...(opts.pageSize ? { pageSize: opts.pageSize } : {}) }, deactivation: opts.deactivation, mapping: opts.mapping }] },
      ...(opts.extraOrgs ?? []),
    ],
  });
  const engine = new SyncEngine({ orm: store.orm, config, log: silentLogger, resolveConnector: opts.resolveConnector });
  return {
    org, connector, path, config, engine,
    write: (rows) => writeFileSync(path, toCsv(rows)),
    users: () => store.query(
      `select u.*, l.name as location, (select array_agg(g.name order by g.name) from group_memberships gm join groups g on g.id = gm.group_id where gm.user_id = u.id) as groups
         from users u left join locations l on l.id = u.location_id where u.organization_id = $1 order by u.seq`, [org]),
  };
}

async function invitationRows(): Promise<number> {
  const tables = await store.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_name like '%invitation%'`);
  let total = 0;
  for (const t of tables) total += Number((await store.query<{ n: string }>(`select count(*) as n from "${t.table_name}"`))[0].n);
  return total;
}

describe('sync engine', () => {
  it('never invites a user created by sync: N employees → N users with access none', async () => {
    const f = fixture();
    f.write(employees(120));
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ seen: 120, created: 120, updated: 0, deactivated: 0, rejected: 0 });
    const users = await f.users();
    expect(users).toHaveLength(120);
    expect(users.every((u) => u.access === 'none' && u.status === 'active' && u.source === 'sync')).toBe(true);
    expect(await invitationRows()).toBe(0);
  });

  it('structures people before anyone logs in: locations, groups and managers from HR data', async () => {
    const f = fixture();
    f.write([employee(1, { managerId: '' }), employee(2), employee(3), employee(4, { managerId: 'E3' })]);
    await f.engine.run({ connectorId: f.connector });
    const users = await f.users();
    const byExt = new Map(users.map((u) => [u.external_id, u]));
    expect(byExt.get('E2')!.manager_id).toBe(byExt.get('E1')!.id);
    expect(byExt.get('E4')!.manager_id).toBe(byExt.get('E3')!.id);
    expect(byExt.get('E1')!.manager_id).toBeNull();
    expect(byExt.get('E3')!.location).toBe('Berlin');
    expect(byExt.get('E2')!.groups).toEqual(['Engineering']);
    const locations = await store.query(`select name from locations where organization_id = $1 order by name`, [f.org]);
    expect(locations.map((l) => l.name)).toEqual(['Berlin', 'Munich']);
  });

  it('links a user created by hand with the same e-mail instead of creating a duplicate', async () => {
    const f = fixture();
    await f.engine.run({ connectorId: f.connector }); // registers the organization
    const manual = await createUser(store.em(), f.org, { email: 'Ana@Acme.example', firstName: 'Ana', roles: ['admin'] });
    f.write([employee(1, { email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ruiz' }), employee(2)]);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ created: 1, updated: 1 });
    const users = await f.users();
    expect(users).toHaveLength(2);
    const ana = users.find((u) => u.id === manual.id)!;
    expect(ana).toMatchObject({ external_id: 'E1', connector_id: f.connector, email: 'ana@acme.example', last_name: 'Ruiz', access: 'none', source: 'manual' });
    expect(ana.roles).toEqual(['admin']);
  });

  it('writes nothing on an unchanged re-sync and counts everything unchanged', async () => {
    const f = fixture();
    f.write(employees(300));
    await f.engine.run({ connectorId: f.connector });
    const before = await store.query(`select id, xmin::text as x, updated_at from users where organization_id = $1 order by id`, [f.org]);
    const memBefore = await store.query(`select gm.user_id, gm.xmin::text as x from group_memberships gm join users u on u.id = gm.user_id where u.organization_id = $1 order by gm.user_id`, [f.org]);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ seen: 300, unchanged: 300, created: 0, updated: 0, deactivated: 0 });
    const after = await store.query(`select id, xmin::text as x, updated_at from users where organization_id = $1 order by id`, [f.org]);
    const memAfter = await store.query(`select gm.user_id, gm.xmin::text as x from group_memberships gm join users u on u.id = gm.user_id where u.organization_id = $1 order by gm.user_id`, [f.org]);
    expect(after).toEqual(before); // same row versions: not one row was rewritten
    expect(memAfter).toEqual(memBefore);
  });

  it('updates only what changed, and an e-mail or name change is an update of the same user', async () => {
    const f = fixture();
    const rows = employees(20);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    const before = await f.users();
    rows[4] = { ...rows[4], email: 'renamed@acme.example', lastName: 'Married' };
    rows[9] = { ...rows[9], department: 'People', location: 'Lisbon' };
    f.write(rows);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ updated: 2, unchanged: 18, created: 0, deactivated: 0 });
    const after = await f.users();
    expect(after).toHaveLength(20);
    const e5 = after.find((u) => u.external_id === 'E5')!;
    expect(e5.id).toBe(before.find((u) => u.external_id === 'E5')!.id);
    expect(e5).toMatchObject({ email: 'renamed@acme.example', last_name: 'Married', status: 'active' });
    const e10 = after.find((u) => u.external_id === 'E10')!;
    expect(e10.location).toBe('Lisbon');
    expect(e10.groups).toEqual(['People']);
  });

  it('handles e-mail addresses swapped between employees, and a new hire taking a freed address, in one run', async () => {
    const f = fixture();
    const rows = employees(4);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    const before = await f.users();
    f.write([
      employee(5, { email: 'person1@acme.example' }), // new hire takes E1's old address
      { ...rows[0], email: 'person1.new@acme.example' },
      { ...rows[1], email: 'person3@acme.example' }, // E2 and E3 swap
      { ...rows[2], email: 'person2@acme.example' },
      rows[3],
    ]);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ created: 1, updated: 3, unchanged: 1, rejected: 0, deactivated: 0 });
    const after = new Map((await f.users()).map((u) => [u.external_id, u]));
    expect(after.get('E2')).toMatchObject({ id: before[1].id, email: 'person3@acme.example' });
    expect(after.get('E3')).toMatchObject({ id: before[2].id, email: 'person2@acme.example' });
    expect(after.get('E5')!.email).toBe('person1@acme.example');
    const again = await f.engine.run({ connectorId: f.connector });
    expect(again.counts).toMatchObject({ unchanged: 5, created: 0, updated: 0 });
  });

  it('gives a new hire an address its old holder gives up on a later page, in the same run', async () => {
    const f = fixture({ pageSize: 2 });
    const rows = employees(4);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    f.write([
      employee(5, { email: 'person4@acme.example' }), // page 1: E4 still holds it in the store
      rows[0],
      { ...rows[1], email: 'person1@acme.example' }, // page 2: E2 wants E1's address, which E1 keeps
      rows[2],
      { ...rows[3], email: 'person4.new@acme.example' }, // page 3: E4 gives it up
    ]);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ seen: 5, created: 1, updated: 1, unchanged: 2, rejected: 1, deactivated: 0 });
    expect(run.rejected).toEqual([expect.objectContaining({ externalId: 'E2', reason: 'duplicate_email' })]);
    const after = new Map((await f.users()).map((u) => [u.external_id, u]));
    expect(after.get('E5')!.email).toBe('person4@acme.example');
    expect(after.get('E4')!.email).toBe('person4.new@acme.example');
    expect(after.get('E2')).toMatchObject({ email: 'person2@acme.example', status: 'active' });
    // Idempotent: the same listing again changes nothing but E2 (still rejected, still active).
    const again = await f.engine.run({ connectorId: f.connector });
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 4, rejected: 1, deactivated: 0 });
  });

  it('deactivates a terminated employee and reactivates the rehire without inviting, leaving access as it was', async () => {
    const f = fixture({ deactivation: { maxPercent: 50 } });
    const rows = employees(10);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    // E3 had been invited and accepted before leaving.
    await store.query(`update users set access = 'active' where organization_id = $1 and external_id = 'E3'`, [f.org]);
    rows[2] = { ...rows[2], status: 'inactive', endDate: '2026-10-31' };
    f.write(rows);
    const leave = await f.engine.run({ connectorId: f.connector });
    expect(leave.counts).toMatchObject({ deactivated: 1 });
    let e3 = (await f.users()).find((u) => u.external_id === 'E3')!;
    expect(e3).toMatchObject({ status: 'deactivated', deactivated_by: 'sync', access: 'active', end_date: expect.anything() });

    rows[2] = { ...rows[2], status: 'active', endDate: '' };
    f.write(rows);
    const rehire = await f.engine.run({ connectorId: f.connector });
    expect(rehire.counts).toMatchObject({ reactivated: 1, deactivated: 0 });
    e3 = (await f.users()).find((u) => u.external_id === 'E3')!;
    expect(e3).toMatchObject({ status: 'active', deactivated_by: null, access: 'active' });
    expect(await invitationRows()).toBe(0);
  });

  it('deactivates an employee gone from a complete listing', async () => {
    const f = fixture({ deactivation: { maxPercent: 50 } });
    const rows = employees(10);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    f.write(rows.filter((r) => r.employeeId !== 'E7'));
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ deactivated: 1, unchanged: 9 });
    expect((await f.users()).find((u) => u.external_id === 'E7')).toMatchObject({ status: 'deactivated', deactivated_by: 'sync' });
  });

  it('never reactivates a user an administrator deactivated', async () => {
    const f = fixture();
    f.write(employees(5));
    await f.engine.run({ connectorId: f.connector });
    const e2 = (await f.users()).find((u) => u.external_id === 'E2')!;
    await updateUser(store.em(), e2.id, { status: 'deactivated' });
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts.reactivated).toBe(0);
    expect((await f.users()).find((u) => u.external_id === 'E2')).toMatchObject({ status: 'deactivated', deactivated_by: 'admin' });
  });

  it('holds deactivations above the threshold: an export of 10% → needs_approval, nobody deactivated; approve → deactivated', async () => {
    const f = fixture();
    const rows = employees(200);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    f.write(rows.slice(0, 20));
    const held = await f.engine.run({ connectorId: f.connector });
    expect(held.status).toBe('needs_approval');
    expect(held.counts).toMatchObject({ deactivated: 0, heldDeactivations: 180, unchanged: 20 });
    expect(held.heldReason).toMatch(/maxPercent 10/);
    let users = await f.users();
    expect(users.filter((u) => u.status === 'active')).toHaveLength(200);

    // A held run blocks its own connector, not others.
    await expect(f.engine.run({ connectorId: f.connector })).rejects.toMatchObject({ code: 'connector_held' });
    const other = fixture();
    other.write(employees(3));
    expect((await other.engine.run({ connectorId: other.connector })).status).toBe('succeeded');

    const approved = await f.engine.approve(held.id);
    expect(approved.status).toBe('approved');
    expect(approved.counts).toMatchObject({ deactivated: 180, heldDeactivations: 0 });
    users = await f.users();
    expect(users.filter((u) => u.status === 'deactivated')).toHaveLength(180);
    await expect(f.engine.approve(held.id)).rejects.toMatchObject({ code: 'run_not_approvable' });
    expect((await f.engine.run({ connectorId: f.connector })).status).toBe('succeeded');
  });

  // Found by the HR API chaos (bench/chaos/hr-api.ts, "garbage-records"): records that came
  // without their employee id (a vendor page of another shape, a damaged export) left their users
  // unseen, and a full listing deactivated them as gone — 5 % of a company, under the threshold.
  it('holds deactivations for absence while a record of the listing has no employee id', async () => {
    const f = fixture({ deactivation: { maxPercent: 100 } });
    const rows = employees(100);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    // E41..E45 lost their id in this export; E100 really left.
    f.write(rows.slice(0, 99).map((r, i) => (i >= 40 && i < 45 ? { ...r, employeeId: '' } : r)));
    const held = await f.engine.run({ connectorId: f.connector });
    expect(held.status).toBe('needs_approval');
    expect(held.heldReason).toBe('6 users are absent from the listing, but 5 records had no readable employee id: their absence is not proven');
    expect(held.counts).toMatchObject({ deactivated: 0, heldDeactivations: 6, rejected: 5 });
    expect((await f.users()).every((u) => u.status === 'active')).toBe(true);

    // Rejected by the admin; the export repaired: E100 alone is deactivated.
    await f.engine.reject(held.id);
    f.write(rows.slice(0, 99));
    const next = await f.engine.run({ connectorId: f.connector });
    expect(next.status).toBe('succeeded');
    expect(next.counts.deactivated).toBe(1);
    expect((await f.users()).filter((u) => u.status === 'deactivated').map((u) => u.external_id)).toStrictEqual(['E100']);
  });

  it('honours an absolute maxCount, and a rejected held run deactivates nobody', async () => {
    const f = fixture({ deactivation: { maxCount: 2 } });
    const rows = employees(100);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    f.write(rows.slice(3));
    const held = await f.engine.run({ connectorId: f.connector });
    expect(held.status).toBe('needs_approval');
    expect(held.counts.heldDeactivations).toBe(3);
    const rejected = await f.engine.reject(held.id);
    expect(rejected.status).toBe('rejected');
    expect((await f.users()).every((u) => u.status === 'active')).toBe(true);
  });

  it('fails a run whose file is truncated mid-row, deactivating nobody and recording the error', async () => {
    const f = fixture({ deactivation: { maxPercent: 100 } });
    const rows = employees(50);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    rows[1] = { ...rows[1], status: 'inactive' };
    const full = toCsv(rows.slice(0, 30));
    writeFileSync(f.path, full.slice(0, full.length - 25)); // cut inside the last row
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/truncated/);
    expect(run.counts.deactivated).toBe(0);
    expect((await f.users()).every((u) => u.status === 'active')).toBe(true);
  });

  it('fails a run whose connector throws on page 3, deactivating nobody (not even the terminated)', async () => {
    const pages: HrEmployee[][] = [];
    const flaky: HrConnector<any> = {
      ...fileConnector,
      async *listEmployees(config, ctx) {
        let i = 0;
        for await (const page of fileConnector.listEmployees(config, ctx)) {
          if (++i === 3) throw new Error('HR API went away on page 3');
          pages.push(page);
          yield page;
        }
      },
    };
    const f = fixture({ deactivation: { maxPercent: 100 }, resolveConnector: () => flaky });
    const good = fixture({ deactivation: { maxPercent: 100 } });
    const rows = employees(10_000);
    good.write(rows);
    f.write(rows);
    // Seed through the plain connector, then make the listing shrink and fail part way.
    const seed = new SyncEngine({ orm: store.orm, config: f.config, log: silentLogger });
    await seed.run({ connectorId: f.connector });
    rows[0] = { ...rows[0], status: 'inactive' };
    f.write(rows.slice(0, 7_000));
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/page 3/);
    expect(run.counts.deactivated).toBe(0);
    expect((await f.users()).filter((u) => u.status !== 'active')).toHaveLength(0);
    expect((await store.query(`select count(*)::int as n from sync_run_deactivations where run_id = $1`, [run.id]))[0].n).toBe(0);
  });

  it('changes nothing in the store on a dry run, and reports the plan with examples', async () => {
    const f = fixture({ deactivation: { maxPercent: 50 } });
    const rows = employees(40);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    const snapshot = async () => ({
      users: await store.query(`select id, xmin::text as x from users where organization_id = $1 order by id`, [f.org]),
      locations: await store.query(`select id from locations where organization_id = $1 order by id`, [f.org]),
      groups: await store.query(`select id from groups where organization_id = $1 order by id`, [f.org]),
      memberships: await store.query(`select gm.user_id, gm.group_id, gm.xmin::text as x from group_memberships gm join users u on u.id = gm.user_id where u.organization_id = $1 order by 1, 2`, [f.org]),
    });
    const before = await snapshot();
    const changed = [...rows.slice(0, 35), employee(100, { department: 'Brand New Dept', location: 'Porto' })];
    changed[0] = { ...changed[0], jobTitle: 'Principal' };
    changed[1] = { ...changed[1], status: 'inactive' };
    f.write(changed);
    const run = await f.engine.run({ connectorId: f.connector, dryRun: true });
    expect(run.dryRun).toBe(true);
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ created: 1, updated: 1, deactivated: 6 });
    expect(run.examples).toMatchObject({ created: ['E100'], updated: ['E1'] });
    expect(await snapshot()).toEqual(before);
  });

  it('rejects each bad record with its reason, syncs the valid ones, and stores names verbatim', async () => {
    const f = fixture();
    const rows: Array<Partial<Row>> = [
      employee(1, { managerId: '' }),
      employee(2, { firstName: `<script>alert("x")</script>`, lastName: `O'Brien "Bob", Jr.` }),
      employee(3, { managerId: 'NOPE-404' }), // unknown manager: synced, link left empty
      employee(4, { email: '' }),
      employee(5, { email: 'not an address' }),
      employee(6, { email: 'person2@acme.example' }), // duplicate of E2
      employee(7, { employeeId: '' }),
      employee(8, { jobTitle: 'x'.repeat(5_000) }),
      employee(9, { status: 'on vacation' }),
      employee(10, { startDate: '2024-13-45' }),
      employee(2, { email: 'other@acme.example' }), // duplicate employee id
      employee(11, { email: 'PERSON1@acme.example' }), // duplicate, case-insensitively
      employee(12, { lastName: 'Nu\u0000ll' }), // PostgreSQL text cannot hold NUL
      employee(13, { status: 'act\u0000ive' }), // echoed in the rejection's detail
    ];
    f.write(rows);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ seen: 14, created: 3, rejected: 11 });
    const reasons = Object.fromEntries(run.rejected.map((r) => [r.externalId ?? '(none)', r.reason]));
    expect(reasons).toEqual({
      E4: 'no_email', E5: 'invalid_email', E6: 'duplicate_email', '(none)': 'missing_employee_id', E8: 'field_too_long',
      E9: 'invalid_status', E10: 'invalid_date', E2: 'duplicate_employee_id', E11: 'duplicate_email',
      E12: 'invalid_characters', E13: 'invalid_status',
    });
    const stored = await store.query<{ external_id: string; detail: string }>(`select external_id, detail from sync_run_rejections where run_id = $1 and external_id = 'E13'`, [run.id]);
    expect(stored[0].detail).toContain('act\ufffdive');
    const users = await f.users();
    const e2 = users.find((u) => u.external_id === 'E2')!;
    expect(e2.first_name).toBe('<script>alert("x")</script>');
    expect(e2.last_name).toBe(`O'Brien "Bob", Jr.`);
    expect(users.find((u) => u.external_id === 'E3')!.manager_id).toBeNull();
  });

  it('never deactivates a user whose record was rejected', async () => {
    const f = fixture({ deactivation: { maxPercent: 100 } });
    const rows = employees(10);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    rows[3] = { ...rows[3], email: 'broken' };
    f.write(rows);
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.counts).toMatchObject({ rejected: 1, deactivated: 0 });
    expect((await f.users()).every((u) => u.status === 'active')).toBe(true);
  });

  it('fills a manager link in a later run once the manager arrives', async () => {
    const f = fixture();
    f.write([employee(2, { managerId: 'E1' })]);
    await f.engine.run({ connectorId: f.connector });
    expect((await f.users())[0].manager_id).toBeNull();
    f.write([employee(1, { managerId: '' }), employee(2, { managerId: 'E1' })]);
    await f.engine.run({ connectorId: f.connector });
    const users = await f.users();
    expect(users.find((u) => u.external_id === 'E2')!.manager_id).toBe(users.find((u) => u.external_id === 'E1')!.id);
  });

  it('keeps "on create only" fields an administrator changed', async () => {
    const f = fixture({ mapping: { location: { from: 'location', mode: 'on_create' }, jobTitle: { from: 'jobTitle', mode: 'on_create' } } });
    const rows = employees(3);
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    const e1 = (await f.users()).find((u) => u.external_id === 'E1')!;
    await updateUser(store.em(), e1.id, { location: 'Hamburg', jobTitle: 'Team Lead', roles: ['asset_manager'] });
    rows[0] = { ...rows[0], location: 'Vienna', jobTitle: 'Staff Engineer', lastName: 'Changed' };
    f.write(rows);
    await f.engine.run({ connectorId: f.connector });
    const after = (await f.users()).find((u) => u.external_id === 'E1')!;
    expect(after).toMatchObject({ location: 'Hamburg', job_title: 'Team Lead', last_name: 'Changed' });
    expect(after.roles).toEqual(['asset_manager']);
  });

  it('gives two organizations with the same e-mail address a user each', async () => {
    n++;
    const pathA = writeCsv(dir, `a-${n}.csv`, [employee(1, { email: 'same@shared.example' })]);
    const pathB = writeCsv(dir, `b-${n}.csv`, [employee(1, { email: 'same@shared.example' })]);
    const config = configFor(store.url, {
      organizations: [
        { id: `alpha${n}`, name: 'Alpha', connectors: [{ id: `alpha${n}-hr`, type: 'file', options: { path: pathA } }] },
        { id: `beta${n}`, name: 'Beta', connectors: [{ id: `beta${n}-hr`, type: 'file', options: { path: pathB } }] },
      ],
    });
    const engine = new SyncEngine({ orm: store.orm, config, log: silentLogger });
    expect((await engine.run({ connectorId: `alpha${n}-hr` })).counts.created).toBe(1);
    expect((await engine.run({ connectorId: `beta${n}-hr` })).counts.created).toBe(1);
    const a = await findUserByEmail(store.em(), `alpha${n}`, 'same@shared.example');
    const b = await findUserByEmail(store.em(), `beta${n}`, 'SAME@shared.example');
    expect(a && b && a.id !== b.id).toBe(true);
  });

  it('runs one sync per connector at a time: of two concurrent runs exactly one runs', async () => {
    const f = fixture();
    f.write(employees(5_000));
    const results = await Promise.allSettled([f.engine.run({ connectorId: f.connector }), f.engine.run({ connectorId: f.connector })]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toMatchObject({ code: 'connector_busy' });
    expect(refused[0].reason.message).toMatch(/already running/);
    const runs = await store.query(`select status from sync_runs where connector_id = $1`, [f.connector]);
    expect(runs).toEqual([{ status: 'succeeded' }]);
    expect(await f.users()).toHaveLength(5_000);
  });
});
