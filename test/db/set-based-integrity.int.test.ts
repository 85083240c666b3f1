import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePerFile } from '../support/store.js';

/**
 * The references of users and group memberships are checked once per statement by triggers
 * (Migration20261205200000_set_based_integrity), not row by row by foreign keys. These tests hold
 * them to what the foreign keys guaranteed: same SQLSTATE and constraint names, the same delete
 * actions, and no dangling reference when a child and its parent change at the same time.
 */
const ctx = storePerFile();
let a: pg.Client;
let b: pg.Client;
let location: string;
let group: string;

const fails = async (p: Promise<unknown>, constraint: string) => {
  const err = await p.then(() => null, (e: { code?: string; constraint?: string }) => e);
  expect(err, `expected ${constraint} to refuse`).not.toBeNull();
  expect([err!.code, err!.constraint]).toEqual(['23503', constraint]);
};

const user = async (over: Record<string, unknown> = {}) => {
  const v = { id: null, organization_id: 'o1', connector_id: null, external_id: null, location_id: location, manager_id: null, email: null, ...over };
  const { rows } = await a.query<{ id: string }>(
    `insert into users (id, organization_id, connector_id, external_id, location_id, manager_id, email, source)
     values (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, case when $3::text is null then 'manual' else 'sync' end) returning id`,
    [v.id, v.organization_id, v.connector_id, v.external_id, v.location_id, v.manager_id, v.email],
  );
  return rows[0].id;
};

beforeAll(async () => {
  a = new pg.Client({ connectionString: ctx.store.url });
  b = new pg.Client({ connectionString: ctx.store.url });
  await a.connect();
  await b.connect();
  await a.query(`insert into organizations (id, name) values ('o1', 'One'), ('o2', 'Two')`);
  await a.query(`insert into connectors (id, organization_id, type) values ('c1', 'o1', 'file')`);
  location = (await a.query<{ id: string }>(`insert into locations (organization_id, name) values ('o1', 'Berlin') returning id`)).rows[0].id;
  group = (await a.query<{ id: string }>(`insert into groups (organization_id, name) values ('o1', 'Engineering') returning id`)).rows[0].id;
});

afterAll(async () => {
  await a?.end();
  await b?.end();
});

describe('references checked per statement', () => {
  it('refuses a user, in a single row or a set, that refers to a missing organization, connector, location or manager', async () => {
    await fails(user({ organization_id: 'nope' }), 'users_organization_id_fkey');
    await fails(user({ connector_id: 'nope', external_id: 'E1' }), 'users_connector_id_fkey');
    await fails(user({ location_id: '00000000-0000-0000-0000-000000000001' }), 'users_location_id_fkey');
    await fails(user({ manager_id: '00000000-0000-0000-0000-000000000002' }), 'users_manager_id_fkey');
    // 1,000 good rows and one bad one: the whole statement is refused, nothing is written
    await fails(a.query(
      `insert into users (organization_id, location_id) select 'o1', case when g = 777 then gen_random_uuid() else $1::uuid end from generate_series(1, 1000) g`, [location]),
      'users_location_id_fkey');
    expect((await a.query(`select count(*)::int as n from users`)).rows[0].n).toBe(0);
  });

  it('accepts a manager created by the same statement, and a set of users with a few distinct parents', async () => {
    const m = '018f0000-0000-7000-8000-000000000001';
    await a.query(
      `insert into users (id, organization_id, connector_id, external_id, location_id, manager_id, source)
       values ($1, 'o1', 'c1', 'M1', $2, null, 'sync'), (gen_random_uuid(), 'o1', 'c1', 'R1', $2, $1, 'sync')`, [m, location]);
    const { rows } = await a.query(`select external_id, manager_id from users where connector_id = 'c1' order by external_id`);
    expect(rows).toEqual([{ external_id: 'M1', manager_id: null }, { external_id: 'R1', manager_id: m }]);
  });

  it('checks a reference that an update changes, and only that one', async () => {
    const id = await user();
    await fails(a.query(`update users set location_id = gen_random_uuid() where id = $1`, [id]), 'users_location_id_fkey');
    await fails(a.query(`update users set manager_id = gen_random_uuid() where id = $1`, [id]), 'users_manager_id_fkey');
    await fails(a.query(`update users set organization_id = 'nope' where id = $1`, [id]), 'users_organization_id_fkey');
    await a.query(`update users set organization_id = 'o2', first_name = 'Moved' where id = $1`, [id]);
    expect((await a.query(`select organization_id from users where id = $1`, [id])).rows[0].organization_id).toBe('o2');
  });

  it('refuses a membership of a missing user or group', async () => {
    const id = await user();
    await fails(a.query(`insert into group_memberships (user_id, group_id) values (gen_random_uuid(), $1)`, [group]), 'group_memberships_user_id_fkey');
    await fails(a.query(`insert into group_memberships (user_id, group_id) values ($1, gen_random_uuid())`, [id]), 'group_memberships_group_id_fkey');
    await a.query(`insert into group_memberships (user_id, group_id) values ($1, $2)`, [id, group]);
  });
});

describe('what deleting a parent does', () => {
  it('refuses to delete an organization, connector or location a user refers to, and deletes one nobody refers to', async () => {
    await fails(a.query(`delete from locations where id = $1`, [location]), 'users_location_id_fkey');
    await fails(a.query(`delete from connectors where id = 'c1'`), 'users_connector_id_fkey');
    // o2 has nothing but a user (moved there above): only that user holds it
    await fails(a.query(`delete from organizations where id = 'o2'`), 'users_organization_id_fkey');
    const spare = (await a.query<{ id: string }>(`insert into locations (organization_id, name) values ('o1', 'Spare') returning id`)).rows[0].id;
    await a.query(`delete from locations where id = $1`, [spare]);
  });

  it('deleting users deletes their memberships and empties their reports\' manager link', async () => {
    const m = await user();
    const r = await user({ manager_id: m });
    await a.query(`insert into group_memberships (user_id, group_id) values ($1, $2), ($3, $2)`, [m, group, r]);
    await a.query(`delete from users where id = $1`, [m]);
    expect((await a.query(`select manager_id from users where id = $1`, [r])).rows[0].manager_id).toBeNull();
    expect((await a.query(`select user_id from group_memberships where user_id in ($1, $2)`, [m, r])).rows).toEqual([{ user_id: r }]);
  });

  it('deleting a group deletes its memberships', async () => {
    const g = (await a.query<{ id: string }>(`insert into groups (organization_id, name) values ('o1', 'Short-lived') returning id`)).rows[0].id;
    const u = await user();
    await a.query(`insert into group_memberships (user_id, group_id) values ($1, $2)`, [u, g]);
    await a.query(`delete from groups where id = $1`, [g]);
    expect((await a.query(`select count(*)::int as n from group_memberships where group_id = $1`, [g])).rows[0].n).toBe(0);
  });

  it('never changes an id a reference could point at', async () => {
    const u = await user();
    await expect(a.query(`update users set id = gen_random_uuid() where id = $1`, [u])).rejects.toMatchObject({ code: '23503' });
    await expect(a.query(`update locations set id = gen_random_uuid() where id = $1`, [location])).rejects.toMatchObject({ code: '23503' });
    await expect(a.query(`update groups set id = gen_random_uuid() where id = $1`, [group])).rejects.toMatchObject({ code: '23503' });
  });
});

describe('a child and its parent changing at the same time', () => {
  const fresh = async () => (await a.query<{ id: string }>(`insert into locations (organization_id, name) values ('o1', 'Race ' || gen_random_uuid()) returning id`)).rows[0].id;
  const waiting = async (client: pg.Client) => {
    // until the other session waits for this one's lock
    for (let i = 0; i < 200; i++) {
      const { rows } = await client.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
      if (rows[0].n > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the other session never waited');
  };

  it('a user inserted first: the location\'s delete waits for it, then is refused', async () => {
    const loc = await fresh();
    await a.query('begin');
    await user({ location_id: loc });
    const del = b.query(`delete from locations where id = $1`, [loc]).then(() => null, (e: { code?: string }) => e.code);
    await waiting(a);
    await a.query('commit');
    expect(await del).toBe('23503');
    expect((await a.query(`select count(*)::int as n from users u where u.location_id = $1 and exists (select 1 from locations l where l.id = u.location_id)`, [loc])).rows[0].n).toBe(1);
  });

  it('a location deleted first: the user\'s insert waits for it, then is refused', async () => {
    const loc = await fresh();
    await b.query('begin');
    await b.query(`delete from locations where id = $1`, [loc]);
    const ins = user({ location_id: loc }).then(() => null, (e: { code?: string }) => e.code);
    await waiting(b);
    await b.query('commit');
    expect(await ins).toBe('23503');
    expect((await a.query(`select count(*)::int as n from users where location_id = $1`, [loc])).rows[0].n).toBe(0);
  });
});
