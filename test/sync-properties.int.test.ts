import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileConnector } from '../connectors/file/index.js';
import type { HrConnector } from '../connectors/types.js';
import { silentLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { configFor, createTestStore, employee, tempDir, toCsv, type Row, type TestStore } from './support/store.js';

/**
 * The sync rules as properties of the whole engine against PostgreSQL (test/domain/sync-plan.test.ts
 * checks the pure planner): for a random store — people synced before, some of them invited or
 * active, some deactivated by an administrator — and a random next listing, the run never
 * invites, never changes anyone's access, never deactivates more than the threshold without
 * holding, never deactivates for absence on a listing that broke off, and a second run of the
 * same listing writes nothing.
 */
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

const POOL = 24;
const PAGE = 5;
const personArb = fc.record({
  present: fc.boolean(),
  status: fc.constantFrom('active', 'active', 'active', 'inactive'),
  department: fc.constantFrom('Engineering', 'Finance', 'Sales'),
  location: fc.constantFrom('Berlin', 'Munich', ''),
  email: fc.constantFrom('own', 'own', 'own', 'shared', 'broken', 'none'),
});
const listingArb = fc.array(personArb, { minLength: POOL, maxLength: POOL });
const accessArb = fc.array(fc.constantFrom('none', 'none', 'invited', 'active'), { minLength: POOL, maxLength: POOL });
const adminDeactivatedArb = fc.array(fc.boolean(), { minLength: POOL, maxLength: POOL });
const policyArb = fc.record({
  maxPercent: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  maxCount: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
});

type Person = { present: boolean; status: string; department: string; location: string; email: string };
const rowsOf = (people: Person[]): Row[] =>
  people.flatMap((p, i) =>
    !p.present ? [] : [employee(i + 1, {
      status: p.status,
      department: p.department,
      location: p.location,
      managerId: i > 0 && people[0].present ? 'E1' : '',
      email: p.email === 'own' ? `person${i + 1}@acme.example` : p.email === 'shared' ? 'shared@acme.example' : p.email === 'broken' ? 'broken' : '',
    })],
  );

interface Org {
  org: string;
  connector: string;
  engine(breakAfterPages?: number): SyncEngine;
  write(rows: Row[]): void;
  users(): Promise<Array<{ id: string; external_id: string | null; status: string; access: string; deactivated_by: string | null }>>;
}

function org(policy: { maxPercent?: number; maxCount?: number }): Org {
  n++;
  const id = `prop${n}`;
  const connector = `hr${n}`;
  const path = join(dir, `export-${n}.csv`);
  writeFileSync(path, toCsv([]));
  const config = configFor(store.url, {
    sync: { batchSize: 5 },
    organizations: [{ id, name: `Prop ${n}`, connectors: [{ id: connector, type: 'file', options: { path, pageSize: PAGE }, deactivation: policy }] }],
  });
  return {
    org: id,
    connector,
    engine: (breakAfterPages) => {
      const breaking: HrConnector<any> = {
        ...fileConnector,
        async *listEmployees(options, ctx) {
          let pages = 0;
          for await (const page of fileConnector.listEmployees(options, ctx)) {
            if (breakAfterPages !== undefined && pages++ === breakAfterPages) throw new Error('the HR API went away');
            yield page;
          }
        },
      };
      return new SyncEngine({ orm: store.orm, config, log: silentLogger, resolveConnector: breakAfterPages === undefined ? undefined : () => breaking });
    },
    write: (rows) => writeFileSync(path, toCsv(rows)),
    users: () => store.query(`select id, external_id, status, access, deactivated_by from users where organization_id = $1 order by seq`, [id]),
  };
}

async function invitations(): Promise<number> {
  return Number((await store.query<{ n: string }>(`select count(*) as n from invitations`))[0].n);
}

describe('sync engine properties (PostgreSQL)', () => {
  it('never invites or changes access, holds over the threshold, breaks off without deactivating, and is idempotent', async () => {
    await fc.assert(
      fc.asyncProperty(listingArb, accessArb, adminDeactivatedArb, listingArb, policyArb, fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), async (before, access, adminOff, after, policy, breakAt) => {
        const o = org(policy);
        o.write(rowsOf(before));
        const first = await o.engine().run({ connectorId: o.connector });
        expect(first.status, first.error ?? "").toBe("succeeded");
        // People get invited, accept, or are switched off by an administrator in between.
        const seeded = await o.users();
        for (const [k, u] of seeded.entries()) {
          const a = access[k % POOL];
          await store.query(`update users set access = $2 where id = $1`, [u.id, a]);
          if (adminOff[k % POOL] && u.status === 'active') await store.query(`update users set status = 'deactivated', deactivated_by = 'admin' where id = $1`, [u.id]);
        }
        let was = new Map((await o.users()).map((u) => [u.id, u]));

        // A listing that breaks off part way: failed, nobody deactivated, access untouched.
        if (breakAt !== undefined && rowsOf(after).length > breakAt * PAGE) {
          o.write(rowsOf(after));
          const broken = await o.engine(breakAt).run({ connectorId: o.connector });
          expect(broken.status).toBe('failed');
          for (const u of await o.users()) {
            const w = was.get(u.id);
            if (w) expect(u.status === 'deactivated' && w.status === 'active').toBe(false);
            else expect(u.access).toBe('none');
          }
          // Its pages before the break are written (the next run resumes from there).
          was = new Map((await o.users()).map((u) => [u.id, u]));
        }
        // The threshold is relative to the connector's active users when the run starts.
        const activeBefore = [...was.values()].filter((u) => u.status === 'active').length;

        o.write(rowsOf(after));
        const run = await o.engine().run({ connectorId: o.connector });
        expect(['succeeded', 'needs_approval']).toContain(run.status);
        const now = await o.users();
        for (const u of now) {
          const w = was.get(u.id);
          // Never invites: access is what it was, and every new user has none.
          expect(u.access).toBe(w ? w.access : 'none');
          // An administrator's deactivation stands.
          if (w?.deactivated_by === 'admin') expect(u.status).toBe('deactivated');
        }
        expect(await invitations()).toBe(0);
        const deactivated = now.filter((u) => u.status === 'deactivated' && was.get(u.id)?.status === 'active').length;
        const maxPercent = policy.maxPercent ?? (policy.maxCount === undefined ? 10 : undefined);
        const allowed = Math.min(policy.maxCount ?? Infinity, maxPercent === undefined ? Infinity : (activeBefore * maxPercent) / 100);
        if (run.status === 'needs_approval') {
          expect(deactivated).toBe(0);
          expect(run.counts.heldDeactivations).toBeGreaterThan(allowed);
          await o.engine().approve(run.id);
        } else {
          expect(deactivated).toBeLessThanOrEqual(allowed);
        }

        // Idempotent: the same listing again writes nothing.
        const again = await o.engine().run({ connectorId: o.connector });
        expect(again.status).toBe('succeeded');
        expect(again.counts).toMatchObject({ created: 0, updated: 0, deactivated: 0, reactivated: 0, heldDeactivations: 0 });
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 20), seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  }, 600_000);
});
