import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor, encodeSortedCursor, listUsersStatement, type ListUsersQuery } from '../../src/users/user-service.js';
import { createTestStore, type TestStore } from '../support/store.js';

/**
 * The users list stays index-driven (issue 14: the group lookup was planned with a bad row
 * estimate, 1.47 s a page): on 30,000 users in 40 groups (each user in two), every page the
 * dashboard and the API ask for — plain, by group, by location, deep in the list, 1,000 rows —
 * is planned without a sequential scan of users or group_memberships. Checked on
 * EXPLAIN (FORMAT JSON) of the very statement listUsers runs (listUsersStatement).
 */
const N = 30_000;
let store: TestStore;
let client: pg.Client;
let group: string;
let rareGroup: string;
let location: string;

beforeAll(async () => {
  store = await createTestStore();
  const q = store.query.bind(store);
  await q(`insert into organizations (id, name) values ('big', 'Big'), ('small', 'Small') on conflict do nothing`);
  await q(`insert into locations (organization_id, name) select 'big', 'Location ' || i from generate_series(1, 10) i`);
  await q(`insert into groups (organization_id, name) select 'big', 'Group ' || i from generate_series(1, 41) i`);
  await q(`insert into users (organization_id, email, first_name, last_name, location_id)
           select 'big', 'user' || i || '@example.com', 'First' || i, 'Last' || i,
                  (select id from locations where organization_id = 'big' and name = 'Location ' || (i % 10 + 1))
             from generate_series(1, ${N}) i`);
  await q(`insert into users (organization_id, email) select 'small', 's' || i || '@example.com' from generate_series(1, 50) i`);
  await q(`insert into group_memberships (user_id, group_id)
           select u.id, g.id from users u join groups g on g.organization_id = 'big'
              and (g.name = 'Group ' || (u.seq % 40 + 1) or g.name = 'Group ' || ((u.seq + 7) % 40 + 1))
            where u.organization_id = 'big'`);
  // A rare group: 30 members.
  await q(`insert into group_memberships (user_id, group_id) select u.id, g.id from users u, groups g where g.name = 'Group 41' and u.organization_id = 'big' and u.seq % 1000 = 0`);
  await q(`analyze`);
  group = (await q<{ id: string }>(`select id from groups where name = 'Group 3'`))[0]!.id;
  rareGroup = (await q<{ id: string }>(`select id from groups where name = 'Group 41'`))[0]!.id;
  location = (await q<{ id: string }>(`select id from locations where name = 'Location 4'`))[0]!.id;
  client = new pg.Client({ connectionString: store.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await store?.drop();
});

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; Plans?: PlanNode[] }

function scans(node: PlanNode, out: string[] = []): string[] {
  if (node['Relation Name']) out.push(`${node['Node Type']} on ${node['Relation Name']}`);
  for (const p of node.Plans ?? []) scans(p, out);
  return out;
}

/** The statement's plan, as PostgreSQL would run it with these values: every scan, by type and table. */
async function planOf(query: ListUsersQuery): Promise<{ scans: string[]; ms: number; rows: number }> {
  const st = listUsersStatement(query)!;
  let i = 0;
  const text = st.text.replace(/\?/g, () => `$${++i}`);
  const res = await client.query(`explain (analyze, format json) ${text}`, st.params);
  const plan = (res.rows[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode & { 'Actual Rows': number }; 'Execution Time': number }> })['QUERY PLAN'][0]!;
  return { scans: scans(plan.Plan), ms: plan['Execution Time'], rows: plan.Plan['Actual Rows'] };
}

const middle = () => encodeCursor(Math.floor(N / 2));

describe('listUsers plans', () => {
  it.each<[string, () => ListUsersQuery]>([
    ['a plain page', () => ({ organizationId: 'big', limit: 50 })],
    ['a small organization', () => ({ organizationId: 'small', limit: 50 })],
    ['a group, first page', () => ({ organizationId: 'big', groupId: group, limit: 50 })],
    ['a group, from the middle', () => ({ organizationId: 'big', groupId: group, cursor: middle(), limit: 50 })],
    ['a group, 1,000 rows from the middle', () => ({ organizationId: 'big', groupId: group, cursor: middle(), limit: 1000 })],
    ['a rare group', () => ({ organizationId: 'big', groupId: rareGroup, limit: 50 })],
    ['a location and a status', () => ({ organizationId: 'big', locationId: location, status: 'active', limit: 100 })],
    ['1,000 rows, plain', () => ({ organizationId: 'big', cursor: middle(), limit: 1000 })],
    ['sorted by name, first page', () => ({ organizationId: 'big', sort: 'name', limit: 50 })],
    ['sorted by name, from the middle', () => ({ organizationId: 'big', sort: 'name', cursor: encodeSortedCursor('last5 first5', 5), limit: 50 })],
    ['sorted by e-mail, a group', () => ({ organizationId: 'big', sort: 'email', groupId: group, limit: 50 })],
    ['newest first', () => ({ organizationId: 'big', sort: 'newest', cursor: middle(), limit: 50 })],
  ])('%s: no sequential scan of users or group_memberships', async (_name, query) => {
    const p = await planOf(query());
    expect(p.scans.length).toBeGreaterThan(0);
    expect(p.scans.filter((s) => /^Seq Scan on (users|group_memberships)$/.test(s)), p.scans.join(', ')).toEqual([]);
    expect(p.rows).toBeGreaterThan(0);
    console.log(`${_name}: ${p.ms.toFixed(1)} ms; ${p.scans.join(", ")}`);
  });
});
