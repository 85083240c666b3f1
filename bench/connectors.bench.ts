/**
 * HTTP connectors benchmark: `npm run bench:connectors` (BENCH_EMPLOYEES=100000 by default).
 *
 * The same N employees are served by each fake vendor (test/fakes) at its real page size and
 * written to a CSV for the file connector. Each source is synced end to end by the sync engine
 * into its own organization of one fresh database (hrsync_bench_conn_<ts>, dropped at the end):
 *
 *   file (baseline) → BambooHR (dataset pages of 1,000) → Personio (100 per page, the vendor's
 *   maximum: 1,000 requests) → HiBob (one id search, then slices of 200) → file again
 *
 * The fake vendors run in a child process (this file with `--serve`), as a real vendor would be
 * elsewhere: their CPU and memory are not the sync's. Reported per source: seconds, rows/s, the
 * ratio to the file connector (the mean of its two runs), peak RSS of this process (sampled
 * every 50 ms), requests made (the connector's count and the server's) against the page count,
 * and the time the fake server spent answering. Targets: ≤ 2× the file connector, peak RSS ≤
 * 300 MB, requests = pages (+ retries).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { stringify } from 'yaml';
import { createBamboohrConnector } from '../connectors/bamboohr/index.js';
import { createHibobConnector } from '../connectors/hibob/index.js';
import type { HttpClient } from '../connectors/http/client.js';
import { createPersonioConnector } from '../connectors/personio/index.js';
import { getConnector } from '../connectors/registry.js';
import type { HrConnector } from '../connectors/types.js';
import { loadConfig } from '../src/config/load.js';
import { openStore, type Orm } from '../src/db/orm.js';
import { silentLogger } from '../src/lib/logger.js';
import type { SyncRunRecord } from '../src/sync/run-record.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import type { BamboohrRow } from '../test/fakes/bamboohr-server.js';
import type { FakeServer } from '../test/fakes/fake-server.js';
import type { HibobPerson } from '../test/fakes/hibob-server.js';
import type { PersonioRow } from '../test/fakes/personio-server.js';
import { DEPARTMENTS, FIRST, LAST, LOCATIONS, mix, pad, TITLES, writeCsvRows } from './lib/hr-export.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number((process.env.BENCH_EMPLOYEES ?? '100000').replace(/_/g, ''));
const WARMUP_N = 3_000;
const PAGE_SIZE = { bamboohr: 1_000, personio: 100, hibob: 200 } as const;
const RATIO_TARGET = 2;
const RSS_TARGET_MB = 300;

type Vendor = keyof typeof PAGE_SIZE;
const VENDORS: Vendor[] = ['bamboohr', 'personio', 'hibob'];
const VENDOR_NAME: Record<Vendor, string> = { bamboohr: 'BambooHR', personio: 'Personio', hibob: 'HiBob' };
/** BENCH_SOURCES=personio,hibob measures only those vendors (the file connector always runs): for profiling. */
const MEASURED: Vendor[] = process.env.BENCH_SOURCES ? VENDORS.filter((v) => process.env.BENCH_SOURCES!.split(',').includes(v)) : VENDORS;
/**
 * BENCH_READ_AHEAD=<rows> (experiment): also measure each vendor with its listing read ahead into a
 * buffer of up to that many employees, so that requests go on while the store works on a batch.
 */
const READ_AHEAD = Number(process.env.BENCH_READ_AHEAD ?? 0);
interface Entry {
  vendor: Vendor;
  readAhead: number;
  org: string;
  label: string;
}
const ENTRIES: Entry[] = MEASURED.flatMap((vendor) => [
  { vendor, readAhead: 0, org: `bench-${vendor}`, label: VENDOR_NAME[vendor] },
  ...(READ_AHEAD > 0 ? [{ vendor, readAhead: READ_AHEAD, org: `bench-${vendor}-ra`, label: `${VENDOR_NAME[vendor]} + read-ahead ${READ_AHEAD} (experiment)` }] : []),
]);

/**
 * The experiment: pull pages from `source` in the background (one request at a time, as before)
 * into a queue bounded by `maxRows` employees; the consumer takes them from the queue. Pages
 * before a failure are delivered, then the failure.
 */
function readAhead<T extends unknown[]>(source: AsyncIterable<T>, maxRows: number): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      const queue: T[] = [];
      let rows = 0;
      let finished = false;
      let failure: { error: unknown } | null = null;
      let stopped = false;
      let wakeConsumer: (() => void) | null = null;
      let wakeProducer: (() => void) | null = null;
      const wake = () => {
        wakeConsumer?.();
        wakeConsumer = null;
      };
      const pump = async () => {
        try {
          while (!stopped) {
            while (rows >= maxRows && !stopped) await new Promise<void>((r) => (wakeProducer = r));
            if (stopped) break;
            const step = await it.next();
            if (step.done) break;
            queue.push(step.value);
            rows += step.value.length;
            wake();
          }
        } catch (error) {
          failure = { error };
        }
        finished = true;
        wake();
      };
      let started = false;
      return {
        async next(): Promise<IteratorResult<T>> {
          if (!started) {
            started = true;
            void pump();
          }
          while (queue.length === 0 && !finished) await new Promise<void>((r) => (wakeConsumer = r));
          const page = queue.shift();
          if (page !== undefined) {
            rows -= page.length;
            wakeProducer?.();
            wakeProducer = null;
            return { value: page, done: false };
          }
          if (failure) {
            const { error } = failure;
            failure = null;
            throw error;
          }
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<T>> {
          stopped = true;
          wakeProducer?.();
          await it.return?.();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
const SECRETS = {
  BENCH_BAMBOOHR_API_KEY: 'bhr-bench-4c1f9e2a7d3b5e60',
  BENCH_PERSONIO_CLIENT_ID: 'papi-bench-client',
  BENCH_PERSONIO_CLIENT_SECRET: 'papi-bench-secret-8d2e4f6a1c3b',
  BENCH_HIBOB_SERVICE_USER_ID: 'SERVICE-BENCH',
  BENCH_HIBOB_TOKEN: 'hbtok_bench_5e4d3c2b1a09',
};

// --- the employees: one deterministic company (bench/lib/hr-export.ts), rendered for each source ---
interface Person {
  id: number;
  email: string;
  first: string;
  last: string;
  title: number;
  dept: number;
  loc: number;
  manager: number | null;
  active: boolean;
  startDate: string;
  endDate: string | null;
}

/** Employee i (1-based): 8 reports per manager, 1.5% former employees still listed. */
function person(i: number): Person {
  const first = FIRST[mix(i, 1) % FIRST.length];
  const last = LAST[mix(i, 2) % LAST.length];
  const active = mix(i, 6) % 1000 >= 15;
  const y = 2005 + (mix(i, 7) % 20);
  const email = `${first}.${last}.${i}@acme-corp.example`.toLowerCase().normalize('NFD').replace(/[^\x20-\x7e]/g, '').replace(/'/g, '');
  return {
    id: i, email, first, last,
    title: mix(i, 5) % TITLES.length, dept: mix(i, 3) % DEPARTMENTS.length, loc: mix(i, 4) % LOCATIONS.length,
    manager: i === 1 ? null : Math.floor((i - 2) / 8) + 1,
    active,
    startDate: `${y}-${pad(1 + (mix(i, 8) % 12), 2)}-${pad(1 + (mix(i, 9) % 28), 2)}`,
    endDate: active ? null : `${y + 1}-${pad(1 + (mix(i, 10) % 12), 2)}-15`,
  };
}

function writeCsv(path: string, n: number): Promise<void> {
  const header = ['employeeId', 'email', 'firstName', 'lastName', 'jobTitle', 'department', 'location', 'managerId', 'status', 'startDate', 'endDate'];
  return writeCsvRows(path, header, n, (i) => {
    const p = person(i);
    return [String(p.id), p.email, p.first, p.last, TITLES[p.title], DEPARTMENTS[p.dept], LOCATIONS[p.loc], p.manager === null ? '' : String(p.manager),
      p.active ? 'active' : 'inactive', p.startDate, p.endDate ?? ''];
  });
}

const fullName = (i: number) => {
  const p = person(i);
  return `${p.first} ${p.last}`;
};

function bamboohrRow(p: Person): BamboohrRow {
  return {
    fields: {
      eeid: String(p.id), employeeNumber: String(10_000 + p.id), firstName: p.first, lastName: p.last, preferredName: null, email: p.email,
      status: p.active ? 'Active' : 'Inactive', employmentStatus: p.active ? 'Full-Time' : 'Terminated', hireDate: p.startDate,
      terminationDate: p.endDate ?? '0000-00-00', jobInformationJobTitle: TITLES[p.title], jobInformationDepartment: DEPARTMENTS[p.dept],
      jobInformationDivision: 'Europe', jobInformationLocation: LOCATIONS[p.loc],
      jobInformationReportsTo: p.manager === null ? null : fullName(p.manager), supervisorEid: p.manager === null ? null : String(p.manager),
      lastChanged: '2025-01-15T10:00:00+00:00',
    },
  };
}

function personioRow(p: Person): PersonioRow {
  const a = (label: string, value: unknown, type = 'standard') => ({ label, value, type });
  return {
    type: 'Employee',
    attributes: {
      id: a('ID', p.id, 'integer'),
      first_name: a('First name', p.first),
      last_name: a('Last name', p.last),
      preferred_name: a('Preferred name', ''),
      email: a('Email', p.email),
      status: a('Status', p.active ? 'active' : 'inactive'),
      position: a('Position', TITLES[p.title]),
      employment_type: a('Employment type', 'internal'),
      supervisor: a('Supervisor', p.manager === null ? null : { type: 'Employee', attributes: { id: a('ID', p.manager, 'integer') } }),
      hire_date: a('Hire date', `${p.startDate}T00:00:00+01:00`, 'date'),
      termination_date: a('Termination date', p.endDate ? `${p.endDate}T00:00:00+02:00` : null, 'date'),
      last_modified_at: a('Last modified', '2025-01-15T10:00:00+01:00', 'date'),
      office: a('Office', { type: 'Office', attributes: { id: 100 + p.loc, name: LOCATIONS[p.loc] } }),
      department: a('Department', { type: 'Department', attributes: { id: 200 + p.dept, name: DEPARTMENTS[p.dept] } }),
      team: a('Team', []),
      subcompany: a('Subcompany', { type: 'Subcompany', attributes: { id: 1, name: 'Acme GmbH' } }),
      cost_centers: a('Cost center', []),
    },
  };
}

function hibobPerson(p: Person): HibobPerson {
  return {
    id: String(p.id), email: p.email, firstName: p.first, surname: p.last, displayName: `${p.first} ${p.last}`,
    work: {
      title: String(183_000_000 + p.title), department: String(209_000_000 + p.dept), site: LOCATIONS[p.loc], siteId: 1_000 + p.loc,
      reportsTo: p.manager === null ? null : { id: String(p.manager), displayName: fullName(p.manager) }, startDate: p.startDate, employeeIdInCompany: p.id,
    },
    internal: { status: p.active ? 'Active' : 'Inactive', lifecycleStatus: p.active ? 'employed' : 'terminated', terminationDate: p.endDate },
    humanReadable: { work: { title: TITLES[p.title], department: DEPARTMENTS[p.dept], site: LOCATIONS[p.loc] }, internal: {} },
  };
}

// --- the fake vendors, in a child process ------------------------------------------------------------
type ToChild = { cmd: 'start'; vendor: Vendor; n: number } | { cmd: 'stats' } | { cmd: 'stop' } | { cmd: 'remove'; every: number };
type FromChild = { ok: true; url?: string; requests?: number; serverMs?: number; rssMb?: number } | { ok: false; error: string };

async function serve(): Promise<void> {
  const { FakeBamboohr } = await import('../test/fakes/bamboohr-server.js');
  const { FakePersonio } = await import('../test/fakes/personio-server.js');
  const { FakeHibob } = await import('../test/fakes/hibob-server.js');
  let fake: FakeServer | null = null;
  let serverMs = 0;
  const reply = (m: FromChild) => process.send!(m);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: ToChild) => {
    void (async () => {
      try {
        if (msg.cmd === 'start') {
          await fake?.stop();
          fake = null;
          const people = Array.from({ length: msg.n }, (_, k) => person(k + 1));
          if (msg.vendor === 'bamboohr') fake = new FakeBamboohr({ companyDomain: 'acme', apiKey: SECRETS.BENCH_BAMBOOHR_API_KEY, rows: people.map(bamboohrRow) });
          else if (msg.vendor === 'personio') fake = new FakePersonio({ clientId: SECRETS.BENCH_PERSONIO_CLIENT_ID, clientSecret: SECRETS.BENCH_PERSONIO_CLIENT_SECRET, rows: people.map(personioRow) });
          else fake = new FakeHibob({ serviceUserId: SECRETS.BENCH_HIBOB_SERVICE_USER_ID, token: SECRETS.BENCH_HIBOB_TOKEN, people: people.map(hibobPerson) });
          const url = await fake.start();
          // Time spent by the fake vendor per request, from the request's arrival to the last byte sent.
          serverMs = 0;
          const server = (fake as unknown as { server: Server }).server;
          server.on('request', (_req, res) => {
            const t0 = performance.now();
            res.on('close', () => (serverMs += performance.now() - t0));
          });
          reply({ ok: true, url });
        } else if (msg.cmd === 'remove') {
          // HR deletes every `every`-th employee (by position): the next full run misses them.
          const keep = <T,>(rows: T[]) => rows.filter((_r, i) => i % msg.every !== msg.every - 1);
          if (fake && 'rows' in fake) (fake as unknown as { rows: unknown[] }).rows = keep((fake as unknown as { rows: unknown[] }).rows);
          else if (fake && 'people' in fake) (fake as unknown as { people: unknown[] }).people = keep((fake as unknown as { people: unknown[] }).people);
          reply({ ok: true });
        } else if (msg.cmd === 'stats') {
          reply({ ok: true, requests: fake?.count ?? 0, serverMs, rssMb: process.memoryUsage.rss() / 1048576 });
        } else {
          await fake?.stop();
          fake = null;
          reply({ ok: true });
        }
      } catch (err) {
        reply({ ok: false, error: String((err as Error)?.stack ?? err) });
      }
    })();
  });
  process.send!({ ok: true });
}

class Vendors {
  private constructor(private readonly child: ChildProcess) {}

  static async spawn(): Promise<Vendors> {
    const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', 'tsx'];
    const child = fork(SELF, ['--serve'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const v = new Vendors(child);
    await v.next();
    return v;
  }

  private next(): Promise<FromChild & { ok: true }> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the fake vendor process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: FromChild) => {
        this.child.off('exit', onExit);
        if (m.ok) resolve(m);
        else reject(new Error(`fake vendor: ${m.error}`));
      });
    });
  }

  async send(msg: ToChild): Promise<FromChild & { ok: true }> {
    const p = this.next();
    this.child.send(msg);
    return p;
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill();
  }
}

// --- measuring -------------------------------------------------------------------------------------
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function machineLine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    /* not Linux */
  }
  return `nproc ${cpus().length}, CPU ${model}, node ${process.version}, ${process.platform}/${process.arch}`;
}

async function measure<T>(fn: () => Promise<T>): Promise<{ seconds: number; startRssMb: number; peakRssMb: number; peakHeapMb: number; value: T }> {
  gc();
  gc();
  const start = process.memoryUsage.rss();
  let peak = start;
  let heap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 50);
  const t0 = process.hrtime.bigint();
  try {
    const value = await fn();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { seconds, startRssMb: start / 1048576, peakRssMb: peak / 1048576, peakHeapMb: heap / 1048576, value };
  } finally {
    clearInterval(timer);
  }
}

interface Result {
  source: string;
  seconds: number;
  /** RSS when the run started (after a GC): what the process holds before any employee is read. */
  startRssMb: number;
  peakRssMb: number;
  peakHeapMb: number;
  run: SyncRunRecord;
  /** HTTP connectors only: the file runs just before and after (mean), the ratio's denominator. */
  baselineSeconds?: number;
  /** The connector's listing drained on its own (no store), against the same fake. */
  listingSeconds?: number;
  pages?: number;
  extra?: number;
  clientRequests?: number;
  retries?: number;
  serverRequests?: number;
  serverSeconds?: number;
}

function pageCount(vendor: Vendor, n: number): { pages: number; extra: number } {
  const pages = Math.max(1, Math.ceil(n / PAGE_SIZE[vendor]));
  return { pages, extra: vendor === 'bamboohr' ? 0 : 1 }; // Personio: the token; HiBob: the id search
}

function expectCounts(run: SyncRunRecord, n: number, active: number): void {
  if (run.status !== 'succeeded') throw new Error(`${run.connectorId}: run ended ${run.status}: ${run.error ?? run.heldReason ?? ''}`);
  const c = run.counts;
  if (c.seen !== n || c.created !== active || c.skipped !== n - active || c.rejected !== 0) {
    throw new Error(`${run.connectorId}: counts ${JSON.stringify(c)}; expected seen ${n}, created ${active}, skipped ${n - active}, rejected 0`);
  }
}

const loadLine = () => loadavg().map((l) => l.toFixed(2)).join(' / ');

// --- the run ---------------------------------------------------------------------------------------
async function main(): Promise<void> {
  if (!Number.isInteger(N) || N < 1) throw new Error(`BENCH_EMPLOYEES must be a positive integer, got ${process.env.BENCH_EMPLOYEES}`);
  const machine = machineLine();
  const started = new Date();
  const loadBefore = loadLine();
  console.log(`hrsync connectors bench — ${started.toISOString()}\nmachine: ${machine}\nemployees: ${N.toLocaleString('en')} per source\nload average (1/5/15 min) at start: ${loadBefore}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'hrsync-bench-conn-'));
  const dbName = `hrsync_bench_conn_${Date.now()}`;
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  let orm: Orm | null = null;
  let vendors: Vendors | null = null;
  const cleanup = async () => {
    vendors?.close();
    vendors = null;
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

  const results: Result[] = [];
  const confirmations: Confirmation[] = [];
  let active = 0;
  let pgVersion = '';
  try {
    for (let i = 1; i <= N; i++) if (person(i).active) active++;
    process.stderr.write('writing the CSV export …\n');
    await writeCsv(join(dir, 'employees.csv'), N);
    await writeCsv(join(dir, 'warmup.csv'), WARMUP_N);
    vendors = await Vendors.spawn();

    // Connector options as in a config file (secrets as ${ENV} references), and resolved (listing alone).
    const options: Record<Vendor, (baseUrl: string) => Record<string, unknown>> = {
      bamboohr: (baseUrl) => ({ companyDomain: 'acme', apiKey: '${BENCH_BAMBOOHR_API_KEY}', baseUrl, pageSize: PAGE_SIZE.bamboohr }),
      personio: (baseUrl) => ({ clientId: '${BENCH_PERSONIO_CLIENT_ID}', clientSecret: '${BENCH_PERSONIO_CLIENT_SECRET}', baseUrl, pageSize: PAGE_SIZE.personio }),
      hibob: (baseUrl) => ({ serviceUserId: '${BENCH_HIBOB_SERVICE_USER_ID}', token: '${BENCH_HIBOB_TOKEN}', baseUrl, pageSize: PAGE_SIZE.hibob }),
    };
    const resolved = (v: Vendor, baseUrl: string) =>
      Object.fromEntries(Object.entries(options[v](baseUrl)).map(([k, val]) => [k, typeof val === 'string' ? val.replace(/\$\{(\w+)\}/g, (_m, name: string) => SECRETS[name as keyof typeof SECRETS]) : val]));

    // One organization per measured run: every run is an initial sync of N employees.
    const fileOrgs = Array.from({ length: ENTRIES.length + 1 }, (_, k) => `bench-file-${k + 1}`);
    const mapping = { location: 'location', group: 'department' };
    const configFor = (urls: Partial<Record<Vendor, string>>) => {
      const orgs: unknown[] = [];
      const addOrg = (id: string, type: string, opts: Record<string, unknown>) =>
        orgs.push({ id, name: id, connectors: [{ id: `${id}-${type}`, type, options: opts, mapping }] });
      for (const org of fileOrgs) addOrg(org, 'file', { path: join(dir, 'employees.csv') });
      addOrg('warmup-file', 'file', { path: join(dir, 'warmup.csv') });
      // A vendor's URL is known once its fake is up; until then its connector points nowhere.
      for (const v of VENDORS) {
        const url = urls[v] ?? 'http://127.0.0.1:9';
        addOrg(`bench-${v}`, v, options[v](url));
        addOrg(`bench-${v}-ra`, v, options[v](url));
        addOrg(`warmup-${v}`, v, options[v](url));
      }
      const path = join(dir, 'hrsync.config.yaml');
      writeFileSync(path, stringify({ organizations: orgs }));
      return loadConfig({ HRSYNC_CONFIG: path, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...SECRETS }, dir);
    };

    orm = await openStore(databaseUrl);
    let clients: HttpClient[] = [];
    const deps = { onClient: (c: HttpClient) => clients.push(c) };
    const connectors: Record<Vendor, HrConnector<any>> = {
      bamboohr: createBamboohrConnector(deps),
      personio: createPersonioConnector(deps),
      hibob: createHibobConnector(deps),
    };
    // Time spent in confirmations (look-ups by id of the users absent from a listing).
    let lookupMs = 0;
    const timed = (c: HrConnector<any>): HrConnector<any> => ({
      ...c,
      lookupEmployees: c.lookupEmployees
        ? async (config, ids, ctx) => {
            const t0 = performance.now();
            try {
              return await c.lookupEmployees!(config, ids, ctx);
            } finally {
              lookupMs += performance.now() - t0;
            }
          }
        : undefined,
    });
    const withReadAhead = (c: HrConnector<any>, maxRows: number): HrConnector<any> =>
      timed(maxRows > 0 ? { ...c, listEmployees: (config, ctx) => readAhead(c.listEmployees(config, ctx), maxRows) } : c);
    const engineFor = (urls: Partial<Record<Vendor, string>>, maxRows = 0) =>
      new SyncEngine({
        orm: orm!, config: configFor(urls), log: silentLogger,
        resolveConnector: (type) => (type in connectors ? withReadAhead(connectors[type as Vendor], maxRows) : getConnector(type)),
      });

    // Warm-up (JIT, pools, catalog caches), not reported: every source once on a small company.
    process.stderr.write(`warm-up on ${WARMUP_N.toLocaleString('en')} employees …\n`);
    await engineFor({}).run({ connectorId: 'warmup-file-file' });
    for (const v of VENDORS) {
      const { url } = await vendors.send({ cmd: 'start', vendor: v, n: WARMUP_N });
      const run = await engineFor({ [v]: url }).run({ connectorId: `warmup-${v}-${v}` });
      if (run.status !== 'succeeded') throw new Error(`warm-up ${v}: ${run.status} ${run.error}`);
    }

    const fileRun = async (k: number): Promise<Result> => {
      const label = `file (CSV) #${k + 1}`;
      const m = await measure(() => engineFor({}).run({ connectorId: `${fileOrgs[k]}-file` }));
      expectCounts(m.value, N, active);
      const r: Result = { source: label, seconds: m.seconds, startRssMb: m.startRssMb, peakRssMb: m.peakRssMb, peakHeapMb: m.peakHeapMb, run: m.value };
      results.push(r);
      process.stderr.write(`  ${label}: ${m.seconds.toFixed(2)} s, RSS ${m.startRssMb.toFixed(0)} → peak ${m.peakRssMb.toFixed(0)} MB\n`);
      return r;
    };

    // file, vendor, file, vendor, …, file: each vendor is compared with the file runs around it,
    // so that a drift of the machine (other load, a growing database) hits both sides alike.
    process.stderr.write(`measuring (${N.toLocaleString('en')} employees each) …\n`);
    let before = await fileRun(0);
    for (const [k, entry] of ENTRIES.entries()) {
      const v = entry.vendor;
      process.stderr.write(`  starting the fake ${VENDOR_NAME[v]} …\n`);
      const url = (await vendors.send({ cmd: 'start', vendor: v, n: N })).url;
      if (!url) throw new Error(`the fake ${VENDOR_NAME[v]} did not say where it listens`);

      // The listing alone: what the connector costs without the store.
      const listing = await measure(async () => {
        const ctx = { log: silentLogger, since: null, includeInactive: true, reject: () => {} };
        let n = 0;
        for await (const page of connectors[v].listEmployees(connectors[v].configSchema.parse(resolved(v, url)), ctx)) n += page.length;
        return n;
      });
      if (listing.value !== N) throw new Error(`${VENDOR_NAME[v]} listing alone: ${listing.value} employees, expected ${N}`);
      const s0 = await vendors.send({ cmd: 'stats' });

      const engine = engineFor({ [v]: url }, entry.readAhead);
      clients = [];
      const m = await measure(() => engine.run({ connectorId: `${entry.org}-${v}` }));
      expectCounts(m.value, N, active);
      const s1 = await vendors.send({ cmd: 'stats' });
      if (entry.readAhead === 0) {
        // Confirmations: a re-sync with nobody missing, then one with 1 % of the company gone.
        for (const [label, every] of [['none missing', 0], ['1 % missing', 100]] as const) {
          if (every > 0) await vendors.send({ cmd: 'remove', every });
          clients = [];
          lookupMs = 0;
          const c = await measure(() => engine.run({ connectorId: `${entry.org}-${v}` }));
          if (c.value.status !== 'succeeded') throw new Error(`${VENDOR_NAME[v]} re-sync (${label}): ${c.value.status} ${c.value.error ?? c.value.heldReason ?? ''}`);
          const listingClient = clients[0];
          const lookupRequests = clients.slice(1).reduce((n, x) => n + x.stats.requests, 0);
          confirmations.push({
            vendor: VENDOR_NAME[v], label, missing: c.value.counts.deactivated + c.value.counts.confirmedPresent, lookupRequests,
            listingRequests: listingClient.stats.requests, lookupSeconds: lookupMs / 1000, runSeconds: c.seconds,
          });
          process.stderr.write(`  ${VENDOR_NAME[v]} re-sync, ${label}: ${c.seconds.toFixed(2)} s, ${lookupRequests} look-up requests (listing ${listingClient.stats.requests}), look-ups ${(lookupMs / 1000).toFixed(2)} s\n`);
        }
      }
      await vendors.send({ cmd: 'stop' });
      const { pages, extra } = pageCount(v, N);
      const stats = clients[0].stats;
      const r: Result = {
        source: entry.label, seconds: m.seconds, startRssMb: m.startRssMb, peakRssMb: m.peakRssMb, peakHeapMb: m.peakHeapMb, run: m.value, pages, extra,
        listingSeconds: listing.seconds, clientRequests: stats.requests, retries: stats.retries,
        serverRequests: (s1.requests ?? 0) - (s0.requests ?? 0), serverSeconds: ((s1.serverMs ?? 0) - (s0.serverMs ?? 0)) / 1000,
      };
      process.stderr.write(`  ${entry.label}: ${m.seconds.toFixed(2)} s (listing alone ${listing.seconds.toFixed(2)} s), RSS ${m.startRssMb.toFixed(0)} → peak ${m.peakRssMb.toFixed(0)} MB, ` +
        `${stats.requests} requests (${pages} pages + ${extra}, ${stats.retries} retries), fake server busy ${r.serverSeconds!.toFixed(2)} s\n`);
      const after = await fileRun(k + 1);
      r.baselineSeconds = (before.seconds + after.seconds) / 2;
      results.splice(results.length - 1, 0, r);
      before = after;
    }
    pgVersion = (await orm.em.fork().getConnection().execute<Array<{ server_version: string }>>(`show server_version`))[0]?.server_version ?? '';
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const loadAfter = loadLine();
  const table = `${formatTable(results)}\n\n${formatConfirmations(confirmations)}`;
  const summary = verdicts(results);
  console.log(`${table}\n\n${summary}\n\nload average (1/5/15 min) at the end: ${loadAfter}`);
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `connectors-${started.toISOString().slice(0, 10)}.md`);
  writeFileSync(
    file,
    `# hrsync connectors bench — ${started.toISOString()}\n\nmachine: ${machine}  \n` +
      `load average (1/5/15 min): ${loadBefore} at the start, ${loadAfter} at the end  \n` +
      `employees: ${N.toLocaleString('en')} per source (${active.toLocaleString('en')} active, the rest former employees: skipped)  \n` +
      `database: PostgreSQL ${pgVersion} on 127.0.0.1, one fresh database per bench run, one organization per run (each an initial sync)  \n` +
      `fake vendors: test/fakes in a child process; page sizes BambooHR ${PAGE_SIZE.bamboohr}, Personio ${PAGE_SIZE.personio}, HiBob ${PAGE_SIZE.hibob}\n\n` +
      `${table}\n\n${summary}\n`,
  );
  console.log(`\nwritten to ${file}`);
}

function formatTable(rows: Result[]): string {
  const head = ['source', 'seconds', 'rows/s', 'ratio to file', 'listing alone s', 'peak RSS MB', 'RSS at start MB', 'peak heap MB', 'requests (client / server)', 'pages', 'fake server busy s'];
  const body = rows.map((r) => {
    if (r.baselineSeconds === undefined) {
      return [r.source, r.seconds.toFixed(2), Math.round(r.run.counts.seen / r.seconds).toLocaleString('en'), 'baseline', '',
        `${r.peakRssMb.toFixed(0)} ${r.peakRssMb <= RSS_TARGET_MB ? '✓' : '✗'}`, r.startRssMb.toFixed(0), r.peakHeapMb.toFixed(0), '', '', ''];
    }
    const ratio = r.seconds / r.baselineSeconds;
    const exact = r.clientRequests === r.pages! + r.extra! + r.retries! && r.serverRequests === r.clientRequests;
    return [
      `**${r.source}**`,
      r.seconds.toFixed(2),
      Math.round(r.run.counts.seen / r.seconds).toLocaleString('en'),
      `${ratio.toFixed(2)}× ${ratio <= RATIO_TARGET ? '✓' : '✗'}`,
      r.listingSeconds!.toFixed(2),
      `${r.peakRssMb.toFixed(0)} ${r.peakRssMb <= RSS_TARGET_MB ? '✓' : '✗'}`,
      r.startRssMb.toFixed(0),
      r.peakHeapMb.toFixed(0),
      `${r.clientRequests} / ${r.serverRequests} ${exact ? '✓' : '✗'}`,
      `${r.pages}${r.extra ? ` + ${r.extra} (${r.source.startsWith('Personio') ? 'token' : 'id search'})` : ''}${r.retries ? ` + ${r.retries} retries` : ''}`,
      r.serverSeconds!.toFixed(2),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

interface Confirmation {
  vendor: string;
  label: string;
  missing: number;
  lookupRequests: number;
  listingRequests: number;
  lookupSeconds: number;
  runSeconds: number;
}

/** The cost of confirming absences (look-ups by id before deactivating), against the listing of the same re-sync. */
function formatConfirmations(rows: Confirmation[]): string {
  if (rows.length === 0) return '';
  const head = ['confirmations (re-sync)', 'absent', 'look-up requests', 'listing requests', 'requests ratio', 'look-ups s', 'run s', 'time ratio'];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const body = rows.map((r) => [
    `${r.vendor}, ${r.label}`, String(r.missing), String(r.lookupRequests), String(r.listingRequests),
    (r.lookupRequests / r.listingRequests).toFixed(3), r.lookupSeconds.toFixed(2), r.runSeconds.toFixed(2), (r.lookupSeconds / r.runSeconds).toFixed(3),
  ]);
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

function verdicts(rows: Result[]): string {
  const vendorRows = rows.filter((r) => r.baselineSeconds !== undefined);
  const fileRows = rows.filter((r) => r.baselineSeconds === undefined);
  const slow = vendorRows.filter((r) => r.seconds / r.baselineSeconds! > RATIO_TARGET);
  const fat = rows.filter((r) => r.peakRssMb > RSS_TARGET_MB);
  const chatty = vendorRows.filter((r) => r.clientRequests !== r.pages! + r.extra! + r.retries! || r.serverRequests !== r.clientRequests);
  const fs = fileRows.map((r) => r.seconds);
  return [
    `- ratio: a vendor's sync time ÷ the mean of the file-connector runs just before and after it (file runs: ${fs.map((x) => x.toFixed(1)).join(', ')} s)`,
    slow.length === 0 ? `- time: every vendor within ${RATIO_TARGET}× the file connector ✓` : `- time: over ${RATIO_TARGET}×: ${slow.map((r) => `${r.source} ${(r.seconds / r.baselineSeconds!).toFixed(2)}×`).join(', ')} ✗`,
    fat.length === 0 ? `- memory: peak RSS ≤ ${RSS_TARGET_MB} MB everywhere ✓` : `- memory: over ${RSS_TARGET_MB} MB: ${fat.map((r) => `${r.source} ${r.peakRssMb.toFixed(0)} MB`).join(', ')} ✗`,
    chatty.length === 0 ? '- requests: exactly the page count (+ token / id search, + retries) ✓' : `- requests: off for ${chatty.map((r) => r.source).join(', ')} ✗`,
  ].join('\n');
}

if (process.argv.includes('--serve')) {
  void serve();
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
