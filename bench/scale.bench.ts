/**
 * Scale bench: `npm run bench:scale` (about an hour on the 2-core machine), or
 * `npx tsx bench/scale.bench.ts --quick` (the same steps, small, in about a minute).
 *
 * Everything that syncs or sends runs as the product runs: the current tree compiled with tsc
 * (bench/lib/build.ts), started as `node <build>/bin/hrsync.js …` — the installed command —
 * in processes of its own, with a config file. Peak RSS is the process's own high-water mark
 * (`process.resourceUsage().maxRSS`, written at exit by a preloaded hook); CPU seconds come from
 * the same hook, PostgreSQL's from /proc of the database's backends.
 *
 *  1. big: one organization of N employees (1,000,000; quick 10,000), with the file connector and
 *     with BambooHR (a fake on 127.0.0.1 that renders each page when asked — see LazyBamboohr),
 *     each into a fresh database: `hrsync sync <id> --json` for the initial sync, an unchanged
 *     re-sync and a re-sync with 1% of the records changed. Every run's counts are checked.
 *  2. orgs: 1,000 organizations × 100 employees (quick 50): every connector synced in turn by the
 *     engine in one process (initial, then unchanged), a sample through the CLI (one process per
 *     run), and through the sync queue: a scheduler process queues each connector's first sync,
 *     worker processes (`hrsync start --role worker`) run them; then every connector again.
 *  3. rollout: one rollout to 100,000 users (quick 5,000, synced in from an export), delivered by
 *     1, 2 and 4 worker processes (`hrsync start --role worker`) to an SMTP server (smtp-server,
 *     test/support/smtp-sink.ts) on 127.0.0.1, with the send quota set far above what they reach.
 *
 * Results: bench/results/scale-<date>.{md,json} (quick: the temp directory). Databases
 * (hrsync_bench_scale_<ts>_*), the Redis prefix and the temp files are removed at the end, also on
 * Ctrl-C. Env: BENCH_PARTS=big,orgs,rollout; BENCH_CONNECTORS=file,bamboohr; BENCH_SCALE_N;
 * BENCH_ORGS; BENCH_ROLLOUT_USERS; BENCH_WORKERS=1,2,4,1; BENCH_SYNC_WORKERS=2;
 * BENCH_DATABASE_ADMIN_URL / TEST_DATABASE_ADMIN_URL; TEST_REDIS_URL.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify as yamlStringify } from 'yaml';
import { createContext, type AppContext } from '../src/app/context.js';
import { silentLogger } from '../src/lib/logger.js';
import type { SyncRunRecord } from '../src/sync/run-record.js';
import { enqueueSync } from '../jobs/sync/enqueue.js';
import { FakeBamboohr, type BamboohrRow } from '../test/fakes/bamboohr-server.js';
import type { FakeReply, FakeRequest } from '../test/fakes/fake-server.js';
import { deletePrefix } from '../test/support/redis.js';
import { startSmtpSink, type SmtpSink } from '../test/support/smtp-sink.js';
import { buildTree, REPO_ROOT, type BuiltTree } from './lib/build.js';
import { expectedCounts, MAPPING, makeRow, sizeForActive, writeExport } from './lib/hr-export.js';
import { cpuModel, cpuOf, loadLine, rssOf, serverVersion } from './lib/machine.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.argv.includes('--quick');
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const num = (v: string | undefined, dflt: number) => (v ? Number(v.replace(/_/g, '')) : dflt);
const list = (v: string | undefined, dflt: string) => (v ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
const BIG_N = num(process.env.BENCH_SCALE_N, QUICK ? 10_000 : 1_000_000);
const ORGS = num(process.env.BENCH_ORGS, QUICK ? 50 : 1_000);
const ORG_SIZE = 100;
const CLI_SAMPLE = QUICK ? 3 : 20;
const ROLLOUT_USERS = num(process.env.BENCH_ROLLOUT_USERS, QUICK ? 5_000 : 100_000);
const WORKER_COUNTS = list(process.env.BENCH_WORKERS, QUICK ? '1,2,4' : '1,2,4,1').map(Number);
const SYNC_WORKERS = num(process.env.BENCH_SYNC_WORKERS, 2);
const PARTS = new Set(list(process.env.BENCH_PARTS, 'big,orgs,rollout'));
const CONNECTORS = list(process.env.BENCH_CONNECTORS, 'file,bamboohr') as Array<'file' | 'bamboohr'>;
/** Far above what the workers reach: the quota's code path runs (one INCRBY per chunk), it never waits. */
const RATE_PER_SECOND = 1_000_000;
/** The tree to build and run (default: this repository); e.g. a copy of an older state, for before/after figures. */
const SOURCE = process.env.BENCH_SOURCE ? resolve(process.env.BENCH_SOURCE) : REPO_ROOT;
const BAMBOOHR = { companyDomain: 'acme', apiKey: 'bhr-bench-scale-4c1f9e2a7d3b', pageSize: 1_000 };

const log = (s: string) => process.stderr.write(`${s}\n`);
/** Config files as a person would write them: each organization's mapping spelled out (no YAML anchors). */
const stringify = (v: unknown) => yamlStringify(v, { aliasDuplicateObjects: false });
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// processes: the built `hrsync` command, with its own peak RSS and CPU time reported at exit

/** Preloaded into every measured process (`node --import`): its resource usage, written at exit. */
const RUSAGE_HOOK = `
import { writeFileSync } from 'node:fs';
const out = process.env.BENCH_RUSAGE_FILE;
if (out) process.on('exit', () => {
  const r = process.resourceUsage();
  try { writeFileSync(out, JSON.stringify({ maxRssKb: r.maxRSS, cpuUs: r.userCPUTime + r.systemCPUTime })); } catch {}
});
`;

/**
 * Every connector of the config synced in turn by the engine, in one process (what a worker or a
 * script looping over `hrsync sync` does, without a process start per run); per-run times out.
 */
const SYNC_ALL = `
import { createContext } from './dist/src/app/context.js';
const ctx = await createContext({ env: process.env });
const ids = ctx.config.organizations.flatMap((o) => o.connectors.map((c) => c.id));
const counts = {};
const statuses = {};
const ms = [];
const t0 = performance.now();
for (const connectorId of ids) {
  const t = performance.now();
  const run = await ctx.sync.run({ connectorId, trigger: 'manual' });
  ms.push(performance.now() - t);
  statuses[run.status] = (statuses[run.status] ?? 0) + 1;
  for (const [k, v] of Object.entries(run.counts)) counts[k] = (counts[k] ?? 0) + v;
}
const seconds = (performance.now() - t0) / 1000;
await ctx.close();
process.stdout.write(JSON.stringify({ runs: ids.length, seconds, statuses, counts, ms }) + '\\n');
`;

interface Proc {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited: code, wall seconds, peak RSS and CPU seconds (from the exit hook). */
  done: Promise<{ code: number | null; seconds: number; peakRssMb: number; cpuSeconds: number }>;
  kill(signal?: NodeJS.Signals): void;
  waitForStderr(text: string, timeoutMs?: number): Promise<void>;
}

let RUN_DIR = '';
const live = new Set<Proc>();

/** SIGTERM to each process, then their exits (peak RSS, CPU) once all have ended. */
async function stopAll(procs: readonly Proc[]): Promise<Array<Awaited<Proc['done']>>> {
  for (const p of procs) p.kill('SIGTERM');
  return Promise.all(procs.map((p) => p.done));
}

function start(script: string, args: string[], env: Record<string, string>): Proc {
  const usageFile = join(RUN_DIR, `rusage-${randomBytes(6).toString('hex')}.json`);
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', join(RUN_DIR, 'rusage-hook.mjs'), script, ...args], {
    cwd: RUN_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env, BENCH_RUSAGE_FILE: usageFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let peakSampled = 0;
  const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, rssOf(child.pid!))), 200);
  const proc: Proc = {
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    done: new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearInterval(sampler);
        live.delete(proc);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        let usage = { maxRssKb: peakSampled * 1024, cpuUs: 0 };
        try {
          usage = JSON.parse(readFileSync(usageFile, 'utf8'));
        } catch {
          /* killed before its exit hook ran: the sampled peak stands */
        }
        resolve({ code: code ?? (signal ? -1 : null), seconds, peakRssMb: usage.maxRssKb / 1024, cpuSeconds: usage.cpuUs / 1e6 });
      });
    }),
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    async waitForStderr(text, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      while (!err.includes(text)) {
        if (Date.now() > end) throw new Error(`process ${child.pid} did not print "${text}" within ${timeoutMs / 1000} s; stderr: ${err.slice(-800)}`);
        if (child.exitCode !== null) throw new Error(`process ${child.pid} exited ${child.exitCode}; stderr: ${err.slice(-800)}`);
        await sleep(50);
      }
    },
  };
  live.add(proc);
  return proc;
}

/** Runs the `hrsync` command to its end; throws on a non-zero exit. */
async function hrsync(tree: BuiltTree, args: string[], env: Record<string, string>) {
  const p = start(tree.bin, args, env);
  const r = await p.done;
  if (r.code !== 0) throw new Error(`hrsync ${args.join(' ')} exited ${r.code}: ${p.stderr().slice(-1500)}`);
  return { ...r, stdout: p.stdout() };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: one database per scenario, and the CPU its backends use

const databases = new Set<string>();
let stamp = '';

function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery<T = Record<string, unknown>>(text: string, params: unknown[] = [], url = ADMIN_URL): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`drop database if exists "${name}" with (force)`);
  databases.delete(name);
}

/**
 * CPU seconds of a database's backends over a phase: backends come and go with the processes
 * that open them, so they are sampled (every 250 ms) and each one's last reading counts. The same
 * samples tell how often an active backend was waiting for a lock (heavyweight: rows, tables,
 * advisory locks; LWLock: buffers, WAL and other shared structures) — contention shows there.
 */
function pgCpuTracker(dbName: string) {
  const seen = new Map<number, { first: number; last: number }>();
  const client = new pg.Client({ connectionString: ADMIN_URL });
  let stopped = false;
  let initial = true;
  const waits = { active: 0, lock: 0, lwlock: 0, io: 0 };
  const sample = async () => {
    const rows = (await client.query<{ pid: number; state: string | null; wait: string | null }>(
      `select pid, state, wait_event_type as wait from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [dbName])).rows;
    for (const { pid, state, wait } of rows) {
      const c = cpuOf(pid);
      const s = seen.get(pid);
      if (s) s.last = c;
      else seen.set(pid, { first: initial ? c : 0, last: c }); // a backend opened during the phase counts from zero
      if (state === 'active') {
        waits.active++;
        if (wait === 'Lock') waits.lock++;
        else if (wait === 'LWLock') waits.lwlock++;
        else if (wait === 'IO') waits.io++;
      }
    }
    initial = false;
  };
  const ready = client.connect().then(sample);
  const loop = (async () => {
    await ready;
    while (!stopped) {
      await sleep(250);
      await sample().catch(() => {});
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      await sample().catch(() => {});
      await client.end();
      let total = 0;
      for (const s of seen.values()) total += s.last - s.first;
      return total;
    },
    /** Of the active-backend samples, the share waiting on a lock, an LWLock, I/O. */
    waits(): string {
      const pct = (n: number) => `${waits.active ? ((100 * n) / waits.active).toFixed(1) : '0.0'}%`;
      return `${pct(waits.lock)} Lock, ${pct(waits.lwlock)} LWLock, ${pct(waits.io)} IO of ${fmt(waits.active)} active-backend samples`;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the fake BambooHR, one page at a time

const FULL_LISTING = `status in ('Active','Inactive')`;

/** Employee i of the bench company as a BambooHR `employee` dataset row (numeric eeid, as BambooHR's). */
function bamboohrRow(i: number, changed: boolean): BamboohrRow {
  const r = makeRow(i, changed);
  const active = r.status === 'active';
  const manager = r.managerId ? Number(r.managerId.slice(1)) : null;
  const m = manager === null ? null : makeRow(manager, changed);
  return {
    fields: {
      eeid: String(i), employeeNumber: String(100_000 + i), firstName: r.firstName, lastName: r.lastName, preferredName: null, email: r.email,
      status: active ? 'Active' : 'Inactive', employmentStatus: active ? 'Full-Time' : 'Terminated', hireDate: r.startDate,
      terminationDate: r.endDate || '0000-00-00', jobInformationJobTitle: r.jobTitle, jobInformationDepartment: r.department,
      jobInformationDivision: r.costCenter, jobInformationLocation: r.location, jobInformationReportsTo: m ? `${m.firstName} ${m.lastName}` : null,
      supervisorEid: manager === null ? null : String(manager), lastChanged: '2025-01-15T10:00:00+00:00',
    },
  };
}

/**
 * The fake BambooHR of test/fakes answering for a company of `n` employees without holding them:
 * for a full listing (the connector's filter, ordered by eeid) it is given the requested page's
 * rows, rendered on the spot, and answers with its own logic (auth, validation, filter, order,
 * field projection) as for a one-page company; the page number, the totals and the links are then
 * those of the whole company. (The fake filters and sorts its whole row list on every request:
 * 1,000 pages × 1,000,000 rows would be the fake's time, not the sync's.) Any other request is
 * refused: this fake serves full listings only.
 */
class LazyBamboohr extends FakeBamboohr {
  changed = false;

  constructor(private readonly n: number) {
    super({ companyDomain: BAMBOOHR.companyDomain, apiKey: BAMBOOHR.apiKey, rows: [] });
  }

  protected override handle(req: FakeRequest): FakeReply {
    const body = (req.body ?? {}) as { filter?: unknown; orderBy?: unknown; page?: unknown; pageSize?: unknown };
    const page = body.page === undefined ? 1 : Number(body.page);
    const pageSize = body.pageSize === undefined ? 100 : Number(body.pageSize);
    const fullListing = req.path === this.datasetPath && body.filter === FULL_LISTING && body.orderBy === 'eeid asc'
      && Number.isInteger(page) && page >= 1 && Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 1000;
    if (!fullListing) {
      this.rows = [];
      const reply = super.handle(req);
      return reply.status === 200 ? { status: 400, body: { title: 'the scale bench fake serves full listings only', status: 400 } } : reply;
    }
    const from = (page - 1) * pageSize;
    this.rows = [];
    for (let i = from + 1; i <= Math.min(this.n, from + pageSize); i++) this.rows.push(bamboohrRow(i, this.changed));
    const reply = super.handle({ ...req, body: { ...body, page: 1 } });
    if (reply.status !== 200) return reply;
    const totalPages = Math.ceil(this.n / pageSize);
    const self = `${this.url}${this.datasetPath}`;
    const out = reply.body as { links: Record<string, string>; meta: Record<string, number> };
    out.meta = { page, pageSize, totalPages, totalItems: this.n };
    out.links = {
      ...(page < totalPages ? { next: `${self}?page=${page + 1}&pageSize=${pageSize}` } : {}),
      ...(page > 1 ? { prev: `${self}?page=${page - 1}&pageSize=${pageSize}` } : {}),
    };
    this.rows = [];
    return reply;
  }

  /** The node:http server underneath, to time requests from arrival to the last byte. */
  get httpServer(): Server {
    return (this as unknown as { server: Server }).server;
  }
}

// ---------------------------------------------------------------------------------------------
// results

interface BigRow {
  connector: string;
  n: number;
  phase: string;
  /** `hrsync sync` from spawn to exit */
  seconds: number;
  /** the run record's startedAt → finishedAt */
  runSeconds: number;
  peakRssMb: number;
  cpuSeconds: number;
  pgCpuSeconds: number;
  counts: string;
  note: string;
  load: string;
}

interface OrgsRow {
  path: string;
  orgs: number;
  phase: string;
  runs: number;
  seconds: number;
  perRun: string;
  peakRssMb: number;
  cpuSeconds: number;
  pgCpuSeconds: number;
  note: string;
  load: string;
}

interface WorkerRow {
  workers: number;
  messages: number;
  /** the rollout's startedAt → finishedAt (database clock) */
  seconds: number;
  /** first → last message recorded sent */
  sendingSeconds: number;
  ratio: number | null;
  peakRssMb: number[];
  workerCpuSeconds: number[];
  pgCpuSeconds: number;
  pgWaits: string;
  sinkCpuSeconds: number;
  load: string;
  verified: string;
}

const countsLine = (c: Record<string, number>) => Object.entries(c).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ');

function expectRun(run: SyncRunRecord, what: string, want: Record<string, number>): void {
  if (run.status !== 'succeeded') throw new Error(`${what}: run ended ${run.status}: ${run.error ?? run.heldReason ?? ''}`);
  const c = run.counts as unknown as Record<string, number>;
  const wrong = Object.entries(want).filter(([k, v]) => c[k] !== v);
  if (wrong.length > 0) throw new Error(`${what}: counts ${JSON.stringify(run.counts)}; expected ${JSON.stringify(want)}`);
}

// ---------------------------------------------------------------------------------------------
// 1. one big organization

async function bigOrg(tree: BuiltTree, dir: string, rows: BigRow[]): Promise<void> {
  const n = BIG_N;
  const sub = join(dir, 'big');
  mkdirSync(sub, { recursive: true });
  log(`big: expected counts and exports for ${fmt(n)} employees …`);
  const want = expectedCounts(n);
  const exportPath = join(sub, 'export.csv');
  const originalPath = join(sub, 'export-original.csv');
  const changedPath = join(sub, 'export-changed.csv');
  if (CONNECTORS.includes('file')) {
    await writeExport(originalPath, n, false);
    await writeExport(changedPath, n, true);
  }
  const phases: Array<{ phase: string; changed: boolean; want: Record<string, number> }> = [
    { phase: 'initial sync', changed: false, want: { seen: n, created: want.active, skipped: n - want.active, rejected: 0 } },
    { phase: 'unchanged re-sync', changed: false, want: { seen: n, created: 0, updated: 0, unchanged: want.active, deactivated: 0 } },
    { phase: '1% changed re-sync', changed: true, want: { seen: n, created: 0, updated: want.updated + want.terminated, unchanged: want.active - want.updated - want.terminated, deactivated: want.terminated } },
  ];

  for (const type of CONNECTORS) {
    const dbName = `hrsync_bench_scale_${stamp}_big_${type}`;
    databases.add(dbName);
    const id = `big-${type}`;
    let fake: LazyBamboohr | null = null;
    let serverMs = 0;
    if (type === 'bamboohr') {
      fake = new LazyBamboohr(n);
      await fake.start();
      fake.httpServer.on('request', (_req: IncomingMessage, res) => {
        const t0 = performance.now();
        res.on('close', () => (serverMs += performance.now() - t0));
      });
    }
    const connector = type === 'file'
      ? { id, type, options: { path: exportPath }, mapping: MAPPING }
      : { id, type, options: { companyDomain: BAMBOOHR.companyDomain, apiKey: '${BENCH_BAMBOOHR_API_KEY}', baseUrl: fake!.url, pageSize: BAMBOOHR.pageSize },
        mapping: { location: 'location', group: 'department', attributes: { costCenter: 'division' } } };
    const configPath = join(sub, `hrsync-${type}.config.yaml`);
    writeFileSync(configPath, stringify({ organizations: [{ id, name: `Big ${type}`, connectors: [connector] }] }));
    const env = { HRSYNC_CONFIG: configPath, DATABASE_URL: dbUrl(dbName), BENCH_BAMBOOHR_API_KEY: BAMBOOHR.apiKey };
    try {
      await hrsync(tree, ['migrate'], env);
      for (const p of phases) {
        if (type === 'file') copyFileSync(p.changed ? changedPath : originalPath, exportPath);
        if (fake) fake.changed = p.changed;
        const requests0 = fake?.count ?? 0;
        serverMs = 0;
        const cpu0 = process.cpuUsage();
        const load0 = loadavg()[0]!.toFixed(2);
        log(`big: ${type} ${fmt(n)}: ${p.phase} …`);
        const pgCpu = pgCpuTracker(dbName);
        const proc = start(tree.bin, ['sync', id, '--json'], env);
        const progress = setInterval(() => log(`  … ${p.phase}: RSS ${rssOf(proc.pid).toFixed(0)} MB, load ${loadavg()[0]!.toFixed(2)}`), 30_000);
        const r = await proc.done.finally(() => clearInterval(progress));
        const pgCpuSeconds = await pgCpu.stop();
        if (r.code !== 0) throw new Error(`hrsync sync ${id} exited ${r.code}: ${proc.stderr().slice(-1500)}${proc.stdout().slice(0, 1500)}`);
        const run = JSON.parse(proc.stdout()) as SyncRunRecord;
        expectRun(run, `${type} ${p.phase}`, p.want);
        const cpu = process.cpuUsage(cpu0);
        const note = fake
          ? `${fake.count - requests0} requests; the fake BambooHR (this bench's process): CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, busy ${(serverMs / 1000).toFixed(1)} s`
          : '';
        const row: BigRow = {
          connector: type === 'file' ? 'file (CSV)' : 'BambooHR (HTTP)', n, phase: p.phase, seconds: r.seconds,
          runSeconds: (new Date(run.finishedAt!).getTime() - new Date(run.startedAt).getTime()) / 1000,
          peakRssMb: r.peakRssMb, cpuSeconds: r.cpuSeconds, pgCpuSeconds, counts: countsLine(run.counts as unknown as Record<string, number>), note,
          load: `${load0} → ${loadavg()[0]!.toFixed(2)}`,
        };
        rows.push(row);
        log(`  ${p.phase}: ${row.seconds.toFixed(1)} s (run ${row.runSeconds.toFixed(1)} s), ${fmt(n / row.seconds)} rows/s, peak RSS ${row.peakRssMb.toFixed(0)} MB, CPU ${row.cpuSeconds.toFixed(1)} s, PostgreSQL CPU ${pgCpuSeconds.toFixed(1)} s${note ? `; ${note}` : ''}`);
      }
    } finally {
      await fake?.stop();
      await dropDatabase(dbName);
    }
  }
  rmSync(sub, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 2. many small organizations

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

function perRunLine(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const tenth = Math.max(1, Math.floor(ms.length / 10));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return `p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p95 ${percentile(sorted, 0.95).toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms; ` +
    `first ${tenth} runs ${mean(ms.slice(0, tenth)).toFixed(0)} ms, last ${tenth} ${mean(ms.slice(-tenth)).toFixed(0)} ms`;
}

async function waitForRuns(dbName: string, total: number, label: string, timeoutMs: number): Promise<Record<string, number>> {
  const end = Date.now() + timeoutMs;
  let lastLog = Date.now();
  for (;;) {
    const rows = await adminQuery<{ status: string; n: number }>(`select status, count(*)::int as n from sync_runs where not dry_run group by status`, [], dbUrl(dbName));
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
    const finished = Object.entries(by).filter(([s]) => s !== 'queued' && s !== 'running').reduce((a, [, v]) => a + v, 0);
    if (finished >= total) return by;
    if (Date.now() > end) throw new Error(`${label}: ${finished} of ${total} runs finished after ${timeoutMs / 1000} s: ${JSON.stringify(by)}`);
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      log(`  … ${label}: ${finished} of ${total} runs finished`);
    }
    await sleep(100);
  }
}

async function manyOrgs(tree: BuiltTree, dir: string, rows: OrgsRow[]): Promise<void> {
  const sub = join(dir, 'orgs');
  mkdirSync(sub, { recursive: true });
  const want = expectedCounts(ORG_SIZE);
  const ids = Array.from({ length: ORGS }, (_, k) => `o${String(k + 1).padStart(4, '0')}`);
  log(`orgs: ${fmt(ORGS)} organizations × ${ORG_SIZE} employees: writing exports …`);
  await writeExport(join(sub, 'template.csv'), ORG_SIZE, false);
  for (const id of ids) copyFileSync(join(sub, 'template.csv'), join(sub, `${id}.csv`));
  const configPath = join(sub, 'hrsync.config.yaml');
  writeFileSync(configPath, stringify({
    organizations: ids.map((id) => ({ id, name: `Organization ${id}`, connectors: [{ id: `${id}-hr`, type: 'file', options: { path: join(sub, `${id}.csv`) }, mapping: MAPPING }] })),
  }));
  const row = (r: Omit<OrgsRow, 'orgs' | 'load'>, load0: string) => {
    const full: OrgsRow = { ...r, orgs: ORGS, load: `${load0} → ${loadavg()[0]!.toFixed(2)}` };
    rows.push(full);
    log(`  ${r.path}, ${r.phase}: ${r.runs} runs in ${r.seconds.toFixed(1)} s (${(r.runs / r.seconds).toFixed(1)} runs/s), peak RSS ${r.peakRssMb.toFixed(0)} MB; ${r.perRun}${r.note ? `; ${r.note}` : ''}`);
  };

  // --- the engine, sequentially, in one process; then a sample through the CLI -----------------
  {
    const dbName = `hrsync_bench_scale_${stamp}_orgs_engine`;
    databases.add(dbName);
    const env = { HRSYNC_CONFIG: configPath, DATABASE_URL: dbUrl(dbName) };
    const script = join(tree.dir, 'sync-all.mjs');
    try {
      await hrsync(tree, ['migrate'], env);
      for (const phase of ['initial sync', 'unchanged re-sync']) {
        log(`orgs: engine, one process, ${phase} of ${ORGS} connectors …`);
        const load0 = loadavg()[0]!.toFixed(2);
        const pgCpu = pgCpuTracker(dbName);
        const p = start(script, [], env);
        const r = await p.done;
        const pgCpuSeconds = await pgCpu.stop();
        if (r.code !== 0) throw new Error(`sync-all exited ${r.code}: ${p.stderr().slice(-1500)}`);
        const out = JSON.parse(p.stdout()) as { runs: number; seconds: number; statuses: Record<string, number>; counts: Record<string, number>; ms: number[] };
        const per = phase === 'initial sync' ? { created: want.active * ORGS, skipped: (ORG_SIZE - want.active) * ORGS } : { unchanged: want.active * ORGS, created: 0, updated: 0 };
        if (out.statuses.succeeded !== ORGS || Object.entries(per).some(([k, v]) => (out.counts[k] ?? 0) !== v)) {
          throw new Error(`orgs engine ${phase}: ${JSON.stringify(out.statuses)} ${JSON.stringify(out.counts)}; expected ${JSON.stringify(per)}`);
        }
        row({ path: 'engine, one process, connectors in turn', phase, runs: out.runs, seconds: out.seconds, perRun: perRunLine(out.ms), peakRssMb: r.peakRssMb, cpuSeconds: r.cpuSeconds, pgCpuSeconds,
          note: `process ${r.seconds.toFixed(1)} s with start and shutdown; ${countsLine(out.counts)}` }, load0);
      }
      log(`orgs: CLI, one \`hrsync sync <id> --json\` process per run, ${CLI_SAMPLE} connectors …`);
      const load0 = loadavg()[0]!.toFixed(2);
      const pgCpu = pgCpuTracker(dbName);
      const ms: number[] = [];
      let peak = 0;
      let cpu = 0;
      const t0 = performance.now();
      for (let k = 0; k < CLI_SAMPLE; k++) {
        const id = ids[Math.floor((k * ORGS) / CLI_SAMPLE)]!;
        const r = await hrsync(tree, ['sync', `${id}-hr`, '--json'], env);
        expectRun(JSON.parse(r.stdout) as SyncRunRecord, `CLI sync ${id}`, { unchanged: want.active, created: 0, updated: 0 });
        ms.push(r.seconds * 1000);
        peak = Math.max(peak, r.peakRssMb);
        cpu += r.cpuSeconds;
      }
      const seconds = (performance.now() - t0) / 1000;
      row({ path: 'CLI, one process per run (a sample)', phase: 'unchanged re-sync', runs: CLI_SAMPLE, seconds, perRun: perRunLine(ms), peakRssMb: peak, cpuSeconds: cpu,
        pgCpuSeconds: await pgCpu.stop(), note: `${ORGS} runs this way would take about ${fmt((seconds / CLI_SAMPLE) * ORGS)} s` }, load0);
    } finally {
      await dropDatabase(dbName);
    }
  }

  // --- the sync queue: a scheduler queues every first sync, worker processes run them ---------
  {
    const dbName = `hrsync_bench_scale_${stamp}_orgs_queue`;
    databases.add(dbName);
    const prefix = `{hrsync-bench-scale-${randomBytes(4).toString('hex')}}`;
    const env = { HRSYNC_CONFIG: configPath, DATABASE_URL: dbUrl(dbName), REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix };
    const workers: Proc[] = [];
    let ctx: AppContext | null = null;
    try {
      await hrsync(tree, ['migrate'], env);
      for (let k = 0; k < SYNC_WORKERS; k++) workers.push(start(tree.bin, ['start', '--role', 'worker'], env));
      await Promise.all(workers.map((w) => w.waitForStderr('hrsync worker is running')));
      const cpu0 = workers.map((w) => cpuOf(w.pid));

      log(`orgs: queue, ${SYNC_WORKERS} worker processes; a scheduler process queues the first sync of ${ORGS} connectors …`);
      let load0 = loadavg()[0]!.toFixed(2);
      let pgCpu = pgCpuTracker(dbName);
      let t0 = performance.now();
      const scheduler = start(tree.bin, ['start', '--role', 'scheduler'], env);
      await scheduler.waitForStderr('hrsync scheduler is running', 600_000);
      const queuedIn = (performance.now() - t0) / 1000;
      let by = await waitForRuns(dbName, ORGS, 'first syncs', 3_600_000);
      let seconds = (performance.now() - t0) / 1000;
      scheduler.kill('SIGTERM');
      const s = await scheduler.done;
      if ((by.succeeded ?? 0) !== ORGS) throw new Error(`queued first syncs: ${JSON.stringify(by)}`);
      const users = (await adminQuery<{ n: number }>(`select count(*)::int as n from users`, [], dbUrl(dbName)))[0]!.n;
      if (users !== want.active * ORGS) throw new Error(`queued first syncs: ${users} users, expected ${want.active * ORGS}`);
      const perRunMs = async () => (await adminQuery<{ ms: number }>(`select extract(epoch from finished_at - started_at) * 1000 as ms from sync_runs where status = 'succeeded' order by started_at`, [], dbUrl(dbName))).map((r) => Number(r.ms));
      let ms = await perRunMs();
      row({ path: `queue: scheduler + ${SYNC_WORKERS} worker processes`, phase: 'initial sync (first syncs queued by the scheduler)', runs: ORGS, seconds,
        perRun: `run time ${perRunLine(ms)}`, peakRssMb: s.peakRssMb, cpuSeconds: s.cpuSeconds, pgCpuSeconds: await pgCpu.stop(),
        note: `the scheduler queued them in ${queuedIn.toFixed(1)} s (its peak RSS and CPU in those columns); ${users} users; PostgreSQL waits: ${pgCpu.waits()}` }, load0);

      log(`orgs: queue, every connector again (${ORGS} jobs enqueued at once) …`);
      ctx = await createContext({ env: { ...env, LOG_LEVEL: 'silent' }, log: silentLogger });
      load0 = loadavg()[0]!.toFixed(2);
      pgCpu = pgCpuTracker(dbName);
      t0 = performance.now();
      for (const id of ids) await enqueueSync(ctx.em(), ctx.queues().sync, { connectorId: `${id}-hr`, trigger: 'api' });
      const enqueuedIn = (performance.now() - t0) / 1000;
      by = await waitForRuns(dbName, 2 * ORGS, 're-syncs', 3_600_000);
      seconds = (performance.now() - t0) / 1000;
      if ((by.succeeded ?? 0) !== 2 * ORGS) throw new Error(`queued re-syncs: ${JSON.stringify(by)}`);
      ms = (await perRunMs()).slice(ORGS);
      const workerCpu = workers.map((w, k) => cpuOf(w.pid) - cpu0[k]!);
      const ended = await stopAll(workers);
      row({ path: `queue: ${SYNC_WORKERS} worker processes`, phase: 'unchanged re-sync (all enqueued at once)', runs: ORGS, seconds,
        perRun: `run time ${perRunLine(ms)}`, peakRssMb: Math.max(...ended.map((e) => e.peakRssMb)), cpuSeconds: workerCpu.reduce((a, b) => a + b, 0), pgCpuSeconds: await pgCpu.stop(),
        note: `enqueued in ${enqueuedIn.toFixed(1)} s; peak RSS: the larger worker (${ended.map((e) => e.peakRssMb.toFixed(0)).join(', ')} MB), over both phases; CPU: the workers over both phases; PostgreSQL waits: ${pgCpu.waits()}` }, load0);
    } finally {
      await stopAll(workers);
      await ctx?.close();
      await deletePrefix(REDIS_URL, prefix).catch(() => -1);
      await dropDatabase(dbName);
    }
  }
  rmSync(sub, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 3. worker processes sharing one rollout

async function sharedRollout(tree: BuiltTree, dir: string, rows: WorkerRow[]): Promise<{ populate: string }> {
  const sub = join(dir, 'rollout');
  mkdirSync(sub, { recursive: true });
  const dbName = `hrsync_bench_scale_${stamp}_rollout`;
  databases.add(dbName);
  const url = dbUrl(dbName);
  const prefix = `{hrsync-bench-scale-${randomBytes(4).toString('hex')}}`;
  const n = sizeForActive(ROLLOUT_USERS);
  const org = 'rollout';
  log(`rollout: syncing ${fmt(ROLLOUT_USERS)} users in (an export of ${fmt(n)} rows) …`);
  await writeExport(join(sub, 'employees.csv'), n, false);
  const configPath = join(sub, 'hrsync.config.yaml');
  writeFileSync(configPath, stringify({ organizations: [{ id: org, name: 'Rollout GmbH', connectors: [{ id: 'rollout-hr', type: 'file', options: { path: join(sub, 'employees.csv') }, mapping: MAPPING }] }] }));
  let sink: SmtpSink | null = null;
  const workers: Proc[] = [];
  let populate = '';
  try {
    sink = await startSmtpSink({ parse: false, capture: false });
    const env = {
      HRSYNC_CONFIG: configPath, DATABASE_URL: url, REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, SMTP_URL: sink.url,
      MAIL_FROM: 'Acme Workplace <no-reply@acme-corp.example>', APP_URL: 'https://workplace.acme-corp.example', INVITE_RATE_PER_SECOND: String(RATE_PER_SECOND),
    };
    await hrsync(tree, ['migrate'], env);
    const synced = await hrsync(tree, ['sync', 'rollout-hr', '--json'], env);
    const run = JSON.parse(synced.stdout) as SyncRunRecord;
    expectRun(run, 'rollout population', { created: ROLLOUT_USERS });
    populate = `${fmt(ROLLOUT_USERS)} users synced in by \`hrsync sync\` in ${synced.seconds.toFixed(1)} s (peak RSS ${synced.peakRssMb.toFixed(0)} MB)`;
    log(`  ${populate}`);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      let base: number | null = null;
      for (const count of WORKER_COUNTS) {
        // The same rollout again: nobody invited, no rollout or invitation left, statistics fresh.
        await db.query(`delete from invitations`);
        await db.query(`delete from rollouts`);
        await db.query(`update users set access = 'none' where access <> 'none'`);
        await db.query(`vacuum analyze users, invitations, rollouts`);
        log(`rollout: ${count} worker process${count > 1 ? 'es' : ''}, ${fmt(ROLLOUT_USERS)} messages …`);
        for (let k = 0; k < count; k++) workers.push(start(tree.bin, ['start', '--role', 'worker'], env));
        await Promise.all(workers.map((w) => w.waitForStderr('hrsync worker is running')));
        const load0 = loadavg()[0]!.toFixed(2);
        const received0 = sink.stats.received;
        const cpu0 = workers.map((w) => cpuOf(w.pid));
        const sinkCpu0 = process.cpuUsage();
        const pgCpu = pgCpuTracker(dbName);
        const created = await hrsync(tree, ['invite', '--org', org, '--filter', 'access=none', '--json'], env);
        const rolloutId = (JSON.parse(created.stdout) as { id: string }).id;
        let lastLog = Date.now();
        let status: { status: string; started_at: Date | null; finished_at: Date | null };
        const deadline = Date.now() + Math.max(600_000, ROLLOUT_USERS * 20);
        for (;;) {
          status = (await db.query(`select status, started_at, finished_at from rollouts where id = $1`, [rolloutId])).rows[0];
          if (status.status !== 'scheduled' && status.status !== 'running') break;
          if (Date.now() > deadline) throw new Error(`rollout ${rolloutId} still ${status.status}`);
          if (Date.now() - lastLog > 15_000) {
            lastLog = Date.now();
            log(`  … ${fmt(sink.stats.received - received0)} received; worker RSS ${workers.map((w) => rssOf(w.pid).toFixed(0)).join(', ')} MB; load ${loadavg()[0]!.toFixed(2)}`);
          }
          await sleep(100);
        }
        const workerCpu = workers.map((w, k) => cpuOf(w.pid) - cpu0[k]!);
        const sinkCpu = process.cpuUsage(sinkCpu0);
        const pgCpuSeconds = await pgCpu.stop();
        if (status.status !== 'completed') throw new Error(`rollout ended ${status.status}`);
        await sleep(500); // nothing may trickle in after completion
        const received = sink.stats.received - received0;
        const check = (await db.query<{ sent: number; users: number; total: number; invited: number; first: Date; last: Date }>(
          `select count(*) filter (where status = 'sent')::int as sent, count(distinct user_id)::int as users, count(*)::int as total,
                  (select count(*)::int from users where access = 'invited') as invited, min(sent_at) as first, max(sent_at) as last
             from invitations where rollout_id = $1`, [rolloutId])).rows[0]!;
        const problems: string[] = [];
        if (received !== ROLLOUT_USERS) problems.push(`the SMTP server received ${received} messages`);
        if (check.sent !== ROLLOUT_USERS || check.total !== ROLLOUT_USERS || check.users !== ROLLOUT_USERS) problems.push(`invitations: ${JSON.stringify(check)}`);
        if (check.invited !== ROLLOUT_USERS) problems.push(`${check.invited} users invited`);
        if (problems.length > 0) throw new Error(`rollout with ${count} workers: ${problems.join('; ')}; expected ${ROLLOUT_USERS}`);
        const ended = await stopAll(workers);
        workers.length = 0;
        const seconds = (new Date(status.finished_at!).getTime() - new Date(status.started_at!).getTime()) / 1000;
        base ??= seconds;
        const r: WorkerRow = {
          workers: count, messages: ROLLOUT_USERS, seconds, sendingSeconds: (new Date(check.last).getTime() - new Date(check.first).getTime()) / 1000,
          ratio: base / seconds, peakRssMb: ended.map((e) => e.peakRssMb), workerCpuSeconds: workerCpu, pgCpuSeconds, pgWaits: pgCpu.waits(),
          sinkCpuSeconds: (sinkCpu.user + sinkCpu.system) / 1e6, load: `${load0} → ${loadavg()[0]!.toFixed(2)}`,
          verified: `the SMTP server received exactly ${fmt(received)}; ${fmt(check.sent)} invitations sent, one per user; ${fmt(check.invited)} users invited`,
        };
        rows.push(r);
        log(`  ${count} worker(s): ${seconds.toFixed(1)} s, ${fmt(ROLLOUT_USERS / seconds)} msg/s (${r.ratio!.toFixed(2)}× 1 worker), peak RSS ${r.peakRssMb.map((x) => x.toFixed(0)).join(', ')} MB, ` +
          `CPU workers ${workerCpu.map((x) => x.toFixed(1)).join(' + ')} s, PostgreSQL ${pgCpuSeconds.toFixed(1)} s (waits: ${r.pgWaits}), SMTP server ${r.sinkCpuSeconds.toFixed(1)} s`);
      }
    } finally {
      await db.end();
    }
  } finally {
    await stopAll(workers);
    await sink?.close();
    await deletePrefix(REDIS_URL, prefix).catch(() => -1);
    await dropDatabase(dbName);
    rmSync(sub, { recursive: true, force: true });
  }
  return { populate };
}

// ---------------------------------------------------------------------------------------------
// the report

function table(head: string[], body: string[][], left: number[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (left.includes(i) ? '---' : '---:'))), ...body.map(line)].join('\n');
}

function bigTable(rows: BigRow[]): string {
  return table(
    ['connector', 'N', 'phase', 'seconds', 'rows/s', 'run s', 'peak RSS MB', 'CPU s', 'PostgreSQL CPU s', 'load (1 min)', 'counts', 'note'],
    rows.map((r) => [r.connector, fmt(r.n), r.phase, r.seconds.toFixed(1), fmt(r.n / r.seconds), r.runSeconds.toFixed(1), r.peakRssMb.toFixed(0), r.cpuSeconds.toFixed(1),
      r.pgCpuSeconds.toFixed(1), r.load, r.counts, r.note]),
    [0, 2, 9, 10, 11],
  );
}

function orgsTable(rows: OrgsRow[]): string {
  return table(
    ['path', 'organizations × employees', 'phase', 'runs', 'seconds', 'runs/s', 'per run', 'peak RSS MB', 'CPU s', 'PostgreSQL CPU s', 'load (1 min)', 'note'],
    rows.map((r) => [r.path, `${fmt(r.orgs)} × ${ORG_SIZE}`, r.phase, fmt(r.runs), r.seconds.toFixed(1), (r.runs / r.seconds).toFixed(1), r.perRun, r.peakRssMb.toFixed(0),
      r.cpuSeconds.toFixed(1), r.pgCpuSeconds.toFixed(1), r.load, r.note]),
    [0, 1, 2, 6, 10, 11],
  );
}

function workerTable(rows: WorkerRow[]): string {
  return table(
    ['worker processes', 'messages', 'seconds (fired → completed)', 'msg/s', 'vs 1 worker', 'first → last sent s', 'peak RSS MB (each)', 'CPU s: workers', 'PostgreSQL', 'SMTP server', 'PostgreSQL waits', 'load (1 min)'],
    rows.map((r) => [String(r.workers), fmt(r.messages), r.seconds.toFixed(1), fmt(r.messages / r.seconds), `${r.ratio!.toFixed(2)}×`, r.sendingSeconds.toFixed(1),
      r.peakRssMb.map((x) => x.toFixed(0)).join(', '), r.workerCpuSeconds.map((x) => x.toFixed(1)).join(' + '), r.pgCpuSeconds.toFixed(1), r.sinkCpuSeconds.toFixed(1), r.pgWaits, r.load]),
    [6, 7, 10, 11],
  );
}

/** Which code ran: the tree, its commit, and the product files with changes not yet committed. */
function treeLine(source: string): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: source, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return `${source} (not a git checkout)`;
  const dirty = git(['status', '--porcelain', '--', 'src', 'jobs', 'connectors', 'bin']).stdout.split('\n').filter(Boolean).map((l) => l.slice(3));
  return `${source === REPO_ROOT ? 'this repository' : source} at ${head.stdout.trim()}${dirty.length ? `, with uncommitted changes in ${dirty.join(', ')}` : ''}`;
}

async function main(): Promise<void> {
  for (const w of WORKER_COUNTS) if (!Number.isInteger(w) || w < 1) throw new Error(`BENCH_WORKERS: not a worker count: ${w}`);
  const started = new Date();
  stamp = String(Date.now());
  const machine = { cpu: cpuModel(), cores: cpus().length, node: process.version, platform: `${process.platform}/${process.arch}`, postgresql: await serverVersion(ADMIN_URL) };
  const loadStart = loadLine();
  log(`hrsync scale bench${QUICK ? ' (quick)' : ''} — ${started.toISOString()}\nmachine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, PostgreSQL ${machine.postgresql}\nload average (1/5/15 min) at start: ${loadStart}`);

  const dir = mkdtempSync(join(tmpdir(), 'hrsync-bench-scale-'));
  RUN_DIR = dir;
  let tree: BuiltTree | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const p of live) p.kill('SIGKILL');
    for (const name of [...databases]) await dropDatabase(name).catch((err) => log(`could not drop ${name}: ${(err as Error).message}`));
    tree?.unlink();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    log('\ninterrupted: stopping processes, dropping the bench databases');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const big: BigRow[] = [];
  const orgs: OrgsRow[] = [];
  const workers: WorkerRow[] = [];
  const loads: Record<string, string> = {};
  let populate = '';
  const t0 = performance.now();
  const outDir = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : QUICK || SOURCE !== REPO_ROOT ? tmpdir() : join(HERE, 'results');
  const base = join(outDir, `scale-${started.toISOString().slice(0, 10)}${QUICK ? '-quick' : ''}`);
  const tree_ = treeLine(SOURCE);
  /** Writes what is measured so far (after each part, so that a failure later keeps it), and at the end. */
  const report = (done: boolean): string => {
    const loadEnd = loadLine();
    const minutes = (performance.now() - t0) / 60_000;
    const cores = `**This machine has ${machine.cores} cores**, shared by everything measured here — the hrsync processes, PostgreSQL, Redis, the SMTP server, the fake BambooHR — and by other engineers' test runs: a load average above ${machine.cores} means work was waiting for a core.`;
    const sections: string[] = [
      `# hrsync scale bench${QUICK ? ' (quick)' : ''} — ${started.toISOString()}${done ? '' : ' (incomplete: written after a part; the run goes on or has failed)'}`,
      `machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node} (${machine.platform}), PostgreSQL ${machine.postgresql} and Redis on 127.0.0.1  \n` +
        `load average (1/5/15 min): ${loadStart} at the start, ${loadEnd} at the ${done ? 'end' : 'time of writing'}${Object.entries(loads).map(([k, v]) => `; after ${k} ${v}`).join('')}  \n` +
        `tree: ${tree_}  \n` +
        `total time: ${minutes.toFixed(0)} min. hrsync ran compiled (tsc build of the tree), as \`node bin/hrsync.js …\` processes; peak RSS is each process's own maximum (resourceUsage().maxRSS at exit).\n\n${cores}`,
    ];
    if (big.length > 0) {
      sections.push(`## One organization of ${fmt(BIG_N)} employees\n\n\`hrsync sync <connector> --json\`, one process per phase, a fresh database per connector. seconds: the command from start to exit; run s: the run record's own start → finish; rows/s over seconds. CPU s: the sync process; PostgreSQL CPU s: the database's backends.\n\n${bigTable(big)}`);
    }
    if (orgs.length > 0) {
      sections.push(`## ${fmt(ORGS)} organizations × ${ORG_SIZE} employees\n\nOne file connector per organization, all in one config. per run: each run's time (engine and queue: the run itself; CLI: the whole process).\n\n${orgsTable(orgs)}`);
    }
    if (workers.length > 0) {
      sections.push(`## Worker processes sharing one rollout of ${fmt(ROLLOUT_USERS)} users\n\n${populate}. \`hrsync start --role worker\` × ${WORKER_COUNTS.join(', ')} (each with the defaults: 4 batch jobs at a time, batches of 250, chunks of 25), send quota ${fmt(RATE_PER_SECOND)}/s (never reached), SMTP server (smtp-server, no parsing) in this bench's process on 127.0.0.1. Between runs: invitations and rollouts deleted, users back to access none, vacuum analyze. seconds: the rollout's startedAt → finishedAt (database clock). Every run verified: the SMTP server received exactly ${fmt(ROLLOUT_USERS)} messages, every invitation \`sent\`, one per user, every user \`invited\`.\n\n` +
        `${workerTable(workers)}\n\n${cores} More worker processes than cores cannot add throughput here; on machines of their own each worker would bring its own cores.`);
    }
    const md = `${sections.join('\n\n')}\n`;
    const json = { started: started.toISOString(), done, quick: QUICK, minutes, machine, tree: tree_, load: { start: loadStart, end: loadEnd, after: loads }, big, orgs, rollout: { users: ROLLOUT_USERS, populate, runs: workers } };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(`${base}.md`, md);
    writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
    return md;
  };
  try {
    log('build: tsc -p tsconfig.build.json into the temp directory …');
    tree = buildTree(join(dir, 'build'), SOURCE);
    writeFileSync(join(dir, 'rusage-hook.mjs'), RUSAGE_HOOK);
    writeFileSync(join(tree.dir, 'sync-all.mjs'), SYNC_ALL);
    if (PARTS.has('big')) {
      await bigOrg(tree, dir, big);
      loads.big = loadLine();
      report(false);
    }
    if (PARTS.has('orgs')) {
      await manyOrgs(tree, dir, orgs);
      loads.orgs = loadLine();
      report(false);
    }
    if (PARTS.has('rollout')) {
      ({ populate } = await sharedRollout(tree, dir, workers));
      loads.rollout = loadLine();
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const md = report(true);
  console.log(md);
  log(`written to ${base}.md and .json`);
}

main().catch(async (err) => {
  console.error(err);
  process.exitCode = 1;
});

