/**
 * HR API chaos: every connector against a vendor that misbehaves, and a store that already
 * holds the whole population. One scenario per connector (`hr-api-bamboohr`, `hr-api-personio`,
 * `hr-api-hibob`, `hr-api-file`); each yields one row per fault kind for the table
 * "HR API chaos".
 *
 * For each connector: a fake vendor (test/fakes, real HTTP on 127.0.0.1) or an export on disk,
 * its own database (hrsync_t_*, dropped at the end) and one connector, first synced clean. Then,
 * for each fault kind in turn, the population changes a little, as HR data does between runs
 * (1 % terminated, 0.5 % gone from the system, 1 % hired, 2 % retitled), the fault is armed,
 * one sync runs, and we look at the store:
 *
 * - violations: wrongful deactivations — users active before the run, deactivated by it, whose
 *   employee is active in the source (the truth, not what the faulty vendor said);
 * - the run's status against the expected one (succeeded after retries, failed with a clear
 *   reason, needs_approval for a shrinking listing), and the requests it made against a bound
 *   (5 attempts per request of a clean listing: the client's retry limit);
 * - recovery: a held run is rejected (the admin's answer to a listing that lies), then the next
 *   clean run must succeed;
 * - lost: employees active in the source that are not active users after the last run;
 *   duplicated: users more than once per employee id, or per e-mail.
 *
 * Retries use the production policy (4 retries, 500 ms backoff base, Retry-After honoured up to
 * 60 s) on a dilated clock: a wait of `ms` sleeps `ms / dilation` for real, and the notes report
 * the time a real run would have waited. Request timeouts are real (600 ms quick, 1.5 s full).
 *
 * Full: 10,000 employees per vendor and 20 seeded random runs of each mix (20 % of requests
 * faulted: transient kinds only; every kind). Quick (npm test): 300 employees, 2 runs of each mix.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createBamboohrConnector } from '../../connectors/bamboohr/index.js';
import { fileConnector } from '../../connectors/file/index.js';
import { createHibobConnector } from '../../connectors/hibob/index.js';
import { realSleep, type ConnectorHttpDeps, type HttpClient } from '../../connectors/http/client.js';
import { createPersonioConnector } from '../../connectors/personio/index.js';
import { getConnector } from '../../connectors/registry.js';
import type { HrConnector } from '../../connectors/types.js';
import { createLogger } from '../../src/lib/logger.js';
import type { SyncRunRecord } from '../../src/sync/run-record.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { FakeBamboohr, generateBamboohrRows, type BamboohrRow } from '../../test/fakes/bamboohr-server.js';
import { perRequestSchedule, randomSchedule, seededRandom, stormSchedule, type MixEntry } from '../../test/fakes/chaos.js';
import type { FakeReply, FakeRequest, FakeServer, Fault } from '../../test/fakes/fake-server.js';
import { FakeHibob, generateHibobPeople, type HibobPerson } from '../../test/fakes/hibob-server.js';
import { FakePersonio, generatePersonioRows, type PersonioRow } from '../../test/fakes/personio-server.js';
import { configFor, createTestStore, employee, tempDir, toCsv, type Row, type TestStore } from '../../test/support/store.js';
import type { ChaosResult, ChaosScenario } from './scenario.js';

export const TABLE = 'HR API chaos';

export type ConnectorKind = 'bamboohr' | 'personio' | 'hibob' | 'file';
export type FaultKind =
  | '429-storm' | '429-wall' | '5xx-burst' | 'slow' | 'trickle' | 'cut'
  | 'garbage-json' | 'garbage-shape' | 'garbage-records' | 'short-page' | 'shrink-midlisting' | 'shrink-5pct'
  | 'garbage-csv' | 'truncated' | 'random' | 'random-transient';
type RunStatus = SyncRunRecord['status'];

export const HTTP_KINDS: FaultKind[] = [
  '429-storm', '429-wall', '5xx-burst', 'slow', 'trickle', 'cut',
  'garbage-json', 'garbage-shape', 'garbage-records', 'short-page', 'shrink-midlisting', 'shrink-5pct',
];
export const FILE_KINDS: FaultKind[] = ['garbage-csv', 'garbage-shape', 'garbage-records', 'truncated', 'shrink-5pct'];

const LABEL: Record<ConnectorKind, string> = { bamboohr: 'BambooHR', personio: 'Personio', hibob: 'HiBob', file: 'file (CSV)' };

/** One (connector, fault kind): what happened, in detail (the test asserts on these). */
export interface HrChaosDetail {
  connector: ConnectorKind;
  kind: FaultKind;
  scenario: string;
  /** Statuses the chaos run may end with. */
  expectedStatus: RunStatus[];
  /** The chaos run's status (random: every run's, in order). */
  statuses: RunStatus[];
  /** The first failed run's error, or the held reason. */
  reason: string | null;
  faults: number;
  /** Faults played, by kind. */
  injected: Record<string, number>;
  /** Employees active in the source after the last run (the users the store must hold, active). */
  expected: number;
  lost: number;
  /** Users active in the store whose employee is inactive or gone in the source after a succeeded last run. */
  stale: number;
  duplicated: number;
  /** Wrongful deactivations over all runs of the row (chaos and recovery). */
  wrongful: number;
  /** Deactivations the source justified (terminated or gone). */
  rightful: number;
  /** Deactivations held back by needs_approval runs. */
  held: number;
  /** Requests the vendor saw per chaos run, the fault-free count and the bound (HTTP only). */
  requests: number[];
  cleanRequests: number[];
  requestBounds: number[];
  retries: number;
  /** Time a real run would have spent waiting for backoff and Retry-After (dilated clock), seconds. */
  virtualWaitSeconds: number;
  /** Attempts ended by the timeout/deadline. */
  timeouts: number;
  /** Log lines carrying a secret, a token or an e-mail address. */
  logLeaks: number;
  /** Status of the clean run after a failed or held one ('approved': held on the clean listing, every held one had really left, approved). */
  recovery: RunStatus | null;
  /** Deactivations of a held clean run, approved because every one of them was rightful. */
  approvedHeld: number;
  recoverySeconds: number | null;
  seconds: number;
  /** What did not hold (empty: ok). */
  problems: string[];
}

export interface HrChaosOptions {
  connector: ConnectorKind;
  quick: boolean;
  log?: (line: string) => void;
  /** Use this store (a test's); default: a database of its own, dropped at the end. */
  store?: TestStore;
  /** Employees (default 300 quick, 10,000 full). */
  size?: number;
  kinds?: FaultKind[];
  /** Seeded random runs of each mix (default 2 quick, 20 full; 0 for none). */
  randomRuns?: number;
  /** Fault rate of the random runs (default 0.2). */
  randomRate?: number;
  seed?: number;
}

// ---- the source of truth: who works where, as HR would say if it did not misbehave -----------------

interface Person {
  n: number;
  active: boolean;
  present: boolean;
  title: number;
}

class Population {
  readonly people: Person[] = [];

  constructor(size: number) {
    // As the generators: every 10th a former employee (listed as inactive, never created).
    for (let n = 1; n <= size; n++) this.people.push({ n, active: n % 10 !== 0, present: true, title: n % 17 });
  }

  /** What changes in HR between two runs. */
  mutate(random: () => number): void {
    const pick = (from: Person[], k: number) => {
      const out: Person[] = [];
      const pool = [...from];
      for (let i = 0; i < k && pool.length > 0; i++) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
      return out;
    };
    const active = this.people.filter((p) => p.present && p.active);
    const changed = pick(active, Math.ceil(active.length * 0.04));
    const [terminated, gone, retitled] = [changed.slice(0, Math.ceil(active.length * 0.01)), changed.slice(Math.ceil(active.length * 0.01), Math.ceil(active.length * 0.015)), changed.slice(Math.ceil(active.length * 0.015))];
    for (const p of terminated) p.active = false;
    for (const p of gone) p.present = false;
    for (const p of retitled) p.title++;
    const hires = Math.ceil(active.length * 0.01);
    const next = this.people.length + 1;
    for (let i = 0; i < hires; i++) this.people.push({ n: next + i, active: true, present: true, title: 3 });
  }

  listed(): Person[] {
    return this.people.filter((p) => p.present);
  }

  active(): Person[] {
    return this.people.filter((p) => p.present && p.active);
  }
}

// ---- one connector: the vendor (or file), how to publish the population, how to aim faults ---------

interface Target {
  /** Requests for data page k (1-based) of the current listing, retries included. */
  page(k: number): (req: FakeRequest) => boolean;
  /** Requests that carry employee records (not the token, not HiBob's id search). */
  isData(req: FakeRequest): boolean;
}

interface Adapter {
  kind: ConnectorKind;
  pageSize: number;
  fake: FakeServer | null;
  connector: HrConnector<any>;
  env: Record<string, string>;
  options(): Record<string, unknown>;
  start(): Promise<void>;
  stop(): Promise<void>;
  externalId(n: number): string;
  publish(people: Person[]): void;
  /** Data pages of a listing of `listed` employees, and the requests a fault-free listing takes. */
  pages(listed: number): number;
  cleanRequests(listed: number): number;
  /** Requests the confirmation of `missing` users absent from a listing takes (look-ups by id). */
  lookupRequests(missing: number): number;
  target: Target;
  /** Answers of the vendor, bent: a short page (envelope intact), a page that says the listing ends here, records without their id, a wrong envelope. */
  short(reply: FakeReply, req: FakeRequest): FakeReply;
  endsHere(reply: FakeReply, req: FakeRequest): FakeReply;
  noIds(reply: FakeReply, req: FakeRequest): FakeReply;
  wrongShape(reply: FakeReply, req: FakeRequest): FakeReply;
  /** The vendor's listing loses everyone after its first `keep` employees (a state change mid-run). */
  keepFirst(keep: number): void;
  secrets(): string[];
}

const SECRETS = {
  bamboohr: 'bhr-chaos-5a7c1e9d3b2f4a6c8e0d',
  personioId: 'papi-chaos-client-77c1',
  personioSecret: 'papi-chaos-secret-c0ffee15dead4bee',
  hibobUser: 'SERVICE-CHAOS-4711',
  hibobToken: 'hbtok_chaos_9e8d7c6b5a4f3e2d1c0b',
};

const body = <T>(reply: FakeReply) => structuredClone(reply.body) as T;

function bamboohrAdapter(size: number, pageSize: number, timeoutMs: number, deps: ConnectorHttpDeps): Adapter {
  const fake = new FakeBamboohr({ companyDomain: 'acme', apiKey: SECRETS.bamboohr, rows: [] });
  const templates = new Map<number, BamboohrRow>();
  const template = (n: number) => {
    if (!templates.has(n)) {
      const rows = generateBamboohrRows(Math.max(n, size) * 2);
      rows.forEach((r, i) => templates.set(i + 1, r));
    }
    return templates.get(n)!;
  };
  type Page = { data: BamboohrRow[]; links: Record<string, string>; meta: { page: number; pageSize: number; totalPages: number; totalItems: number } };
  return {
    kind: 'bamboohr',
    pageSize,
    fake,
    connector: createBamboohrConnector(deps),
    env: { CHAOS_BAMBOOHR_KEY: SECRETS.bamboohr },
    options: () => ({ companyDomain: 'acme', apiKey: '${CHAOS_BAMBOOHR_KEY}', baseUrl: fake.url, pageSize, timeoutMs }),
    start: async () => void (await fake.start()),
    stop: () => fake.stop(),
    externalId: (n) => String(n),
    publish(people) {
      fake.rows = people.map((p) => {
        const f = template(p.n).fields;
        return {
          fields: {
            ...f,
            status: p.active ? 'Active' : 'Inactive',
            employmentStatus: p.active ? 'Full-Time' : 'Terminated',
            terminationDate: p.active ? null : '2025-06-30',
            jobInformationJobTitle: `Title ${p.title}`,
          },
        };
      });
    },
    pages: (listed) => Math.max(1, Math.ceil(listed / pageSize)),
    cleanRequests: (listed) => Math.max(1, Math.ceil(listed / pageSize)),
    lookupRequests: (missing) => Math.ceil(missing / 100),
    target: { page: (k) => fake.isPage(k), isData: (req) => req.path === fake.datasetPath },
    short(reply) {
      const b = body<Page>(reply);
      b.data = b.data.slice(0, Math.floor(b.data.length / 2));
      return { ...reply, body: b };
    },
    endsHere(reply) {
      const b = body<Page>(reply);
      b.data = b.data.slice(0, Math.floor(b.data.length / 2));
      b.meta.totalItems = (b.meta.page - 1) * b.meta.pageSize + b.data.length;
      b.meta.totalPages = b.meta.page;
      delete b.links.next;
      return { ...reply, body: b };
    },
    noIds(reply) {
      const b = body<Page>(reply);
      b.data = b.data.map(({ fields: { eeid, ...rest } }) => ({ fields: { ...rest, employeeId: eeid } }));
      return { ...reply, body: b };
    },
    wrongShape(reply) {
      const b = body<Page>(reply);
      return { ...reply, body: { data: { rows: b.data }, meta: b.meta } };
    },
    keepFirst(keep) {
      fake.rows = fake.rows.slice(0, keep);
    },
    secrets: () => [SECRETS.bamboohr, Buffer.from(`${SECRETS.bamboohr}:x`).toString('base64')],
  };
}

function personioAdapter(size: number, pageSize: number, timeoutMs: number, deps: ConnectorHttpDeps): Adapter {
  const fake = new FakePersonio({ clientId: SECRETS.personioId, clientSecret: SECRETS.personioSecret, rows: [] });
  const templates = new Map<number, PersonioRow>();
  const template = (n: number) => {
    if (!templates.has(n)) generatePersonioRows(Math.max(n, size) * 2).forEach((r, i) => templates.set(i + 1, r));
    return templates.get(n)!;
  };
  type Page = { success: true; metadata: { total_elements: number; current_page: number; total_pages: number }; offset: number; limit: number; data: PersonioRow[] };
  return {
    kind: 'personio',
    pageSize,
    fake,
    connector: createPersonioConnector(deps),
    env: { CHAOS_PERSONIO_ID: SECRETS.personioId, CHAOS_PERSONIO_SECRET: SECRETS.personioSecret },
    options: () => ({ clientId: '${CHAOS_PERSONIO_ID}', clientSecret: '${CHAOS_PERSONIO_SECRET}', baseUrl: fake.url, pageSize, timeoutMs }),
    start: async () => void (await fake.start()),
    stop: () => fake.stop(),
    externalId: (n) => String(n),
    publish(people) {
      fake.rows = people.map((p) => {
        const a = template(p.n).attributes;
        return {
          type: 'Employee',
          attributes: {
            ...a,
            status: { ...a.status, value: p.active ? 'active' : 'inactive' },
            termination_date: { ...a.termination_date, value: p.active ? null : '2025-06-30T00:00:00+02:00' },
            position: { ...a.position, value: `Role ${p.title}` },
          },
        };
      });
    },
    pages: (listed) => Math.max(1, Math.ceil(listed / pageSize)),
    cleanRequests: (listed) => 1 + Math.max(1, Math.ceil(listed / pageSize)),
    // One GET per id (after a token request of its own, identical to the listing's: the fault
    // schedules take it for the same logical request, so it is not counted here).
    lookupRequests: (missing) => missing,
    target: { page: (k) => fake.isEmployees((k - 1) * pageSize), isData: (req) => req.path === '/v1/company/employees' },
    short(reply) {
      const b = body<Page>(reply);
      b.data = b.data.slice(0, Math.floor(b.data.length / 2));
      return { ...reply, body: b };
    },
    endsHere(reply) {
      const b = body<Page>(reply);
      b.data = b.data.slice(0, Math.floor(b.data.length / 2));
      b.metadata.total_elements = b.offset + b.data.length;
      b.metadata.total_pages = Math.ceil(b.metadata.total_elements / b.limit);
      return { ...reply, body: b };
    },
    noIds(reply) {
      const b = body<Page>(reply);
      b.data = b.data.map((r) => {
        const { id, ...rest } = r.attributes;
        return { ...r, attributes: { ...rest, employee_id: id } };
      });
      return { ...reply, body: b };
    },
    wrongShape(reply) {
      const b = body<Page>(reply);
      return { ...reply, body: { success: true, data: { employees: b.data } } };
    },
    keepFirst(keep) {
      fake.rows = fake.rows.slice(0, keep);
    },
    secrets: () => [SECRETS.personioSecret, ...fake.issuedTokens],
  };
}

function hibobAdapter(size: number, pageSize: number, timeoutMs: number, deps: ConnectorHttpDeps): Adapter {
  const fake = new FakeHibob({ serviceUserId: SECRETS.hibobUser, token: SECRETS.hibobToken, people: [] });
  const templates = new Map<number, HibobPerson>();
  const template = (n: number) => {
    if (!templates.has(n)) generateHibobPeople(Math.max(n, size) * 2).forEach((r, i) => templates.set(i + 1, r));
    return templates.get(n)!;
  };
  type Search = { employees: Array<Record<string, unknown>> };
  return {
    kind: 'hibob',
    pageSize,
    fake,
    connector: createHibobConnector(deps),
    env: { CHAOS_HIBOB_USER: SECRETS.hibobUser, CHAOS_HIBOB_TOKEN: SECRETS.hibobToken },
    options: () => ({ serviceUserId: '${CHAOS_HIBOB_USER}', token: '${CHAOS_HIBOB_TOKEN}', baseUrl: fake.url, pageSize, timeoutMs }),
    start: async () => void (await fake.start()),
    stop: () => fake.stop(),
    externalId: (n) => String(1000000000000000001n + BigInt(n - 1)),
    publish(people) {
      fake.people = people.map((p) => {
        const t = template(p.n);
        const hr = t.humanReadable as { work: Record<string, unknown>; internal: unknown };
        return {
          ...t,
          internal: p.active
            ? { status: 'Active', lifecycleStatus: 'employed', terminationDate: null }
            : { status: 'Inactive', lifecycleStatus: 'terminated', terminationDate: '2025-06-30' },
          humanReadable: { ...hr, work: { ...hr.work, title: `Title ${p.title}` } },
        };
      });
    },
    pages: (listed) => Math.max(1, Math.ceil(listed / pageSize)),
    cleanRequests: (listed) => 1 + Math.ceil(listed / pageSize),
    lookupRequests: (missing) => Math.ceil(missing / pageSize),
    // Slice k of the id list, by position (fake.isSlice reads the first slice's size from the requests seen).
    target: { page: (k) => fake.isSlice(k), isData: (req) => fake.isSlice()(req) },
    short(reply) {
      const b = body<Search>(reply);
      b.employees = b.employees.slice(0, Math.floor(b.employees.length / 2));
      return { ...reply, body: b };
    },
    endsHere(reply) {
      const b = body<Search>(reply);
      b.employees = b.employees.slice(0, Math.floor(b.employees.length / 2));
      return { ...reply, body: b };
    },
    noIds(reply) {
      const b = body<Search>(reply);
      b.employees = b.employees.map(({ id, ...rest }) => ({ ...rest, employeeId: id }));
      return { ...reply, body: b };
    },
    wrongShape(reply) {
      return { ...reply, body: { people: body<Search>(reply).employees } };
    },
    keepFirst(keep) {
      fake.people = fake.people.slice(0, keep);
    },
    secrets: () => [SECRETS.hibobToken, Buffer.from(`${SECRETS.hibobUser}:${SECRETS.hibobToken}`).toString('base64')],
  };
}

interface FileAdapter extends Adapter {
  path: string;
  rows(people: Person[]): Row[];
  write(text: string): void;
}

function fileAdapter(): FileAdapter {
  const dir = tempDir('hrsync-chaos-file-');
  const path = join(dir, 'employees.csv');
  const none = (reply: FakeReply) => reply;
  const rows = (people: Person[]) =>
    people.map((p) =>
      employee(p.n, {
        status: p.active ? 'active' : 'inactive',
        endDate: p.active ? '' : '2025-06-30',
        jobTitle: `Title ${p.title}`,
        managerId: p.n > 1 ? `E${Math.floor(p.n / 2)}` : '',
      }),
    );
  return {
    kind: 'file',
    pageSize: 2_000,
    fake: null,
    connector: fileConnector,
    env: {},
    path,
    options: () => ({ path }),
    start: async () => {},
    stop: async () => rmSync(dir, { recursive: true, force: true }),
    externalId: (n) => `E${n}`,
    rows,
    write: (text) => writeFileSync(path, text),
    publish(people) {
      writeFileSync(path, toCsv(rows(people)));
    },
    pages: () => 1,
    cleanRequests: () => 0,
    lookupRequests: () => 0,
    target: { page: () => () => false, isData: () => false },
    short: none,
    endsHere: none,
    noIds: none,
    wrongShape: none,
    keepFirst() {},
    secrets: () => [],
  };
}

// ---- the run ----------------------------------------------------------------------------------------

/** Statuses each fault kind must end with. */
function expectedStatus(connector: ConnectorKind, kind: FaultKind): RunStatus[] {
  switch (kind) {
    case '429-storm':
    case '5xx-burst':
    case 'slow':
    case 'trickle':
    case 'cut':
      return ['succeeded'];
    case '429-wall':
    case 'garbage-json':
    case 'garbage-shape':
    case 'garbage-csv':
    case 'short-page':
    case 'shrink-midlisting':
    case 'truncated':
      return ['failed'];
    case 'garbage-records':
      // HiBob checks every slice returns exactly the ids asked for, and BambooHR's keyset paging
      // cannot go on from a page without ids: both fail. Personio reads the page and must not let
      // the records it cannot identify count as gone.
      return connector === 'hibob' || connector === 'bamboohr' ? ['failed'] : ['needs_approval'];
    case 'shrink-5pct':
      return ['needs_approval'];
    case 'random':
    case 'random-transient':
      return ['succeeded', 'failed', 'needs_approval'];
  }
}

const DESCRIBE: Record<FaultKind, string> = {
  '429-storm': 'every request 429 (Retry-After: 1) three times (quick: twice) before it passes',
  '429-wall': 'every request 429 (Retry-After: 2), without end',
  '5xx-burst': 'bursts of 500/502/503/504 (4 in a row) on the first, middle and last request',
  slow: 'every response late (20–80 ms; quick 5–30 ms), three of them (quick: two) 1.5× past the timeout',
  trickle: 'two responses trickled over 3× the timeout (headers at once, body in 30 pieces)',
  cut: 'a third of the responses cut: half the body then reset, or reset before any byte',
  'garbage-json': 'the middle page truncated mid-JSON (HTTP framing intact)',
  'garbage-shape': 'the middle page with a wrong envelope (valid JSON)',
  'garbage-records': 'the middle page with every record\'s id under another name',
  'short-page': 'the middle page with half its records, pagination metadata intact',
  'shrink-midlisting': 'the listing shrinks while it is read: everyone after half of the last page but one is gone',
  'shrink-5pct': 'a valid listing of 5 % of the employees',
  'garbage-csv': 'an unclosed quote in the middle of the export',
  truncated: 'the export cut in the middle of a line at 60 % of its size',
  random: 'seeded random mix: 20 % of requests faulted, every kind',
  'random-transient': 'seeded random mix: 20 % of requests faulted, transient kinds only',
};

const DESCRIBE_FILE: Partial<Record<FaultKind, string>> = {
  'garbage-shape': 'the export with its employeeId column renamed',
  'garbage-records': '5 % of the rows, in the middle of the export, without an employee id',
  'shrink-5pct': 'a valid export of 5 % of the employees',
};

interface Observation {
  run: SyncRunRecord;
  seconds: number;
  requests: number;
  clean: number;
  bound: number;
  faults: number;
  injected: Record<string, number>;
  retries: number;
  waitedMs: number;
  timeouts: number;
  wrongful: number;
  rightful: number;
}

export async function runHrApiChaos(opts: HrChaosOptions): Promise<HrChaosDetail[]> {
  const quick = opts.quick;
  const say = opts.log ?? (() => {});
  const size = opts.size ?? (quick ? 300 : 10_000);
  const timeoutMs = quick ? 600 : 1_500;
  const dilation = quick ? 200 : 50;
  const randomRuns = opts.randomRuns ?? (quick ? 2 : 20);
  const seed = opts.seed ?? 20261127;
  const random = seededRandom(seed);
  const isFile = opts.connector === 'file';
  const kinds = opts.kinds ?? [...(isFile ? FILE_KINDS : HTTP_KINDS), ...(randomRuns > 0 && !isFile ? (['random-transient', 'random'] as FaultKind[]) : [])];

  // The production retry policy on a dilated clock; jitter from the seed.
  let waitedMs = 0;
  let tokenExpiries = 0;
  const clients: HttpClient[] = [];
  const deps: ConnectorHttpDeps = {
    sleep: (ms, signal) => {
      waitedMs += ms;
      return realSleep(Math.max(1, Math.round(ms / dilation)), signal);
    },
    random: seededRandom(seed + 1),
    onClient: (c) => clients.push(c),
  };
  // Quick: 20 pages of 15, so that one page is 5 % of the company (under the 10 % threshold).
  const pageSize = { bamboohr: quick ? 15 : 500, personio: quick ? 15 : 100, hibob: quick ? 15 : 200 };
  const adapter: Adapter =
    opts.connector === 'bamboohr' ? bamboohrAdapter(size, pageSize.bamboohr, timeoutMs, deps)
    : opts.connector === 'personio' ? personioAdapter(size, pageSize.personio, timeoutMs, deps)
    : opts.connector === 'hibob' ? hibobAdapter(size, pageSize.hibob, timeoutMs, deps)
    : fileAdapter();
  const fake = adapter.fake;

  // Every log line of the engine and the connector, checked for secrets and addresses.
  let lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ level: quick ? 'debug' : 'info', destination, name: 'chaos-hr-api' });
  const leaks = () => {
    const secrets = adapter.secrets();
    const n = lines.filter((l) => l.includes('acme.example') || secrets.some((s) => l.includes(s))).length;
    lines = [];
    return n;
  };

  const ownStore = !opts.store;
  const store = opts.store ?? (await createTestStore());
  const started = Date.now();
  await adapter.start();
  const tag = `${opts.connector}-${Date.now().toString(36)}-${Math.floor(random() * 1e6)}`;
  const org = `chaos-${tag}`;
  const connectorId = `chaos-${tag}`;
  const config = configFor(
    store.url,
    {
      organizations: [{
        id: org,
        name: `Chaos ${LABEL[opts.connector]}`,
        connectors: [{ id: connectorId, type: opts.connector, options: adapter.options(), mapping: { location: 'location', group: 'department' } }],
      }],
      sync: { batchSize: quick ? 100 : 2_000 },
    },
    adapter.env,
  );
  const engine = new SyncEngine({
    orm: store.orm,
    config,
    log: logger,
    resolveConnector: (type) => (type === opts.connector ? adapter.connector : getConnector(type)),
  });

  const ids = async (status: 'active' | 'deactivated') =>
    new Set((await store.query<{ external_id: string }>(`select external_id from users where connector_id = $1 and status = $2`, [connectorId, status])).map((r) => r.external_id));
  const truth = (pop: Population) => new Set(pop.active().map((p) => adapter.externalId(p.n)));

  /** One sync run, observed: what it did to users the source says are active. */
  const observe = async (pop: Population): Promise<Observation> => {
    const before = await ids('active');
    const activeInSource = truth(pop);
    fake?.resetCounters();
    const clientCount = clients.length;
    waitedMs = 0;
    tokenExpiries = 0;
    const t0 = performance.now();
    const run = await engine.run({ connectorId });
    const seconds = (performance.now() - t0) / 1000;
    fake?.chaos(null);
    fake?.clearScript();
    const deactivated = await ids('deactivated');
    let wrongful = 0;
    let rightful = 0;
    for (const id of before) {
      if (!deactivated.has(id)) continue;
      if (activeInSource.has(id)) wrongful++;
      else rightful++;
    }
    // The run's clients: the listing's, and the confirmations' (look-ups by id of the absent).
    const runClients = clients.slice(clientCount);
    const sum = (f: (c: HttpClient) => number) => runClients.reduce((n, c) => n + f(c), 0);
    const listedIds = new Set(pop.listed().map((p) => adapter.externalId(p.n)));
    const absent = [...before].filter((id) => !listedIds.has(id)).length;
    // Confirmations are made while the absent are few (twice the 10 % threshold at most).
    const confirmed = absent <= Math.max(20, Math.floor((2 * before.size * 10) / 100));
    const clean = adapter.cleanRequests(pop.listed().length) + (confirmed ? adapter.lookupRequests(absent) : 0);
    const tokenRenewals = tokenExpiries;
    return {
      run,
      seconds,
      requests: fake?.count ?? 0,
      clean,
      // The client's limit: 5 attempts per request of a clean listing (+ a token and a repeat per renewal).
      bound: 5 * clean + 2 * 5 * tokenRenewals,
      faults: fake?.faultCount ?? 0,
      injected: { ...(fake?.injected ?? {}) },
      retries: sum((c) => c.stats.retries),
      waitedMs,
      timeouts: sum((c) => (c.stats.outcomes.ETIMEDOUT ?? 0) + (c.stats.outcomes.ECONNABORTED ?? 0)),
      wrongful,
      rightful,
    };
  };

  const finalState = async (pop: Population, lastSucceeded: boolean) => {
    const active = await ids('active');
    const want = truth(pop);
    let lost = 0;
    for (const id of want) if (!active.has(id)) lost++;
    let stale = 0;
    if (lastSucceeded) for (const id of active) if (!want.has(id)) stale++;
    const [dup] = await store.query<{ by_id: number; by_email: number }>(
      `select (select count(*) - count(distinct external_id) from users where connector_id = $1)::int as by_id,
              (select count(*) - count(distinct lower(email)) from users where organization_id = $2 and email is not null)::int as by_email`,
      [connectorId, org],
    );
    return { expected: want.size, lost, stale, duplicated: dup.by_id + dup.by_email };
  };

  const pop = new Population(size);
  const details: HrChaosDetail[] = [];
  try {
    adapter.publish(pop.listed());
    const first = await observe(pop);
    if (first.run.status !== 'succeeded') throw new Error(`${LABEL[opts.connector]}: the clean first sync ended ${first.run.status}: ${first.run.error ?? first.run.heldReason}`);
    say(`${LABEL[opts.connector]}: ${size} employees synced clean in ${first.seconds.toFixed(1)} s (${first.requests} requests)`);
    leaks();

    for (const kind of kinds) {
      const t0 = performance.now();
      const d = kind === 'random' || kind === 'random-transient'
        ? await randomRows(kind)
        : await oneKind(kind);
      d.seconds = (performance.now() - t0) / 1000;
      d.logLeaks += leaks();
      check(d);
      details.push(d);
      say(`${LABEL[opts.connector]} · ${kind}: ${d.statuses.join(', ')}${d.recovery ? ` → ${d.recovery}` : ''}; wrongful ${d.wrongful}, lost ${d.lost}, requests ${d.requests.join('/')} (bound ${d.requestBounds.join('/')})${d.problems.length ? `; PROBLEMS: ${d.problems.join('; ')}` : ''}`);
    }
  } finally {
    await adapter.stop();
    if (ownStore) await store.drop();
  }
  say(`${LABEL[opts.connector]}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return details;

  function blank(kind: FaultKind): HrChaosDetail {
    return {
      connector: opts.connector, kind, scenario: `${LABEL[opts.connector]}: ${(isFile ? DESCRIBE_FILE[kind] : undefined) ?? DESCRIBE[kind]}`,
      expectedStatus: expectedStatus(opts.connector, kind), statuses: [], reason: null, faults: 0, injected: {},
      expected: 0, lost: 0, stale: 0, duplicated: 0, wrongful: 0, rightful: 0, held: 0,
      requests: [], cleanRequests: [], requestBounds: [], retries: 0, virtualWaitSeconds: 0, timeouts: 0, logLeaks: 0,
      recovery: null, approvedHeld: 0, recoverySeconds: null, seconds: 0, problems: [],
    };
  }

  function record(d: HrChaosDetail, o: Observation): void {
    d.statuses.push(o.run.status);
    d.reason ??= o.run.status === 'failed' ? o.run.error : o.run.status === 'needs_approval' ? o.run.heldReason : null;
    d.faults += o.faults;
    for (const [k, v] of Object.entries(o.injected)) d.injected[k] = (d.injected[k] ?? 0) + v;
    d.wrongful += o.wrongful;
    d.rightful += o.rightful;
    d.held += o.run.counts.heldDeactivations;
    if (!isFile) {
      d.requests.push(o.requests);
      d.cleanRequests.push(o.clean);
      d.requestBounds.push(o.bound);
    }
    d.retries += o.retries;
    d.virtualWaitSeconds += o.waitedMs / 1000;
    d.timeouts += o.timeouts;
    if (o.run.status === 'running') d.problems.push('a run was left running');
  }

  /** After a failed or held run: reject a held one, publish the clean listing, sync again. */
  async function recover(d: HrChaosDetail, last: SyncRunRecord): Promise<boolean> {
    if (last.status === 'needs_approval') await engine.reject(last.id, 'chaos');
    if (last.status === 'succeeded') return true;
    adapter.publish(pop.listed());
    const o = await observe(pop);
    d.recovery = o.run.status;
    d.recoverySeconds = o.seconds;
    d.wrongful += o.wrongful;
    d.rightful += o.rightful;
    if (o.run.status === 'needs_approval') {
      // The clean listing itself is held: after a run of failed syncs, the leavers of all of them
      // together exceed the threshold. An administrator checks who would go and approves if
      // every one of them really left; held deactivations of active employees are a problem.
      const held = await store.query<{ external_id: string }>(
        `select u.external_id from sync_run_deactivations r join users u on u.id = r.user_id where r.run_id = $1`,
        [o.run.id],
      );
      const activeInSource = truth(pop);
      const wrong = held.filter((h) => activeInSource.has(h.external_id)).length;
      if (wrong > 0) {
        d.problems.push(`the clean run held ${wrong} deactivations of employees active in HR`);
        await engine.reject(o.run.id, 'chaos');
        return false;
      }
      const before = await ids('active');
      await engine.approve(o.run.id, 'chaos');
      const after = await ids('active');
      d.rightful += [...before].filter((id) => !after.has(id)).length;
      d.recovery = 'approved';
      d.approvedHeld = held.length;
      return true;
    }
    return o.run.status === 'succeeded';
  }

  async function oneKind(kind: FaultKind): Promise<HrChaosDetail> {
    const d = blank(kind);
    pop.mutate(random);
    const listed = pop.listed();
    adapter.publish(listed);
    arm(kind, listed.length);
    const o = await observe(pop);
    record(d, o);
    const ok = await recover(d, o.run);
    Object.assign(d, await finalState(pop, ok));
    return d;
  }

  /** Arms the fault of `kind` on the vendor (or the export) for the next run. */
  function arm(kind: FaultKind, listed: number): void {
    const pages = adapter.pages(listed);
    const mid = Math.max(1, Math.ceil(pages / 2));
    const clean = adapter.cleanRequests(listed);
    const t = adapter.target;
    const on = (page: number, fault: Fault) => fake!.script(fault, { times: 1, when: t.page(page) });
    if (isFile) return armFile(kind, listed);
    switch (kind) {
      case '429-storm':
        fake!.chaos(stormSchedule({ kind: 'status', status: 429, retryAfter: '1' }, quick ? 2 : 3));
        break;
      case '429-wall':
        fake!.chaos(() => ({ kind: 'status', status: 429, retryAfter: '2' }));
        break;
      case '5xx-burst': {
        const burst: Fault[] = [500, 502, 503, 504].map((status) => ({ kind: 'status', status }));
        const at = new Set([1, Math.ceil(clean / 2), clean]);
        fake!.chaos(perRequestSchedule((ordinal) => (at.has(ordinal) ? burst : null)));
        break;
      }
      case 'slow': {
        const late = new Set(quick ? [Math.ceil(clean / 2), clean] : [1, Math.ceil(clean / 2), clean]);
        const jitter = seededRandom(seed + 7);
        const lag = () => (quick ? 5 + Math.floor(jitter() * 25) : 20 + Math.floor(jitter() * 60));
        fake!.chaos(perRequestSchedule((ordinal) => [
          { kind: 'delay', ms: late.has(ordinal) ? Math.round(timeoutMs * 1.5) : lag() },
          { kind: 'delay', ms: lag() },
        ]));
        break;
      }
      case 'trickle': {
        const at = new Set([Math.ceil(clean / 2), clean]);
        fake!.chaos(perRequestSchedule((ordinal) => (at.has(ordinal) ? [{ kind: 'trickle', ms: timeoutMs * 3, chunks: 30 }] : null)));
        break;
      }
      case 'cut': {
        const r = seededRandom(seed + 11);
        // A third of the attempts, at most two per request (a third cut in a row is rare enough in life).
        fake!.chaos(perRequestSchedule(() => {
          const faults: Fault[] = [];
          for (let i = 0; i < 2 && r() < 1 / 3; i++) faults.push(r() < 0.5 ? { kind: 'cut' } : { kind: 'destroy' });
          return faults;
        }));
        break;
      }
      case 'garbage-json':
        on(mid, { kind: 'truncate', fraction: 0.6 });
        break;
      case 'garbage-shape':
        on(mid, { kind: 'transform', run: adapter.wrongShape });
        break;
      case 'garbage-records':
        on(mid, { kind: 'transform', run: adapter.noIds });
        break;
      case 'short-page':
        on(mid, { kind: 'transform', run: adapter.short });
        break;
      case 'shrink-midlisting': {
        // While the last page but one is requested, the vendor loses everyone after the first half
        // of that page: its answer and every later one agree with the shorter listing.
        const at = Math.max(1, pages - 1);
        const keep = (at - 1) * adapter.pageSize + Math.floor(adapter.pageSize / 2);
        on(at, { kind: 'hook', run: () => adapter.keepFirst(keep) });
        break;
      }
      case 'shrink-5pct': {
        const all = pop.listed();
        adapter.publish(all.filter((_, i) => i % 20 === 0));
        break;
      }
      default:
        throw new Error(`fault kind ${kind} does not apply to ${opts.connector}`);
    }
  }

  function armFile(kind: FaultKind, listed: number): void {
    const a = adapter as FileAdapter;
    const rows = a.rows(pop.listed());
    switch (kind) {
      case 'garbage-csv': {
        const text = toCsv(rows).split('\n');
        const at = Math.floor(text.length / 2);
        text.splice(at, 0, `E999999,"broken@acme.example,First,Last,Engineer,Finance,Berlin,,active,2024-01-15,`);
        a.write(text.join('\n'));
        break;
      }
      case 'garbage-shape':
        a.write(toCsv(rows).replace(/^employeeId,/, 'employee_id,'));
        break;
      case 'garbage-records': {
        // 5 % of the rows in the middle of the export lose their employee id.
        const from = Math.floor(listed / 2);
        const to = from + Math.ceil(listed * 0.05);
        a.write(toCsv(rows.map((r, i) => (i >= from && i < to ? { ...r, employeeId: '' } : r))));
        break;
      }
      case 'truncated': {
        const text = toCsv(rows);
        let at = Math.floor(text.length * 0.6);
        // into the middle of a line: past its second comma
        at = text.indexOf(',', text.indexOf(',', text.lastIndexOf('\n', at) + 1) + 1) + 3;
        a.write(text.slice(0, at));
        break;
      }
      case 'shrink-5pct':
        a.write(toCsv(rows.filter((_, i) => i % 20 === 0)));
        break;
      default:
        throw new Error(`fault kind ${kind} does not apply to the file connector`);
    }
  }

  /** The random mix: `randomRuns` runs in a row, each with its own seeded schedule, no clean run in between. */
  async function randomRows(kind: FaultKind): Promise<HrChaosDetail> {
    const d = blank(kind);
    const transient = kind === 'random-transient';
    d.scenario = `${LABEL[opts.connector]}: ${randomRuns} runs, seeded random mix, ${Math.round((opts.randomRate ?? 0.2) * 100)} % of requests faulted (${transient ? '429, 5xx, slow, timeout, trickle, cut, reset, token expiry' : 'every kind, garbage pages included'})`;
    let last: SyncRunRecord | null = null;
    const played: Record<string, number> = {};
    for (let r = 0; r < randomRuns; r++) {
      pop.mutate(random);
      adapter.publish(pop.listed());
      const schedule = randomSchedule({ seed: seed + (transient ? 2000 : 1000) + r, rate: opts.randomRate ?? 0.2, mix: mixFor(transient) });
      fake!.chaos(schedule);
      const o = await observe(pop);
      record(d, o);
      for (const [k, v] of Object.entries(schedule.played)) played[k] = (played[k] ?? 0) + v;
      // A held run blocks its connector: the admin rejects it (the last one is left to recover()).
      if (o.run.status === 'needs_approval' && r < randomRuns - 1) await engine.reject(o.run.id, 'chaos');
      last = o.run;
    }
    d.injected = played; // by the mix's names (429, timeout, records-without-id, …)
    const ok = last ? await recover(d, last) : true;
    Object.assign(d, await finalState(pop, ok));
    return d;
  }

  function mixFor(transientOnly: boolean): MixEntry[] {
    const t = adapter.target;
    const data = (f: (req: FakeRequest) => Fault) => (req: FakeRequest) => (t.isData(req) ? f(req) : null);
    const mix: MixEntry[] = [
      { name: '429', weight: 2, make: () => ({ kind: 'status', status: 429, retryAfter: '1' }) },
      { name: '500', weight: 1, make: () => ({ kind: 'status', status: 500 }) },
      { name: '502', weight: 1, make: () => ({ kind: 'status', status: 502 }) },
      { name: '503', weight: 1, make: () => ({ kind: 'status', status: 503, retryAfter: '2' }) },
      { name: '504', weight: 1, make: () => ({ kind: 'status', status: 504 }) },
      { name: 'slow', weight: 1, make: (_req, r) => ({ kind: 'delay', ms: 20 + Math.floor(r() * 100) }) },
      { name: 'timeout', weight: 0.5, make: () => ({ kind: 'delay', ms: Math.round(timeoutMs * 1.5) }) },
      { name: 'trickle', weight: 0.5, make: () => ({ kind: 'trickle', ms: timeoutMs * 3, chunks: 30 }) },
      { name: 'cut', weight: 1, make: () => ({ kind: 'cut' }) },
      { name: 'reset', weight: 1, make: () => ({ kind: 'destroy' }) },
      // garbage: a tenth of the faults
      { name: 'truncated-json', weight: 0.25, make: data(() => ({ kind: 'truncate', fraction: 0.5 })) },
      { name: 'wrong-shape', weight: 0.25, make: data(() => ({ kind: 'transform', run: adapter.wrongShape })) },
      { name: 'records-without-id', weight: 0.25, make: data(() => ({ kind: 'transform', run: adapter.noIds })) },
      { name: 'short-page', weight: 0.25, make: data(() => ({ kind: 'transform', run: adapter.short })) },
      { name: 'listing-ends-early', weight: 0.25, make: data(() => ({ kind: 'transform', run: adapter.endsHere })) },
    ];
    if (transientOnly) mix.splice(mix.findIndex((e) => e.name === 'truncated-json'));
    if (fake instanceof FakePersonio) {
      const expire = () => {
        tokenExpiries++;
        fake.expireTokens();
      };
      mix.push({ name: 'token-expired', weight: 0.5, make: () => ({ kind: 'hook', run: expire }) });
    }
    return mix;
  }

  function check(d: HrChaosDetail): void {
    const p = d.problems;
    if (d.wrongful > 0) p.push(`${d.wrongful} wrongful deactivations`);
    if (d.lost > 0) p.push(`${d.lost} employees lost`);
    if (d.stale > 0) p.push(`${d.stale} users still active whose employee left`);
    if (d.duplicated > 0) p.push(`${d.duplicated} duplicated users`);
    if (d.logLeaks > 0) p.push(`${d.logLeaks} log lines with a secret or an e-mail address`);
    const unexpected = d.statuses.filter((s) => !d.expectedStatus.includes(s));
    if (unexpected.length > 0) p.push(`status ${unexpected.join(', ')} (expected ${d.expectedStatus.join(' or ')}${d.reason ? `; ${d.reason}` : ''})`);
    d.requests.forEach((n, i) => {
      if (n > d.requestBounds[i]) p.push(`${n} requests, above the bound ${d.requestBounds[i]}`);
    });
    if (d.recovery !== null && d.recovery !== 'succeeded' && d.recovery !== 'approved') p.push(`the clean run after it ended ${d.recovery}`);
    if (d.kind === 'trickle' && d.timeouts < 2) p.push(`trickled responses were waited out (${d.timeouts} attempts cut by the deadline, 2 expected)`);
  }
}

// ---- rows for the table ---------------------------------------------------------------------------

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

function notes(d: HrChaosDetail): string {
  const parts: string[] = [];
  if (d.kind === 'random' || d.kind === 'random-transient') {
    const by = d.statuses.reduce<Record<string, number>>((a, s) => ({ ...a, [s]: (a[s] ?? 0) + 1 }), {});
    parts.push(Object.entries(by).map(([s, n]) => `${n} ${s}`).join(', '));
    parts.push(`faults ${Object.entries(d.injected).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  } else {
    parts.push(d.statuses[0] === 'succeeded' && d.retries > 0 ? `succeeded after ${d.retries} retries` : d.statuses.join(', '));
    if (d.reason) parts.push(`“${d.reason.length > 140 ? `${d.reason.slice(0, 137)}…` : d.reason}”`);
  }
  if (d.held > 0) parts.push(`${d.held} deactivations held, rejected`);
  if (d.recovery === 'approved') parts.push(`next clean run needs_approval: its ${d.approvedHeld} held deactivations, the leavers of the failed runs together (over 10 %), all rightful, approved`);
  else if (d.recovery) parts.push(`next clean run ${d.recovery}`);
  if (d.requests.length > 0) {
    const max = Math.max(...d.requests);
    const clean = d.cleanRequests[d.requests.indexOf(max)];
    const bound = d.requestBounds[d.requests.indexOf(max)];
    parts.push(d.requests.length === 1 ? `requests ${max} (clean ${clean}, bound ${bound})` : `requests per run ≤ ${max} (clean ${clean}, bound ${bound})`);
  }
  if (d.virtualWaitSeconds >= 1) parts.push(`would wait ${round(d.virtualWaitSeconds, 0)} s for backoff/Retry-After`);
  if (d.timeouts > 0) parts.push(`${d.timeouts} attempts timed out`);
  if (d.rightful > 0) parts.push(`${d.rightful} rightful deactivations`);
  if (d.problems.length > 0) parts.push(`PROBLEMS: ${d.problems.join('; ')}`);
  return parts.join('; ');
}

export function toResults(details: HrChaosDetail[]): ChaosResult[] {
  return details.map((d) => ({
    table: TABLE,
    scenario: d.scenario,
    // A listing that shrinks, or an export damaged on disk, is one fault the vendor did not "play".
    faults: d.faults || (d.kind.startsWith('random') ? 0 : 1),
    expected: d.expected,
    lost: d.lost,
    duplicated: d.duplicated,
    duplicateBound: 0,
    violations: d.wrongful,
    recoverySeconds: d.recoverySeconds === null ? null : round(d.recoverySeconds, 2),
    seconds: round(d.seconds, 2),
    ok: d.problems.length === 0,
    notes: notes(d),
  }));
}

function scenarioFor(connector: ConnectorKind): ChaosScenario {
  return {
    name: `hr-api-${connector}`,
    table: TABLE,
    async run({ quick, log }) {
      return toResults(await runHrApiChaos({ connector, quick, log }));
    },
  };
}

export const scenarios: ChaosScenario[] = (['bamboohr', 'personio', 'hibob', 'file'] as ConnectorKind[]).map(scenarioFor);
