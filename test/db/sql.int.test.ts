import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, sqlOne } from '../../src/db/sql.js';
import { createTestStore, type TestStore } from '../support/store.js';

/** sql() sends its parameters as bind parameters: the statement PostgreSQL runs carries $1, not the value. */
let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.drop();
});

describe('sql()', () => {
  it('binds its parameters instead of splicing them into the statement', async () => {
    const secret = `o'brien ?; drop table users; --`;
    const row = await sqlOne<{ v: string; q: string }>(store.em(), 'select ?::text as v, current_query() as q', [secret]);
    expect(row!.v).toBe(secret);
    expect(row!.q).toContain('$1');
    expect(row!.q).not.toContain('brien');
  });

  it('binds dates, booleans, nulls and arrays as values', async () => {
    const at = new Date('2026-12-05T10:11:12.345Z');
    const row = await sqlOne<{ t: string; b: boolean; n: null; a: string[] }>(store.em(), 'select ?::timestamptz as t, ?::boolean as b, ?::text as n, ?::text[] as a', [at, false, null, ['a', "b'c"]]);
    // the ORM's driver reads timestamps as text
    expect({ ...row, t: new Date(row!.t).toISOString() }).toStrictEqual({ t: at.toISOString(), b: false, n: null, a: ['a', "b'c"] });
  });

  it("leaves a statement without parameters as it is, jsonb's ? operators included", async () => {
    const row = await sqlOne<{ has: boolean; any: boolean }>(store.em(), `select '{"a":1}'::jsonb ? 'a' as has, '{"a":1}'::jsonb ?| array['b','a'] as any`);
    expect(row).toStrictEqual({ has: true, any: true });
  });

  it('takes a backslash-escaped ? as the jsonb operator in a statement with parameters', async () => {
    const row = await sqlOne<{ has: boolean }>(store.em(), `select ?::jsonb \\? 'a' as has`, [JSON.stringify({ a: 1 })]);
    expect(row!.has).toBe(true);
  });

  it("converts the driver's errors to MikroORM's typed exceptions", async () => {
    await sql(store.em(), 'create table sql_t (id int primary key)');
    await sql(store.em(), 'insert into sql_t values (?)', [1]);
    await expect(sql(store.em(), 'insert into sql_t values (?)', [1])).rejects.toBeInstanceOf(UniqueConstraintViolationException);
  });

  it("runs inside the entity manager's transaction", async () => {
    const em = store.em();
    await expect(
      em.transactional(async (t) => {
        await sql(t as typeof em, 'insert into sql_t values (?)', [2]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await sql(store.em(), 'select id from sql_t where id = ?', [2])).toEqual([]);
  });
});
