import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { configFor, createTestStore, employees, tempDir, toCsv, type TestStore } from './support/store.js';

/** Regressions found by bench/scale.bench.ts (bench/results/scale-*.md). */
let store: TestStore;

beforeAll(async () => {
  store = await createTestStore();
  // What this test pins must not depend on autovacuum coming round (it is off on some servers, on in CI).
  await store.query(`alter table users set (autovacuum_enabled = false)`);
});
afterAll(async () => {
  await store?.drop();
});

/** The plan of the e-mail probe `lookupPage` sends per address (src/db/sync-repository.ts), for one organization. */
async function emailProbeIndex(org: string): Promise<string[]> {
  const [row] = await store.query<{ 'QUERY PLAN': unknown }>(
    `explain (format json) select u.id from users u where u.organization_id = $1 and u.email is not null and lower(u.email) = $2 limit 1`,
    [org, 'nobody@example.com'],
  );
  const names: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (typeof node['Index Name'] === 'string') names.push(node['Index Name']);
    for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
  };
  walk((row!['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
  return names;
}

describe('a sync among many organizations', () => {
  it('writes only its own organization and connector: a run costs the same with 1 or 1,000 organizations configured', async () => {
    // Every run used to write the whole configuration to the store (three statements carrying
    // every organization and connector: ~80 ms a run with 1,000 of them, on runs of ~150 ms).
    const dir = tempDir();
    const organizations = Array.from({ length: 400 }, (_, k) => ({
      id: `many-${k}`, name: `Many ${k}`, connectors: [{ id: `many-${k}-hr`, type: 'file', options: { path: join(dir, `many-${k}.csv`) } }],
    }));
    writeFileSync(join(dir, 'many-123.csv'), toCsv(employees(3)));
    const config = configFor(store.url, { organizations });
    const engine = new SyncEngine({ orm: store.orm, config, log: silentLogger });

    const run = await engine.run({ connectorId: 'many-123-hr' });
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ seen: 3, created: 3 });
    const count = async (table: string) => Number((await store.query<{ n: string }>(`select count(*) as n from ${table} where id like 'many-%'`))[0]!.n);
    expect(await count('organizations')).toBe(1);
    expect(await count('connectors')).toBe(1);
    // A process writes the whole configuration once, when it starts (createContext).
  });
});

/**
 * A second large organization synced into a store that held another ran its e-mail lookups as
 * scans of all its own users per address until the first statistics refresh (5,000 users in):
 * 3 s and 6 s for two batches of 2,000 at 200,000 users.
 */
describe('planner statistics during a sync', () => {
  it('knows a new organization after its first batch, in a store another organization fills (e-mail lookups by the unique index)', async () => {
    // Organization "big": 30,000 users, analyzed. Then "newco" arrives with 2,500 employees, in batches of 1,000.
    const dir = tempDir();
    const path = join(dir, 'newco.csv');
    writeFileSync(path, toCsv(employees(2_500)));
    const config = configFor(store.url, {
      sync: { batchSize: 1_000 },
      organizations: [
        { id: 'big', name: 'Big', connectors: [] },
        { id: 'newco', name: 'NewCo', connectors: [{ id: 'newco-hr', type: 'file', options: { path } }] },
      ],
    });
    const engine = new SyncEngine({ orm: store.orm, config, log: silentLogger });
    await store.query(`insert into organizations (id, name) values ('big', 'Big') on conflict do nothing`);
    await store.query(
      `insert into users (organization_id, source, email, status, access)
       select 'big', 'manual', 'user' || i || '@big.example', 'active', 'none' from generate_series(1, 30000) i`,
    );
    await store.query(`analyze users`);
    // Before: the statistics know "big" only, and estimate any other organization at one row.
    await store.query(`insert into organizations (id, name) values ('newco', 'NewCo') on conflict do nothing`);

    const run = await engine.run({ connectorId: 'newco-hr' });
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ seen: 2_500, created: 2_500 });

    // The run refreshed the statistics once its first batch was in (the rule used to wait for
    // 5,000 users): the planner knows the newcomer, and looks its addresses up by the unique index.
    const [stats] = await store.query<{ vals: string | null }>(
      `select most_common_vals::text as vals from pg_stats where tablename = 'users' and attname = 'organization_id'`,
    );
    expect(stats?.vals ?? '').toContain('newco');
    expect(await emailProbeIndex('newco')).toEqual(['users_org_email_uq']);
  });
});
