import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewRollout } from '../../src/http/dashboard/queries.js';
import { listUsers } from '../../src/users/user-service.js';
import { createTestStore, type TestStore } from '../support/store.js';

/**
 * Search is case- and accent-insensitive both ways (issue 14: "muller" found 0, "Müller" 309):
 * in the users list (listUsers, the API's and the dashboard's) and in a rollout's filter.search
 * (the dashboard's "all matching"), which count the same people.
 */
let store: TestStore;

beforeAll(async () => {
  store = await createTestStore();
  await store.query(`insert into organizations (id, name) values ('o', 'O') on conflict do nothing`);
  await store.query(`insert into users (organization_id, email, first_name, last_name) values
    ('o', 'anna@example.com', 'Anna', 'Müller'), ('o', 'ben@example.com', 'Ben', 'Muller'), ('o', 'jose@example.com', 'José', 'Álvarez'),
    ('o', 'zoe@example.com', 'Zoë', 'Smith'), ('o', 'other@example.com', 'Other', 'Person')`);
});
afterAll(async () => {
  await store?.drop();
});

describe('accent-insensitive search', () => {
  it.each([
    ['muller', ['Anna', 'Ben']],
    ['Müller', ['Anna', 'Ben']],
    ['MÜLLER', ['Anna', 'Ben']],
    ['jose alvarez', ['José']],
    ['JOSÉ', ['José']],
    ['zoe', ['Zoë']],
    ['50%', []],
  ])('%s finds %j in the list and in a rollout filter', async (q, names) => {
    const { users } = await listUsers(store.em(), { organizationId: 'o', q, limit: 100 });
    expect(users.map((u) => u.firstName).sort()).toEqual(names);
    const preview = await previewRollout(store.em(), 'o', { filter: { search: q } }, false);
    expect(preview.matched).toBe(names.length);
  });
});
