import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listUsers, type UserRecord } from '../../src/users/user-service.js';
import { createTestStore, type TestStore } from '../support/store.js';

/**
 * Keyset paging of users (GET /api/users, the dashboard, `hrsync users list`) in a store shared
 * by organizations of very different sizes, whose users interleave.
 */
let store: TestStore;

beforeAll(async () => {
  store = await createTestStore();
  await store.query(`insert into organizations (id, name) values ('big', 'Big'), ('small', 'Small'), ('mid', 'Mid')`);
  // big: 20,000 users; small: 30, added last; mid: 3,000 interleaved with big's.
  await store.query(
    `insert into users (organization_id, source, email, status, access)
     select case when i % 7 = 0 and i <= 21000 then 'mid' else 'big' end, 'manual', 'u' || i || '@example.com', 'active', 'none'
       from generate_series(1, 23000) i order by i`,
  );
  await store.query(`insert into users (organization_id, source, email, status, access) select 'small', 'manual', 's' || i || '@small.example', 'active', 'none' from generate_series(1, 30) i`);
  await store.query(`analyze users`);
});
afterAll(async () => {
  await store?.drop();
});

async function allPages(organizationId: string, limit: number): Promise<UserRecord[]> {
  const out: UserRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await listUsers(store.orm.em.fork() as never, { organizationId, limit, cursor });
    out.push(...page.users);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

describe('paging through one organization’s users', () => {
  it('returns every user of the organization once, in creation order, and nobody else’s', async () => {
    for (const [org, n] of [['small', 30], ['mid', 3_000]] as const) {
      const users = await allPages(org, org === 'small' ? 7 : 250);
      expect(users).toHaveLength(n);
      expect(new Set(users.map((u) => u.id)).size).toBe(n);
      expect(users.every((u) => u.organizationId === org)).toBe(true);
      const [{ ids }] = await store.query<{ ids: string[] }>(`select array_agg(id order by seq) as ids from users where organization_id = $1`, [org]);
      expect(users.map((u) => u.id)).toEqual(ids);
    }
  });

  it('reads a bounded index range per page, whatever the organization’s size: no sort of all its users, no walk past the whole store', async () => {
    for (const org of ['small', 'mid', 'big']) {
      const [row] = await store.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>(
        `explain (analyze, format json) select u.id from users u where u.organization_id = $1 and u.seq > 0 order by u.seq limit 101`,
        [org],
      );
      const nodes: Array<Record<string, unknown>> = [];
      const walk = (node: Record<string, unknown>) => {
        nodes.push(node);
        for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
      };
      walk(row['QUERY PLAN'][0].Plan);
      expect(nodes.some((n) => n['Node Type'] === 'Sort'), `${org}: sorted`).toBe(false);
      const scan = nodes.find((n) => typeof n['Index Name'] === 'string');
      // Rows the scan read and threw away (other organizations'): none on the (organization, seq)
      // index; a few hundred when the planner walks the seq index for an organization that holds
      // a good share of the store (mid: 1 in 7), never the whole store.
      const removed = Number(scan?.['Rows Removed by Filter'] ?? 0);
      expect(removed, `${org}: ${String(scan?.['Index Name'])} read ${removed} other rows`).toBeLessThan(1_010);
    }
  });
});
