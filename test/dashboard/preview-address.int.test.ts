import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlOne } from '../../src/db/sql.js';
import { isValidEmail } from '../../src/domain/email-address.js';
import { plainAddressSql } from '../../src/http/dashboard/queries/rollout-queries.js';
import { createTestStore, type TestStore } from '../support/store.js';

/**
 * The invite preview counts users with a "plain" address per combination, trusting the one
 * address validator to accept every plain one; the rest are judged one by one. So: whatever the
 * SQL calls plain, the validator accepts (never the other way round is needed), and the
 * addresses people have are plain (the one-by-one path stays small).
 */
let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.drop();
});

const isPlain = async (address: string) => {
  const p = plainAddressSql('a.e');
  const row = await sqlOne<{ plain: boolean }>(store.em(), `select ${p.sql} as plain from (select ?::text as e) a`, [...p.params, address]);
  return row!.plain;
};

describe('the preview’s plain addresses', () => {
  const common = ['anna@example.com', 'first.last@sub.example.co.uk', 'user+tag@example.org', "o'brien@example.ie", 'x_y-z@my-company.example', 'a1@xn--bcher-kva.example', 'A.B@EXAMPLE.COM'];
  const odd = [
    'a@b', 'a@b.1', 'a..b@example.com', '.a@example.com', 'a.@example.com', 'a@-x.example', 'a@x-.example', 'a@x..example', 'ünïcode@example.de',
    'a b@example.com', '"quoted"@example.com', `${'l'.repeat(65)}@example.com`, `a@${'d'.repeat(64)}.example`, 'no-at-sign', '@example.com', 'a@', 'a@b@c.example',
  ];
  it.each(common)('%s is plain, and valid', async (a) => {
    expect(await isPlain(a)).toBe(true);
    expect(isValidEmail(a)).toBe(true);
  });
  it.each(odd)('%s: plain only if the validator accepts it', async (a) => {
    if (await isPlain(a)) expect(isValidEmail(a)).toBe(true);
  });
  it('calls none of the odd ones plain (they go one by one)', async () => {
    const flags = await Promise.all(odd.map(isPlain));
    expect(odd.filter((_, i) => flags[i])).toEqual([]);
  });
});
