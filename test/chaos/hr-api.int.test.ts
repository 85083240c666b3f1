/**
 * HR API chaos, the short version (bench/chaos/hr-api.ts in quick mode: 300 employees per
 * connector, 2 seeded random runs of each mix): every connector against a misbehaving vendor (fake servers on
 * 127.0.0.1) or a damaged export, with a store that already holds the whole population. The four
 * connectors run side by side, each in its own organization of one database.
 *
 * What must hold for every fault: no wrongful deactivation (a user deactivated whose employee is
 * active in HR), nobody lost or duplicated, no secret or e-mail address in a log line, requests
 * within the client's bound, the expected end (succeeded after retries, failed with a clear
 * reason, or needs_approval with nothing deactivated), and a clean run afterwards succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_KINDS, HTTP_KINDS, runHrApiChaos, type ConnectorKind, type FaultKind, type HrChaosDetail } from '../../bench/chaos/hr-api.js';
import { createTestStore, type TestStore } from '../support/store.js';

const CONNECTORS: ConnectorKind[] = ['bamboohr', 'personio', 'hibob', 'file'];
const KINDS: Record<ConnectorKind, FaultKind[]> = {
  bamboohr: [...HTTP_KINDS, 'random-transient', 'random'],
  personio: [...HTTP_KINDS, 'random-transient', 'random'],
  hibob: [...HTTP_KINDS, 'random-transient', 'random'],
  file: FILE_KINDS,
};

let store: TestStore;
const details = new Map<ConnectorKind, HrChaosDetail[]>();

beforeAll(async () => {
  store = await createTestStore();
  const all = await Promise.all(CONNECTORS.map((connector) => runHrApiChaos({ connector, quick: true, store })));
  CONNECTORS.forEach((c, i) => details.set(c, all[i]));
}, 150_000);

afterAll(async () => {
  await store?.drop();
});

const row = (c: ConnectorKind, kind: FaultKind): HrChaosDetail => {
  const d = details.get(c)?.find((x) => x.kind === kind);
  if (!d) throw new Error(`no result for ${c} / ${kind}`);
  return d;
};

describe.each(CONNECTORS)('%s under HR API chaos', (c) => {
  it.each(KINDS[c])('%s: no wrongful deactivation, nobody lost or duplicated, nothing leaked, the expected end', (kind) => {
    const d = row(c, kind);
    expect(d.wrongful, d.scenario).toBe(0);
    expect(d.lost, d.scenario).toBe(0);
    expect(d.stale, d.scenario).toBe(0);
    expect(d.duplicated, d.scenario).toBe(0);
    expect(d.logLeaks, d.scenario).toBe(0);
    for (const s of d.statuses) expect(d.expectedStatus, `${d.scenario}: ${d.reason}`).toContain(s);
    // ('approved': the clean listing was held because the leavers of the failed runs together
    // exceeded the threshold, and every held deactivation was rightful)
    if (d.statuses.at(-1) !== 'succeeded') expect(['succeeded', 'approved'], 'the clean run afterwards').toContain(d.recovery);
    d.requests.forEach((n, i) => expect(n, 'requests within 5 attempts per request of a clean listing').toBeLessThanOrEqual(d.requestBounds[i]));
    expect(d.problems).toStrictEqual([]);
  });
});

describe.each(['bamboohr', 'personio', 'hibob'] as ConnectorKind[])('%s: each fault, specifically', (c) => {
  it('rides out a 429 storm, waiting as Retry-After says', () => {
    const d = row(c, '429-storm');
    expect(d.statuses).toStrictEqual(['succeeded']);
    // two 429s per request (quick): three attempts each; Retry-After: 1 → ≥ 1 s (dilated) per retry
    expect(d.injected['status 429']).toBe(2 * d.cleanRequests[0]);
    expect(d.requests[0]).toBeGreaterThanOrEqual(3 * d.cleanRequests[0]);
    expect(d.virtualWaitSeconds).toBeGreaterThanOrEqual(2 * d.cleanRequests[0]);
  });

  it('gives up on 429s without end after 5 attempts, with a clear reason', () => {
    const d = row(c, '429-wall');
    expect(d.statuses).toStrictEqual(['failed']);
    expect(d.requests[0]).toBe(5);
    expect(d.reason).toMatch(/HTTP 429 · 5 attempts: giving up after retries/);
    expect(d.rightful).toBeGreaterThan(0); // the clean run afterwards did deactivate the leavers
  });

  it('rides out bursts of 5xx', () => {
    const d = row(c, '5xx-burst');
    expect(d.statuses).toStrictEqual(['succeeded']);
    expect(d.faults).toBe(12);
    expect(d.requests[0]).toBeGreaterThanOrEqual(d.cleanRequests[0] + 12);
  });

  it('retries responses slower than the timeout, and cuts trickling ones at the deadline', () => {
    const slow = row(c, 'slow');
    expect(slow.statuses).toStrictEqual(['succeeded']);
    expect(slow.timeouts).toBeGreaterThanOrEqual(2);
    const trickle = row(c, 'trickle');
    expect(trickle.statuses).toStrictEqual(['succeeded']);
    expect(trickle.timeouts).toBeGreaterThanOrEqual(2);
  });

  it('retries connections cut mid-response', () => {
    const d = row(c, 'cut');
    expect(d.statuses).toStrictEqual(['succeeded']);
    expect(d.faults).toBeGreaterThan(0);
    expect(d.requests[0]).toBeGreaterThanOrEqual(d.cleanRequests[0] + d.faults);
  });

  it('fails on a garbage page, naming it, and deactivates nobody', () => {
    expect(row(c, 'garbage-json')).toMatchObject({ statuses: ['failed'], wrongful: 0, recovery: 'succeeded' });
    expect(row(c, 'garbage-json').reason).toMatch(/not valid JSON/);
    expect(row(c, 'garbage-shape').reason).toMatch(/unexpected response shape/);
    expect(row(c, 'short-page').reason).toMatch(/incomplete, not trusting it/);
  });

  it('holds (or fails) a page whose records lost their ids, rather than taking them as gone', () => {
    const d = row(c, 'garbage-records');
    if (c === 'hibob') expect(d.reason).toMatch(/incomplete|without id/);
    else if (c === 'bamboohr') {
      // Keyset paging cannot go on from a page without ids: the run fails, nobody deactivated.
      expect(d.statuses).toStrictEqual(['failed']);
      expect(d.reason).toMatch(/without readable employee ids \(eeid\): keyset paging cannot go on/);
      expect(d.wrongful).toBe(0);
    }
    else {
      expect(d.statuses).toStrictEqual(['needs_approval']);
      expect(d.reason).toMatch(/had no readable employee id: their absence is not proven/);
      expect(d.held).toBeGreaterThan(0);
    }
  });

  it('fails a listing that shrinks while it is read', () => {
    const d = row(c, 'shrink-midlisting');
    expect(d.statuses).toStrictEqual(['failed']);
    expect(d.reason).toMatch(c === 'hibob' ? /incomplete/ : /the listing shrank while it was read/);
  });

  it('holds a listing shrunk to 5 %: needs_approval, nobody deactivated, then a clean run succeeds', () => {
    const d = row(c, 'shrink-5pct');
    expect(d.statuses).toStrictEqual(['needs_approval']);
    expect(d.reason).toMatch(/exceed maxPercent 10/);
    expect(d.held).toBeGreaterThan(d.expected / 2);
    expect(d.recovery).toBe('succeeded');
  });

  it('survives seeded random mixes (transient faults; every kind) with no wrongful deactivation', () => {
    for (const kind of ['random-transient', 'random'] as const) {
      const d = row(c, kind);
      expect(d.statuses).toHaveLength(2);
      expect(d.faults).toBeGreaterThan(0);
      expect(d.wrongful).toBe(0);
    }
    expect(Object.keys(row(c, 'random-transient').injected).filter((k) => /json|shape|without-id|short|ends/.test(k))).toStrictEqual([]);
  });
});

describe('file connector: damaged exports', () => {
  it('fails on a broken CSV, a renamed column and a truncated file; holds on rows without id or a 5 % export', () => {
    expect(row('file', 'garbage-csv').reason).toMatch(/Quote Not Closed|quote/i);
    expect(row('file', 'garbage-shape').reason).toMatch(/missing required column employeeId/);
    expect(row('file', 'truncated').reason).toMatch(/looks truncated/);
    expect(row('file', 'garbage-records')).toMatchObject({ statuses: ['needs_approval'], wrongful: 0 });
    expect(row('file', 'shrink-5pct')).toMatchObject({ statuses: ['needs_approval'], wrongful: 0 });
  });
});
