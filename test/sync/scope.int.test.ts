import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../src/app/context.js';
import { silentLogger } from '../../src/lib/logger.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { syncEmployeesNow } from '../../src/sync/on-demand.js';
import { runCli } from '../support/cli.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { configFor, createTestStore, employee, tempDir, toCsv, type Row, type TestStore } from '../support/store.js';

/**
 * Scoping on HR fields, before matching: people outside are never created; someone who leaves
 * the scope is deactivated like a leaver, under the same threshold; widening the scope creates
 * them; a dry run with a new scope shows what it would do before it is saved.
 */
let store: TestStore;
let ctx: AppContext;
let dir: string;
let env: Record<string, string>;
const prefix = testPrefix();
const EXCLUDE_FINANCE = { exclude: [{ field: 'department', values: ['Finance'] }] };
// 40 people: even ids Engineering, odd ids Finance (test/support/store.ts)
let rows: Row[] = Array.from({ length: 40 }, (_, k) => employee(k + 1));

const fileConfig = (scope: unknown) => ({
  organizations: [{ id: 'acme', name: 'Acme', connectors: [{ id: 'acme-file', type: 'file', options: { path: join(dir, 'hr.csv') }, mapping: { group: 'department' }, scope }] }],
});
const engine = (scope: unknown) => new SyncEngine({ orm: ctx.orm, config: configFor(store.url, fileConfig(scope), { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix }), log: silentLogger });
const users = async () => store.query<{ external_id: string; status: string }>(`select external_id, status from users where connector_id = 'acme-file' order by seq`);
const sync = async (scope: unknown = EXCLUDE_FINANCE) => {
  writeFileSync(join(dir, 'hr.csv'), toCsv(rows));
  return engine(scope).run({ connectorId: 'acme-file' });
};

beforeAll(async () => {
  store = await createTestStore();
  dir = tempDir('hrsync-scope-');
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify(fileConfig(EXCLUDE_FINANCE)));
  env = { DATABASE_URL: store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix };
  ctx = await createContext({ config: configFor(store.url, fileConfig(EXCLUDE_FINANCE), { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix }), log: silentLogger });
});
afterAll(async () => {
  await ctx?.close();
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

describe('a scope excluding a department', () => {
  it('creates nobody from it', async () => {
    const run = await sync();
    expect(run.status).toBe('succeeded');
    expect(run.counts.created).toBe(20);
    const all = await users();
    expect(all).toHaveLength(20);
    expect(all.every((u) => Number(u.external_id.slice(1)) % 2 === 0)).toBe(true);
    expect(await store.query(`select 1 from invitations`)).toHaveLength(0);
  });

  it('deactivates someone moved into it, under the threshold (1 of 20: 5 % ≤ 10 %), with no look-up', async () => {
    rows = rows.map((r) => (r.employeeId === 'E2' ? { ...r, department: 'Finance' } : r));
    const run = await sync();
    expect(run.status).toBe('succeeded');
    expect(run.counts.deactivated).toBe(1);
    expect(run.counts.confirmedPresent).toBe(0);
    expect((await users()).find((u) => u.external_id === 'E2')!.status).toBe('deactivated');
  });

  it('a one-person sync follows the scope too: an out-of-scope new hire is not created', async () => {
    rows = [...rows, employee(41), employee(42)]; // 41: Finance (excluded), 42: Engineering
    writeFileSync(join(dir, 'hr.csv'), toCsv(rows));
    const deps = { em: ctx.em, config: configFor(store.url, fileConfig(EXCLUDE_FINANCE), { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix }), log: silentLogger };
    const r = await syncEmployeesNow(deps, 'acme-file', ['E41', 'E42']);
    expect(r.run.trigger).toBe('on_demand');
    expect(r.outcomes).toMatchObject({ E41: { outcome: 'skipped' }, E42: { outcome: 'created' } });
    expect((await users()).map((u) => u.external_id)).not.toContain('E41');
    rows = rows.filter((x) => x.employeeId !== 'E41' && x.employeeId !== 'E42');
    await store.query(`update users set status = 'deactivated', deactivated_by = 'admin' where external_id = 'E42'`);
  });

  it('holds the deactivations when a scope change takes more than the threshold', async () => {
    const dry = await engine({ exclude: [{ field: 'department', values: ['Finance', 'Engineering'] }] }).run({ connectorId: 'acme-file', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, status: 'needs_approval' });
    expect(dry.counts.heldDeactivations).toBe(19);
    const held = await sync({ exclude: [{ field: 'department', values: ['Finance', 'Engineering'] }] });
    expect(held.status).toBe('needs_approval');
    expect(held.counts.heldDeactivations).toBe(19);
    await ctx.sync.reject(held.id);
    expect((await users()).filter((u) => u.status === 'active')).toHaveLength(19);
  });

  it('a dry run with a wider scope shows the creations before it is saved (CLI --scope-file), writing nothing', async () => {
    writeFileSync(join(dir, 'hr.csv'), toCsv(rows));
    writeFileSync(join(dir, 'wider.yaml'), stringify({ include: [], exclude: [] }));
    const before = await users();
    const r = await runCli(['sync', 'acme-file', '--dry-run', '--scope-file', join(dir, 'wider.yaml'), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ dryRun: true });
    expect(run.counts.created).toBe(20); // the odd ids, Finance
    expect(run.counts.reactivated).toBe(1); // E2, moved into Finance and deactivated for it, is in scope again
    expect(await users()).toEqual(before);
    const refused = await runCli(['sync', 'acme-file', '--scope-file', join(dir, 'wider.yaml')], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--dry-run/);
  });

  it('widening the scope creates them (and reactivates who sync deactivated for leaving it)', async () => {
    const run = await sync({});
    expect(run.status).toBe('succeeded');
    expect(run.counts.created).toBe(20);
    expect(run.counts.reactivated).toBe(1);
    expect((await users()).filter((u) => u.status === 'active')).toHaveLength(40);
  });
});
