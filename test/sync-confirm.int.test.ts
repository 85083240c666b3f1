/**
 * Nobody living is deactivated: a user absent from a complete listing is looked up by id at
 * the HR system before the deactivation is applied. Fake vendors on 127.0.0.1, the real store.
 *
 * The listing that skips people: after page 1 is served, HR removes 5 active people of page 1
 * and hires 5 (total unchanged). Offset/page paging then starts page 2 five people late: the
 * first 5 of the old page 2 are never read. Only the 5 removed may be deactivated.
 */
import { describe, expect, it } from 'vitest';
import { createBamboohrConnector } from '../connectors/bamboohr/index.js';
import { createHibobConnector } from '../connectors/hibob/index.js';
import { createPersonioConnector } from '../connectors/personio/index.js';
import { getConnector } from '../connectors/registry.js';
import type { HrConnector } from '../connectors/types.js';
import { createLogger, silentLogger } from '../src/lib/logger.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { FakeBamboohr, generateBamboohrRows } from './fakes/bamboohr-server.js';
import { fastDeps } from './fakes/connector-context.js';
import type { FakeRequest, FakeServer } from './fakes/fake-server.js';
import { FakeHibob, generateHibobPeople } from './fakes/hibob-server.js';
import { FakePersonio, generatePersonioRows } from './fakes/personio-server.js';
import { configFor, storePerFile } from './support/store.js';

interface Vendor {
  name: string;
  type: 'bamboohr' | 'personio' | 'hibob';
  paging?: string;
  fake(): FakeServer;
  options(baseUrl: string, pageSize: number): Record<string, unknown>;
  connector(deps: ReturnType<typeof fastDeps>['deps']): HrConnector<any>;
  /** Serve n generated employees (every 10th inactive). */
  generate(fake: FakeServer, n: number): void;
  /** The employee id of the i-th generated employee (1-based). */
  id(i: number): string;
  /** HR deletes these employees (by id) and hires `hires` new ones at the end. */
  change(fake: FakeServer, remove: string[], hires: number): void;
  /** Listing requests for page 2 (1-based), retries included. */
  page2(fake: FakeServer, pageSize: number): (req: FakeRequest) => boolean;
  isLookup(req: FakeRequest): boolean;
  /** Look-up requests made (default: the requests `isLookup` matches). */
  lookups?(fake: FakeServer, listed: number, pageSize: number): number;
}

const KEY = 'bhr-confirm-key-5e1a9c7d';
const PID = 'papi-confirm-id';
const PSECRET = 'papi-confirm-secret-0b3d5f7a';
const HUSER = 'SERVICE-CONFIRM';
const HTOKEN = 'hbtok_confirm_7a6b5c4d3e2f';

const bamboohr = (paging: 'page' | 'keyset'): Vendor => ({
  name: `BambooHR (${paging} paging)`,
  type: 'bamboohr',
  paging,
  fake: () => new FakeBamboohr({ companyDomain: 'acme', apiKey: KEY, rows: [] }),
  options: (baseUrl, pageSize) => ({ companyDomain: 'acme', apiKey: KEY, baseUrl, pageSize, ...(paging === 'page' ? { paging } : {}) }),
  connector: (deps) => createBamboohrConnector(deps),
  generate: (f, n) => void ((f as FakeBamboohr).rows = generateBamboohrRows(n)),
  id: (i) => String(i),
  change(f, remove, hires) {
    const fake = f as FakeBamboohr;
    const next = Math.max(...fake.rows.map((r) => Number(r.fields.eeid))) + 1;
    const fresh = generateBamboohrRows(next + hires - 1).slice(next - 1);
    fake.rows = [...fake.rows.filter((r) => !remove.includes(String(r.fields.eeid))), ...fresh];
  },
  page2: (f) => (req) => req.path === (f as FakeBamboohr).datasetPath && !isBamboohrLookup(req) && (req.body as { page?: number }).page === 2
    || req.path === (f as FakeBamboohr).datasetPath && /eeid gt/.test(String((req.body as { filter?: string }).filter)),
  isLookup: isBamboohrLookup,
});

function isBamboohrLookup(req: FakeRequest): boolean {
  return /^eeid eq /.test(String((req.body as { filter?: unknown } | undefined)?.filter ?? ''));
}

const personio: Vendor = {
  name: 'Personio v1 (offset paging)',
  type: 'personio',
  fake: () => new FakePersonio({ clientId: PID, clientSecret: PSECRET, rows: [] }),
  options: (baseUrl, pageSize) => ({ clientId: PID, clientSecret: PSECRET, baseUrl, pageSize }),
  connector: (deps) => createPersonioConnector(deps),
  generate: (f, n) => void ((f as FakePersonio).rows = generatePersonioRows(n)),
  id: (i) => String(i),
  change(f, remove, hires) {
    const fake = f as FakePersonio;
    const next = Math.max(...fake.rows.map((r) => Number(r.attributes.id.value))) + 1;
    const fresh = generatePersonioRows(next + hires - 1).slice(next - 1);
    fake.rows = [...fake.rows.filter((r) => !remove.includes(String(r.attributes.id.value))), ...fresh];
  },
  page2: (f, ps) => (f as FakePersonio).isEmployees(ps),
  isLookup: (req) => /^\/v1\/company\/employees\/[^/]+$/.test(req.path),
};

const hibob: Vendor = {
  name: 'HiBob (ids, then slices)',
  type: 'hibob',
  fake: () => new FakeHibob({ serviceUserId: HUSER, token: HTOKEN, people: [] }),
  options: (baseUrl, pageSize) => ({ serviceUserId: HUSER, token: HTOKEN, baseUrl, pageSize }),
  connector: (deps) => createHibobConnector(deps),
  generate: (f, n) => void ((f as FakeHibob).people = generateHibobPeople(n)),
  id: (i) => String(1000000000000000000n + BigInt(i)),
  change(f, remove, hires) {
    const fake = f as FakeHibob;
    const n = fake.people.length;
    const fresh = generateHibobPeople(n + hires).slice(n);
    fake.people = [...fake.people.filter((p) => !remove.includes(p.id)), ...fresh];
  },
  page2: () => () => false,
  // Slices and look-ups are the same search; a look-up is the one filtered search after the last slice.
  isLookup: () => false,
  lookups: (f, listed, ps) => f.countWhere((f as FakeHibob).isSlice()) - Math.ceil(listed / ps),
};

const file = storePerFile();
const { cleanups } = file;

async function setup(vendor: Vendor, pageSize: number) {
  const seq = file.next();
  const org = `confirm-org-${seq}`;
  const connectorId = `confirm-${vendor.type}-${seq}`;
  const fake = vendor.fake();
  const baseUrl = await fake.start();
  cleanups.push(() => fake.stop());
  const config = configFor(file.store.url, {
    organizations: [{ id: org, name: `Confirm ${seq}`, connectors: [{ id: connectorId, type: vendor.type, options: vendor.options(baseUrl, pageSize) }] }],
    sync: { batchSize: pageSize },
  });
  const fast = fastDeps();
  const connector = vendor.connector(fast.deps);
  const engine = new SyncEngine({ orm: file.store.orm, config, log: process.env.CONFIRM_DEBUG ? createLogger({ level: 'debug', name: 'confirm' }) : silentLogger, resolveConnector: (t) => (t === vendor.type ? connector : getConnector(t)) });
  const ids = async (status: 'active' | 'deactivated') =>
    (await file.store.query<{ external_id: string }>(`select external_id from users where connector_id = $1 and status = $2 order by external_id`, [connectorId, status])).map((r) => r.external_id);
  return { fake, engine, run: (dryRun = false) => engine.run({ connectorId, dryRun }), ids, connectorId, lookups: () => fake.countWhere(vendor.isLookup) };
}

const sorted = (a: string[]) => [...a].sort();

describe.each([bamboohr('page'), bamboohr('keyset'), personio])('$name: a listing that changes while it is read', (vendor) => {
  it('deactivates exactly the 5 people HR removed, and nobody the shifted pages skipped', async () => {
    const ps = 50;
    const t = await setup(vendor, ps);
    vendor.generate(t.fake, 200);
    const first = await t.run();
    expect(first.status).toBe('succeeded');
    expect(await t.ids('active')).toHaveLength(180);

    // After page 1: 5 active people of page 1 leave, 5 are hired (the total stays 200).
    const removed = [3, 4, 5, 6, 7].map(vendor.id);
    t.fake.resetCounters();
    t.fake.script({ kind: 'hook', run: () => vendor.change(t.fake, removed, 5) }, { when: vendor.page2(t.fake, ps) });
    const run = await t.run();
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(t.fake.injected.hook).toBe(1);
    // The 5 who left were read on page 1, before they left: this run cannot know yet. Nobody
    // still employed is deactivated.
    expect(run.counts).toMatchObject({ deactivated: 0, created: 5 });
    expect(await t.ids('deactivated')).toStrictEqual([]);
    if (vendor.paging === 'keyset') {
      // Keyset paging skips nobody: nobody absent, no look-up.
      expect(run.counts.confirmedPresent).toBe(0);
      expect(t.lookups()).toBe(0);
    } else {
      // Page 2 started 5 people late: 51–55 were never read; looked up, found, kept (and re-synced).
      expect(run.counts.confirmedPresent).toBe(5);
      expect(t.lookups()).toBe(vendor.type === 'personio' ? 5 : 1);
    }
    expect(await t.ids('active')).toHaveLength(185);

    // The next run: the 5 who left are absent, confirmed gone, deactivated; nobody else.
    t.fake.resetCounters();
    const next = await t.run();
    expect(next.status).toBe('succeeded');
    expect(next.counts).toMatchObject({ deactivated: 5, created: 0, confirmedPresent: 0 });
    expect(sorted(await t.ids('deactivated'))).toStrictEqual(sorted(removed));
    expect(await t.ids('active')).toHaveLength(180);
    expect(t.lookups()).toBe(vendor.type === 'personio' ? 5 : 1);
  });

  it('does not deactivate a missing person whose confirmation keeps failing, and says why', async () => {
    const ps = 50;
    const t = await setup(vendor, ps);
    vendor.generate(t.fake, 200);
    expect((await t.run()).status).toBe('succeeded');

    vendor.change(t.fake, [vendor.id(8)], 0); // one person really left …
    t.fake.script({ kind: 'status', status: 503 }, { times: 1000, when: vendor.isLookup }); // … and the HR system cannot confirm it
    const run = await t.run();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/1 of 1 users absent from the listing could not be confirmed at the HR system \(.*HTTP 503 · 5 attempts.*\); nobody was deactivated/);
    expect(run.counts.deactivated).toBe(0);
    expect(await t.ids('deactivated')).toHaveLength(0);
    expect(await t.ids('active')).toHaveLength(180);
    expect(t.lookups()).toBe(5); // one look-up, 5 attempts
    const [{ n }] = await file.store.query<{ n: number }>(`select count(*)::int as n from sync_run_deactivations where run_id = $1`, [run.id]);
    expect(n).toBe(0);

    // The HR system answers again: the next run confirms and deactivates.
    t.fake.clearScript();
    const next = await t.run();
    expect(next.status).toBe('succeeded');
    expect(await t.ids('deactivated')).toStrictEqual([vendor.id(8)]);
  });
});

describe('a dry run confirms too (look-ups only read the HR system)', () => {
  it('reports the skipped people as confirmed present, not as deactivations, and writes nothing', async () => {
    const vendor = personio;
    const t = await setup(vendor, 50);
    vendor.generate(t.fake, 200);
    expect((await t.run()).status).toBe('succeeded');
    t.fake.script({ kind: 'hook', run: () => vendor.change(t.fake, [3, 4, 5, 6, 7].map(vendor.id), 5) }, { when: vendor.page2(t.fake, 50) });
    const dry = await t.run(true);
    expect(dry.status).toBe('succeeded');
    expect(dry.counts).toMatchObject({ deactivated: 0, confirmedPresent: 5, created: 5 });
    expect(await t.ids('active')).toHaveLength(180); // nothing written
  });
});

describe.each([bamboohr('keyset'), bamboohr('page'), personio, hibob])('$name: look-ups only for the missing', (vendor) => {
  it('makes no look-up when nobody is missing, and a few when 1 % is', async () => {
    const t = await setup(vendor, 100);
    vendor.generate(t.fake, 500);
    expect((await t.run()).status).toBe('succeeded');
    t.fake.resetCounters();
    const again = await t.run();
    expect(again.status).toBe('succeeded');
    const lookupsOf = (listed: number) => (vendor.lookups ? vendor.lookups(t.fake, listed, 100) : t.fake.countWhere(vendor.isLookup));
    expect(lookupsOf(500)).toBe(0);
    const listing = t.fake.count;

    const gone = [11, 12, 13, 14, 15].map(vendor.id); // 5 of 450 active: about 1 %
    vendor.change(t.fake, gone, 0);
    t.fake.resetCounters();
    const run = await t.run();
    expect(run.status).toBe('succeeded');
    expect(sorted(await t.ids('deactivated'))).toStrictEqual(sorted(gone));
    const lookups = lookupsOf(495);
    expect(lookups).toBe(vendor.type === 'personio' ? 5 : 1);
    // The listing itself costs no more (Personio: + the look-up's own token request).
    expect(t.fake.count - lookups).toBeLessThanOrEqual(listing + (vendor.type === 'personio' ? 1 : 0));
  });
});
