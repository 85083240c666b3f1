import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileConnector } from '../../connectors/file/index.js';
import type { HrConnector } from '../../connectors/types.js';
import { createLogger } from '../../src/lib/logger.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { createUser } from '../../src/users/user-service.js';
import { applyConfig, configFor, employee, employees, storePerFile, tempDir, toCsv, type Row } from '../support/store.js';

/**
 * A first load (a connector with no users, in an organization with no other user holding an
 * e-mail) plans its pages without looking anyone up; the store's unique keys catch what could
 * still collide, and that page is planned again with look-ups. The outcome must be the one the
 * ordinary path gives.
 */
const ctx = storePerFile();
const dir = tempDir();

function fixture(opts: { afterPage?: (page: number, org: string) => Promise<void> } = {}) {
  const n = ctx.next();
  const org = `fl${n}`;
  const connector = `fl${n}-hr`;
  const path = join(dir, `export-${n}.csv`);
  const config = configFor(ctx.store.url, {
    sync: { batchSize: 3 },
    organizations: [{ id: org, name: `First load ${n}`, connectors: [{ id: connector, type: 'file', options: { path, pageSize: 3 } }] }],
  });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', name: 'test', destination: { write: (s: string) => void lines.push(s) } });
  const wrapped: HrConnector<any> = {
    ...fileConnector,
    async *listEmployees(options, c) {
      let page = 0;
      for await (const p of fileConnector.listEmployees(options, c)) {
        yield p;
        await opts.afterPage?.(++page, org);
      }
    },
  };
  const engine = new SyncEngine({ orm: ctx.store.orm, config, log, resolveConnector: () => wrapped });
  return {
    org, connector, engine, config,
    write: (rows: Array<Partial<Row>>) => writeFileSync(path, toCsv(rows)),
    firstLoad: () => lines.some((l) => l.includes('first load: pages are planned without look-ups')),
    collided: () => lines.some((l) => l.includes('first load: a record of this page is already in the store')),
    users: () => ctx.store.query<{ id: string; external_id: string | null; email: string; connector_id: string | null; location: string | null; groups: string[] | null; manager: string | null }>(
      `select u.id, u.external_id, u.email, u.connector_id, l.name as location, m.external_id as manager,
              (select array_agg(g.name order by g.name) from group_memberships gm join groups g on g.id = gm.group_id where gm.user_id = u.id) as groups
         from users u left join locations l on l.id = u.location_id left join users m on m.id = u.manager_id
        where u.organization_id = $1 order by u.external_id`, [org]),
  };
}

describe('first load', () => {
  it('gives an id or e-mail repeated on a later page, next to new locations and departments, the ordinary outcome', async () => {
    const f = fixture();
    f.write([
      ...employees(6),
      employee(7, { location: 'Lisbon', department: 'Legal' }),
      employee(2, { location: 'Oslo' }), // the same employee id again
      employee(8, { email: 'person1@acme.example', location: 'Rome', department: 'Rome office' }), // E1's e-mail
    ]);
    const run = await f.engine.run({ connectorId: f.connector });
    expect([run.status, run.error]).toEqual(['succeeded', null]);
    expect(f.firstLoad()).toBe(true);
    expect(f.collided()).toBe(true);
    expect(run.counts).toMatchObject({ seen: 9, created: 7, rejected: 2 });
    expect(run.rejected.map((r) => [r.externalId, r.reason]).sort()).toEqual([['E2', 'duplicate_employee_id'], ['E8', 'duplicate_email']]);
    const users = await f.users();
    expect(users.map((u) => u.external_id)).toEqual(['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7']);
    // the page that collided was written once, with its new location and group, after the retry
    expect(users.find((u) => u.external_id === 'E7')).toMatchObject({ location: 'Lisbon', groups: ['Legal'], manager: 'E1' });
    expect(users.find((u) => u.external_id === 'E2')).toMatchObject({ location: 'Munich', manager: 'E1' });
    const names = await ctx.store.query<{ name: string }>(`select name from locations where organization_id = $1 order by name`, [f.org]);
    expect(names.map((l) => l.name)).toEqual(['Berlin', 'Lisbon', 'Munich']);
    // the next run is no first load, and changes nothing
    const again = await f.engine.run({ connectorId: f.connector });
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 7, rejected: 2 });
  });

  it('links a user created by hand while it runs, instead of creating a second one with that e-mail', async () => {
    let manual = '';
    const f = fixture({
      afterPage: async (page, org) => {
        if (page !== 1) return;
        const em = ctx.store.em();
        manual = (await createUser(em, org, { email: 'person5@acme.example', firstName: 'Hand', lastName: 'Made' })).id;
      },
    });
    f.write(employees(6));
    const run = await f.engine.run({ connectorId: f.connector });
    expect([run.status, run.error]).toEqual(['succeeded', null]);
    expect(f.firstLoad()).toBe(true);
    expect(run.counts).toMatchObject({ created: 5, updated: 1, rejected: 0 });
    const users = await f.users();
    expect(users).toHaveLength(6);
    expect(users.find((u) => u.email === 'person5@acme.example')).toMatchObject({ id: manual, external_id: 'E5', connector_id: f.connector });
  });

  it('is not taken when the organization already has a user with an e-mail', async () => {
    const f = fixture();
    await applyConfig(ctx.store, f.config);
    await createUser(ctx.store.em(), f.org, { email: 'person2@acme.example', firstName: 'Early', lastName: 'Bird' });
    f.write(employees(3));
    const run = await f.engine.run({ connectorId: f.connector });
    expect(run.status).toBe('succeeded');
    expect(f.firstLoad()).toBe(false);
    expect(run.counts).toMatchObject({ created: 2, updated: 1 });
  });
});
