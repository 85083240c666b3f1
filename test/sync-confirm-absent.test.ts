import { describe, expect, it } from 'vitest';
import { emptyEmployee, type HrEmployee } from '../connectors/types.js';
import { AppError } from '../src/lib/errors.js';
import { worthConfirming } from '../src/domain/sync-plan.js';
import { confirmAbsent } from '../src/sync/confirm-absent.js';

const emp = (id: string, status = 'active'): HrEmployee => ({ ...emptyEmployee(id), email: `${id}@acme.example`, status });

describe('confirmAbsent', () => {
  it('sorts the answers: present (any status but inactive), gone (null or inactive), unknown (left out)', async () => {
    const answer = new Map<string, HrEmployee | null>([['a', emp('a')], ['b', null], ['c', emp('c', 'inactive')], ['e', emp('e', 'weird')]]);
    const out = await confirmAbsent(['a', 'b', 'c', 'd', 'e'], async () => answer);
    expect(out.present.map((e) => e.externalId)).toStrictEqual(['a', 'e']);
    expect(out.gone).toBe(2);
    expect(out.unknown).toStrictEqual(['d']);
    expect(out.error).toBeNull();
  });

  it('calls in slices; the first failing call leaves its ids and every later one unknown, and stops', async () => {
    const calls: string[][] = [];
    const out = await confirmAbsent(['1', '2', '3', '4', '5'], async (ids) => {
      calls.push([...ids]);
      if (ids.includes('3')) throw new AppError('connector_request_failed', 'Vendor GET /x · HTTP 503 · 5 attempts');
      return new Map(ids.map((id) => [id, null]));
    }, 2);
    expect(calls).toStrictEqual([['1', '2'], ['3', '4']]);
    expect(out.gone).toBe(2);
    expect(out.unknown).toStrictEqual(['3', '4', '5']);
    expect(out.error).toMatch(/HTTP 503/);
    expect(out.calls).toBe(2);
  });

  it('makes no call for nobody', async () => {
    let n = 0;
    const out = await confirmAbsent([], async () => (n++, new Map()));
    expect(n).toBe(0);
    expect(out).toMatchObject({ present: [], gone: 0, unknown: [], calls: 0 });
  });
});

describe('worthConfirming', () => {
  it('confirms up to twice the threshold, at least 20, and holds a broken listing unconfirmed', () => {
    expect(worthConfirming(20, 100, {})).toBe(true); // 10 % of 100 = 10, twice = 20
    expect(worthConfirming(21, 100, {})).toBe(false);
    expect(worthConfirming(20, 50, {})).toBe(true); // a small connector: at least 20 (twice 10 % of 50 is 10)
    expect(worthConfirming(21, 50, {})).toBe(false);
    expect(worthConfirming(200, 1000, {})).toBe(true);
    expect(worthConfirming(201, 1000, {})).toBe(false);
    expect(worthConfirming(60, 10_000, { maxCount: 30 })).toBe(true);
    expect(worthConfirming(61, 10_000, { maxCount: 30 })).toBe(false);
    expect(worthConfirming(950, 1000, { maxPercent: 100 })).toBe(true);
  });
});
