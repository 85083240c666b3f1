/**
 * Sync engine benchmark: `npm run bench:sync` (BENCH_SIZES=10000,100000 to choose sizes).
 *
 * For each size N it writes an HR export (CSV, in a temp dir) and measures, on one
 * dedicated database (hrsync_bench_<ts>, dropped at the end):
 *   - read+hash baseline: the file connector reads the export and `toSyncRecord` hashes it, no database;
 *   - insert baseline: the same rows written with one hand-written multi-row INSERT … ON CONFLICT
 *     per 5,000 rows through plain `pg`, into a copy of `users` (same columns, indexes, checks, FKs);
 *   - bare floor: the same rows upserted with one `unnest` INSERT … ON CONFLICT per 5,000 rows into
 *     a table with only the unique key (no other index, check or foreign key): what PostgreSQL
 *     itself needs to take the rows in (the initial sync's target is ≤ 3× this);
 *   - initial sync (empty store), unchanged re-sync, re-sync with 1% of the records changed.
 * Peak RSS is sampled every 50 ms during each phase. See bench/README.md.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';
import { fileConnector } from '../connectors/file/index.js';
import type { ConnectorContext } from '../connectors/types.js';
import { loadConfig, type AppConfig } from '../src/config/load.js';
import { openStore, type Orm } from '../src/db/orm.js';
import { compileMapping, isRejection, toSyncRecord } from '../src/domain/employee-record.js';
import { createLogger, silentLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { exportStream } from '../src/history/history-export.js';
import type { SyncRunRecord } from '../src/sync/run-record.js';
import { CHANGED_PERCENT, expectedCounts, LOCATIONS, MAPPING, makeRow, writeExport } from './lib/hr-export.js';
import { loadLine, machineLine, serverVersion } from './lib/machine.js';
import { ruleBench } from './lib/rule-eval.js';

export { MAPPING, writeExport };

const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,1000000')
  .split(',')
  .map((s) => Number(s.trim().replace(/_/g, '')))
  .filter((n) => Number.isInteger(n) && n > 0);
/** History export sizes (events), BENCH_HISTORY_EVENTS=100000,1000000. */
const HISTORY_EVENTS = (process.env.BENCH_HISTORY_EVENTS ?? '100000,1000000').split(',').map((s) => Number(s.trim().replace(/_/g, ''))).filter((n) => Number.isInteger(n) && n > 0);
const REPEAT = process.env.BENCH_REPEAT ? Math.max(1, Number(process.env.BENCH_REPEAT)) : undefined;
const INSERT_BATCH = 5_000;
/** BENCH_PHASES=initial: only the bare floor and the initial sync (a quick loop while working on the write path). */
const ONLY_INITIAL = process.env.BENCH_PHASES === 'initial';
const HERE = dirname(fileURLToPath(import.meta.url));

// --- measuring -----------------------------------------------------------------------------------
interface Measured<T> {
  seconds: number;
  peakRssMb: number;
  value: T;
  /** How many times the phase ran: `seconds` is their median, `peakRssMb` their maximum. */
  runs?: number;
  /** Each run's seconds, when it ran more than once. */
  all?: number[];
}

/**
 * Wall time and peak RSS (sampled every 50 ms) of one phase. No forced collection between
 * phases: it made the next phase pay to regrow the heap (engine phases ran ~50% slower at 10k),
 * and a worker in service does not collect between runs either.
 */
async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, 50);
  const t0 = process.hrtime.bigint();
  try {
    const value = await fn();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { seconds, peakRssMb: peak / 1024 / 1024, value };
  } finally {
    clearInterval(timer);
  }
}

/** One measured run whose value is checked (`check` throws on a wrong result) and summarized. */
async function measured<T>(fn: () => Promise<T>, check: (v: T) => string): Promise<Measured<string>> {
  const m = await measure(fn);
  return { ...m, value: check(m.value) };
}

/** The median run's time and summary, the largest peak RSS of all runs. */
function median(all: Array<Measured<string>>): Measured<string> {
  const sorted = [...all].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  return { seconds: mid.seconds, peakRssMb: Math.max(...all.map((m) => m.peakRssMb)), value: mid.value, runs: all.length, all: all.map((m) => m.seconds) };
}

// --- the baselines -------------------------------------------------------------------------------
/** Read the export with the file connector and compute every record's hash; no database. */
export async function readAndHash(path: string): Promise<number> {
  const mapping = compileMapping(MAPPING);
  const ctx: ConnectorContext = { log: silentLogger, since: null, includeInactive: true, reject: () => {} };
  let n = 0;
  for await (const page of fileConnector.listEmployees(fileConnector.configSchema.parse({ path }), ctx)) {
    for (const e of page) if (!isRejection(toSyncRecord(e, mapping))) n++;
  }
  return n;
}

const BASE_ORG = 'bench-baseline';
const BASE_CONNECTOR = 'bench-baseline-file';

/**
 * A copy of `users`: same columns, defaults, identity, checks and indexes, and the same check of
 * its references (the statement-level trigger of Migration20261205200000; the rows it writes
 * have no manager). No history trigger: the baseline writes users only.
 */
async function createBaselineTable(db: pg.Client): Promise<Map<string, string>> {
  await db.query(`create table bench_users (like users including all)`);
  await db.query(`create trigger bench_users_refs_inserted after insert on bench_users referencing new table as new_users
    for each statement execute function hrsync_users_refs_inserted()`);
  await db.query(`create table bench_floor (external_id text not null unique, email text, first_name text, last_name text, job_title text,
    location_id uuid, manager_external_id text, attributes jsonb, start_date date, end_date date, content_hash text)`);
  await db.query(`insert into organizations (id, name) values ($1, 'Bench baseline')`, [BASE_ORG]);
  await db.query(`insert into connectors (id, organization_id, type) values ($1, $2, 'file')`, [BASE_CONNECTOR, BASE_ORG]);
  const { rows } = await db.query<{ id: string; name: string }>(
    `insert into locations (organization_id, name) select $1, unnest($2::text[]) returning id, name`, [BASE_ORG, LOCATIONS]);
  return new Map(rows.map((r) => [r.name, r.id]));
}

/** The same rows, one multi-row INSERT … ON CONFLICT per 5,000 rows, plain `pg`. */
async function insertBaseline(db: pg.Client, n: number, locationIds: Map<string, string>): Promise<number> {
  const cols = ['email', 'external_id', 'first_name', 'last_name', 'job_title', 'location_id', 'manager_external_id', 'attributes', 'start_date', 'end_date', 'content_hash'];
  let written = 0;
  for (let from = 1; from <= n; from += INSERT_BATCH) {
    const to = Math.min(n, from + INSERT_BATCH - 1);
    const params: unknown[] = [BASE_ORG, BASE_CONNECTOR];
    const tuples: string[] = [];
    for (let i = from; i <= to; i++) {
      const r = makeRow(i, false);
      if (r.status !== 'active') continue; // the engine does not create former employees either
      const h = hash('md5', [r.email, r.managerId, r.startDate, r.endDate, r.firstName, r.lastName, r.jobTitle, r.location, r.department, 'costCenter', r.costCenter].join('\u001f'), 'base64url');
      const p = params.length;
      params.push(r.email, r.employeeId, r.firstName, r.lastName, r.jobTitle, locationIds.get(r.location) ?? null, r.managerId || null,
        JSON.stringify({ costCenter: r.costCenter }), r.startDate, r.endDate || null, h);
      tuples.push(`($1, $2, 'sync', ${cols.map((_, k) => `$${p + k + 1}`).join(', ')}, 'active', 'none')`);
    }
    if (tuples.length === 0) continue;
    const res = await db.query(
      `insert into bench_users (organization_id, connector_id, source, ${cols.join(', ')}, status, access)
       values ${tuples.join(',\n')}
       on conflict (connector_id, external_id) where connector_id is not null do update set
         email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name, job_title = excluded.job_title,
         location_id = excluded.location_id, manager_external_id = excluded.manager_external_id, attributes = excluded.attributes,
         start_date = excluded.start_date, end_date = excluded.end_date, content_hash = excluded.content_hash, updated_at = now()`,
      params,
    );
    written += res.rowCount ?? 0;
  }
  return written;
}

/** The floor: the same rows, `unnest` upserts of 5,000 into a table whose only index is the unique key. */
async function floorBaseline(db: pg.Client, n: number, locationIds: Map<string, string>): Promise<number> {
  let written = 0;
  for (let from = 1; from <= n; from += INSERT_BATCH) {
    const to = Math.min(n, from + INSERT_BATCH - 1);
    const cols: unknown[][] = Array.from({ length: 11 }, () => []);
    for (let i = from; i <= to; i++) {
      const r = makeRow(i, false);
      if (r.status !== 'active') continue;
      const h = hash('md5', [r.email, r.managerId, r.startDate, r.endDate, r.firstName, r.lastName, r.jobTitle, r.location, r.department, 'costCenter', r.costCenter].join('\u001f'), 'base64url');
      [r.employeeId, r.email, r.firstName, r.lastName, r.jobTitle, locationIds.get(r.location) ?? null, r.managerId || null,
        JSON.stringify({ costCenter: r.costCenter }), r.startDate, r.endDate || null, h].forEach((v, k) => cols[k].push(v));
    }
    if (cols[0].length === 0) continue;
    const res = await db.query(
      `insert into bench_floor (external_id, email, first_name, last_name, job_title, location_id, manager_external_id, attributes, start_date, end_date, content_hash)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::jsonb[], $9::date[], $10::date[], $11::text[])
       on conflict (external_id) do update set email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
         job_title = excluded.job_title, location_id = excluded.location_id, manager_external_id = excluded.manager_external_id,
         attributes = excluded.attributes, start_date = excluded.start_date, end_date = excluded.end_date, content_hash = excluded.content_hash`,
      cols,
    );
    written += res.rowCount ?? 0;
  }
  return written;
}

// --- the run -------------------------------------------------------------------------------------
interface ResultRow {
  n: number;
  phase: string;
  /** Median of this many runs. */
  runs: number;
  seconds: number;
  rows: number;
  ratio: number | null;
  baseline: string;
  target: number | null;
  rssMb: number;
  note: string;
}

function benchConfig(dir: string, databaseUrl: string, sizes: number[]): AppConfig {
  const path = join(dir, 'hrsync.config.yaml');
  writeFileSync(path, stringify({
    ...(process.env.BENCH_BATCH ? { sync: { batchSize: Number(process.env.BENCH_BATCH) } } : {}),
    organizations: sizes.map((n) => ({
      id: `bench-${n}`,
      name: `Bench ${n}`,
      connectors: [{ id: `bench-${n}-file`, type: 'file', options: { path: join(dir, `n${n}`, 'export.csv') }, mapping: MAPPING }],
    })).concat([{
      id: 'bench-warmup',
      name: 'Bench warm-up',
      connectors: [{ id: 'bench-warmup-file', type: 'file', options: { path: join(dir, 'warmup', 'export.csv') }, mapping: MAPPING }],
    }]),
  }));
  return loadConfig({ HRSYNC_CONFIG: path, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, dir);
}

function progress(label: string) {
  let last = 0;
  return (p: { seen: number; elapsedMs: number; rate: number }) => {
    if (p.elapsedMs - last < 15_000) return;
    last = p.elapsedMs;
    process.stderr.write(`  … ${label}: ${p.seen.toLocaleString('en')} records, ${(p.elapsedMs / 1000).toFixed(0)} s, ${p.rate.toLocaleString('en')}/s, RSS ${(process.memoryUsage.rss() / 1048576).toFixed(0)} MB\n`);
  };
}

function expectCounts(run: SyncRunRecord, phase: string, want: Record<string, number>): string {
  if (run.status !== 'succeeded') throw new Error(`${phase}: run ended ${run.status}: ${run.error ?? run.heldReason ?? ''}`);
  const c = run.counts as unknown as Record<string, number>;
  const wrong = Object.entries(want).filter(([k, v]) => c[k] !== v);
  if (wrong.length > 0) throw new Error(`${phase}: counts ${JSON.stringify(run.counts)}; expected ${JSON.stringify(want)}`);
  return Object.entries(c).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ');
}

/** The per-person history's triggers (Migration20261205190000) on or off, for the on/off comparison. */
async function history(db: pg.Client, on: boolean): Promise<void> {
  await db.query(`alter table users ${on ? 'enable' : 'disable'} trigger user_history_insert, ${on ? 'enable' : 'disable'} trigger user_history_update`);
}

async function main(): Promise<void> {
  if (SIZES.length === 0) throw new Error('BENCH_SIZES names no size (e.g. BENCH_SIZES=10000,100000)');
  const machine = machineLine();
  const started = new Date();
  const loadAtStart = loadLine();
  console.log(`hrsync sync bench — ${started.toISOString()}\nmachine: ${machine}\nload average at start: ${loadAtStart}\nsizes: ${SIZES.join(', ')}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'hrsync-bench-'));
  const dbName = `hrsync_bench_${Date.now()}`;
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  let orm: Orm | null = null;
  let db: pg.Client | null = null;
  const cleanup = async () => {
    await db?.end().catch(() => {});
    db = null;
    await orm?.close(true).catch(() => {});
    orm = null;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    process.stderr.write('\ninterrupted: dropping the bench database\n');
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: ResultRow[] = [];
  try {
    orm = await openStore(databaseUrl);
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const config = benchConfig(dir, databaseUrl, SIZES);
    // BENCH_TIMINGS=1: the engine's own log at info level on stderr ('sync finished' carries timingsMs).
    const engine = new SyncEngine({ orm, config, log: process.env.BENCH_TIMINGS ? createLogger({ level: 'info', name: 'bench', destination: process.stderr }) : silentLogger });
    const locationIds = await createBaselineTable(db);

    // Warm-up (JIT, pools, catalog caches): not reported.
    mkdirSync(join(dir, 'warmup'));
    await writeExport(join(dir, 'warmup', 'export.csv'), 5_000, false);
    await engine.run({ connectorId: 'bench-warmup-file' });
    await engine.run({ connectorId: 'bench-warmup-file' });
    await readAndHash(join(dir, 'warmup', 'export.csv'));
    await insertBaseline(db, 5_000, locationIds);
    await floorBaseline(db, 5_000, locationIds);
    await db.query(`truncate bench_users, bench_floor`);

    for (const n of SIZES) {
      const sub = join(dir, `n${n}`);
      mkdirSync(sub);
      const exportPath = join(sub, 'export.csv');
      const changedPath = join(sub, 'export-changed.csv');
      const originalPath = join(sub, 'export-original.csv');
      process.stderr.write(`N=${n}: writing exports …\n`);
      await writeExport(exportPath, n, false);
      await writeExport(changedPath, n, true);
      const { active, updated: diff, terminated } = expectedCounts(n);
      const connectorId = `bench-${n}-file`;
      const add = (phase: string, m: Measured<unknown>, rows: number, base: ResultRow | null, target: number | null, note = '') => {
        const r: ResultRow = {
          n, phase, seconds: m.seconds, runs: m.runs ?? 1, rows, rssMb: m.peakRssMb, note, target,
          ratio: base ? m.seconds / base.seconds : null, baseline: base?.phase ?? '',
        };
        results.push(r);
        process.stderr.write(`  ${phase}: ${m.seconds.toFixed(2)} s${m.all && m.all.length > 1 ? ` (median of ${m.all.map((x) => x.toFixed(2)).join(', ')})` : ''}${r.ratio !== null ? `, ${r.ratio.toFixed(2)}× ${base!.phase}` : ''}, peak RSS ${m.peakRssMb.toFixed(0)} MB ${note}\n`);
        return r;
      };

      // Small sizes take well under a second a phase: on a shared machine one run says little, so
      // they run REPEAT times and the median counts. Each engine phase alternates with its baseline
      // (baseline, engine, baseline, engine, …) so both see the same load from the machine's other work.
      const times = REPEAT ?? (n <= 100_000 ? 3 : 1);
      const emptyStore = async () => {
        await db!.query(`truncate users, sync_run_rejections, sync_run_deactivations, user_events cascade`);
        await db!.query(`delete from locations where organization_id <> $1`, [BASE_ORG]);
        await db!.query(`delete from groups`);
        await db!.query(`truncate bench_users, bench_floor`);
        await db!.query(`vacuum analyze users, bench_users, bench_floor, group_memberships, locations, groups`);
        await db!.query(`checkpoint`);
      };
      const checkHashed = (v: number) => {
        if (v !== n) throw new Error(`read+hash: ${v} valid records of ${n}`);
        return '';
      };
      process.stderr.write(`N=${n}: measuring${times > 1 ? ` (median of ${times} runs a phase)` : ''} …\n`);
      const ins: Array<Measured<string>> = [];
      const floor: Array<Measured<string>> = [];
      const initial: Array<Measured<string>> = [];
      const initialOff: Array<Measured<string>> = [];
      if (ONLY_INITIAL) {
        for (let k = 0; k < times; k++) {
          await emptyStore();
          floor.push(await measured(() => floorBaseline(db!, n, locationIds), (v) => `(${v} rows written)`));
          await emptyStore();
          initial.push(await measured(() => engine.run({ connectorId, onProgress: progress('initial sync') }),
            (v) => expectCounts(v, 'initial sync', { seen: n, created: active, skipped: n - active, rejected: 0 })));
        }
        const bare = add('bare floor', median(floor), n, null, null, median(floor).value);
        add('initial sync', median(initial), n, bare, 3, median(initial).value);
        await emptyStore();
        rmSync(sub, { recursive: true, force: true });
        continue;
      }
      for (let k = 0; k < times; k++) {
        // The same initial sync with the per-person history's triggers off (issue 19: ≤ 1.2× with them on).
        await emptyStore();
        await history(db!, false);
        initialOff.push(await measured(() => engine.run({ connectorId, onProgress: progress('initial sync, history off') }),
          (v) => expectCounts(v, 'initial sync', { seen: n, created: active, skipped: n - active, rejected: 0 })));
        await history(db!, true);
        await emptyStore();
        floor.push(await measured(() => floorBaseline(db!, n, locationIds), (v) => `(${v} rows written)`));
        await emptyStore();
        ins.push(await measured(() => insertBaseline(db!, n, locationIds), (v) => `(${v} rows written)`));
        await emptyStore();
        initial.push(await measured(() => engine.run({ connectorId, onProgress: progress('initial sync') }),
          (v) => expectCounts(v, 'initial sync', { seen: n, created: active, skipped: n - active, rejected: 0 })));
      }
      const rh: Array<Measured<string>> = [];
      const again: Array<Measured<string>> = [];
      for (let k = 0; k < times; k++) {
        rh.push(await measured(() => readAndHash(exportPath), checkHashed));
        again.push(await measured(() => engine.run({ connectorId, onProgress: progress('unchanged re-sync') }),
          (v) => expectCounts(v, 'unchanged re-sync', { seen: n, created: 0, updated: 0, unchanged: active, deactivated: 0 })));
      }
      // Issue 17: the rules and leavers re-planned after a sync (the sync job's hook), against the unchanged re-sync.
      const rb = ruleBench(orm, config, `bench-${n}`);
      await rb.prepare(db, LOCATIONS[0]!, 'Engineering');
      const evals: Array<Measured<string>> = [];
      for (let k = 0; k < times; k++) evals.push(await measured(() => rb.evaluate(), (v) => v));
      copyFileSync(exportPath, originalPath);
      const changed: Array<Measured<string>> = [];
      const changedOff: Array<Measured<string>> = [];
      for (let k = 0; k < times; k++) {
        // The 1% re-sync with the history off, from the same unchanged store; then (below) with it on.
        if (k > 0) {
          copyFileSync(originalPath, exportPath);
          await engine.run({ connectorId });
        }
        copyFileSync(changedPath, exportPath);
        await history(db!, false);
        changedOff.push(await measured(() => engine.run({ connectorId, onProgress: progress('1% changed re-sync, history off') }),
          (v) => expectCounts(v, 'changed re-sync', { seen: n, created: 0, updated: diff + terminated, unchanged: active - diff - terminated, deactivated: terminated })));
        await history(db!, true);
        {
          // Back to the unchanged store (untimed), then the same 1% again.
          copyFileSync(originalPath, exportPath);
          await engine.run({ connectorId });
        }
        copyFileSync(changedPath, exportPath);
        changed.push(await measured(() => engine.run({ connectorId, onProgress: progress('1% changed re-sync') }),
          (v) => expectCounts(v, 'changed re-sync', { seen: n, created: 0, updated: diff + terminated, unchanged: active - diff - terminated, deactivated: terminated })));
      }
      const readHash = add('read+hash baseline', median(rh), n, null, null);
      const bare = add('bare floor', median(floor), n, null, null, median(floor).value);
      const insert = add('insert baseline (all indexes)', median(ins), n, null, null, median(ins).value);
      const offInitial = add('initial sync, history off', median(initialOff), n, null, null, median(initialOff).value);
      add('initial sync', median(initial), n, bare, 3, median(initial).value);
      add('initial sync (history on vs off)', median(initial), n, offInitial, 1.2, 'user_events written');
      add('initial sync', median(initial), n, insert, null, 'vs today\'s full-index baseline');
      const unchanged = add('unchanged re-sync', median(again), n, readHash, 1.5, median(again).value);
      add('rule evaluation after sync', median(evals), n, unchanged, 0.5, median(evals).value);
      const offChanged = add(`${CHANGED_PERCENT}% changed re-sync, history off`, median(changedOff), n, null, null, median(changedOff).value);
      add(`${CHANGED_PERCENT}% changed re-sync`, median(changed), n, readHash, null, median(changed).value);
      add(`${CHANGED_PERCENT}% changed (history on vs off)`, median(changed), n, offChanged, 1.2, 'user_events written');

      // The next size starts from an empty store again.
      await emptyStore();
      rmSync(sub, { recursive: true, force: true });
    }
    // The history export (GET /api/history/export's stream, without HTTP): events per second.
    for (const events of ONLY_INITIAL ? [] : HISTORY_EVENTS) {
      await db.query(`truncate user_events`);
      await db.query(
        `insert into user_events (organization_id, user_id, at, kind, actor_type, actor_id, data)
         select 'bench', gen_random_uuid(), timestamptz '2026-01-01' + (g * interval '1 second'), 'updated', 'run', 'r' || (g / 1000),
                jsonb_build_object('changes', jsonb_build_object('jobTitle', jsonb_build_array('Engineer', 'Senior engineer ' || g)))
           from generate_series(1, $1::int) g`,
        [events],
      );
      await db.query(`vacuum analyze user_events`);
      const m = await measure(async () => {
        let lines = 0;
        for await (const chunk of exportStream(orm!.em.fork() as EntityManager, 'bench', new Date('2025-01-01'), new Date('2030-01-01'), 'csv')) {
          for (const ch of String(chunk)) if (ch === '\n') lines++;
        }
        return lines - 1;
      });
      if (m.value !== events) throw new Error(`history export: ${m.value} events of ${events}`);
      const r: ResultRow = { n: events, phase: 'history export (CSV)', seconds: m.seconds, runs: 1, rows: events, rssMb: m.peakRssMb, note: `${Math.round(events / m.seconds).toLocaleString('en')} events/s`, target: null, ratio: null, baseline: '' };
      results.push(r);
      process.stderr.write(`history export: ${events} events in ${m.seconds.toFixed(2)} s (${r.note}), peak RSS ${m.peakRssMb.toFixed(0)} MB\n`);
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const table = formatTable(results);
  const summary = `${verdicts(results)}\n- load average (1/5/15 min) at start ${loadAtStart}, at end ${loadLine()}: a shared machine's other work slows both the engine and its baselines`;
  console.log(`${table}\n\n${summary}`);
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `sync-${ONLY_INITIAL ? 'initial-' : ''}${started.toISOString().slice(0, 10)}.md`);
  writeFileSync(file, `# hrsync sync bench — ${started.toISOString()}\n\nmachine: ${machine}  \nsizes: ${SIZES.join(', ')}  \n` +
    `database: PostgreSQL on 127.0.0.1 (${await serverVersion(ADMIN_URL)}), one dedicated database per run\n\n${table}\n\n${summary}\n`);
  console.log(`\nwritten to ${file}`);
}

function formatTable(rows: ResultRow[]): string {
  const head = ['N', 'phase', 'runs', 'seconds', 'rows/s', 'ratio', 'vs', 'target', 'RSS MB', 'counts'];
  const body = rows.map((r) => [
    r.n.toLocaleString('en'),
    r.phase,
    String(r.runs),
    r.seconds.toFixed(2),
    Math.round(r.rows / r.seconds).toLocaleString('en'),
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
    r.baseline,
    r.target === null ? '' : `≤ ${r.target}× ${r.ratio !== null && r.ratio <= r.target ? '✓' : '✗'}`,
    r.rssMb.toFixed(0),
    r.note,
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 1 || i === 6 || i === 9 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

function verdicts(rows: ResultRow[]): string {
  const out: string[] = [];
  const missed = rows.filter((r) => r.target !== null && r.ratio !== null && r.ratio > r.target);
  out.push(missed.length === 0 ? '- ratio targets: all met' : `- ratio targets missed: ${missed.map((r) => `${r.phase} at ${r.n} (${r.ratio!.toFixed(2)}× > ${r.target}×)`).join('; ')}`);
  const top = Math.max(...rows.map((r) => r.n));
  const peak = Math.max(...rows.filter((r) => r.n === top).map((r) => r.rssMb));
  out.push(`- peak RSS at ${top.toLocaleString('en')} rows: ${peak.toFixed(0)} MB${top >= 1_000_000 ? (peak <= 300 ? ' (≤ 300 MB ✓)' : ' (> 300 MB ✗)') : ' (the 300 MB target applies at 1,000,000)'}`);
  const sizes = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  if (sizes.length > 1) {
    const lo = sizes[sizes.length - 2];
    const phases = [...new Set(rows.map((r) => r.phase))];
    const parts = phases.map((p) => {
      const a = rows.find((r) => r.n === lo && r.phase === p);
      const b = rows.find((r) => r.n === top && r.phase === p);
      return a && b ? `${p} ${((b.seconds / b.n) / (a.seconds / a.n)).toFixed(2)}` : null;
    }).filter(Boolean);
    out.push(`- linearity (time per row at ${top.toLocaleString('en')} ÷ at ${lo.toLocaleString('en')}; 1.00 = linear): ${parts.join(', ')}`);
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
