import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isAppError } from '../../src/lib/errors.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, PageGuard, parsePage, parseRetryAfter, retryDelayForStatus } from './client.js';
import { normalizeDate } from './records.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 7 ', 7_000],
    ['1.5', 1_500],
    ['Sat, 01 Mar 2025 12:00:30 GMT', 30_000],
    ['Sat, 01 Mar 2025 11:59:00 GMT', 0],
  ])('reads %j as %i ms', (header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });

  it.each([[undefined], [null], [''], ['soon'], ['-5']])('ignores %j', (header) => {
    expect(parseRetryAfter(header as string | undefined, NOW)).toBeNull();
  });
});

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles per attempt and stays between half and all of the ceiling', () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const ceiling = Math.min(1_000, 100 * 2 ** attempt);
      expect(backoffDelay(attempt, policy, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, policy, () => 1)).toBe(ceiling);
      const d = backoffDelay(attempt, policy);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });

  it('never exceeds the maximum delay', () => {
    expect(backoffDelay(50, policy, () => 1)).toBe(1_000);
  });
});

describe('retryDelayForStatus', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };
  const half = () => 0.5;

  it('honours Retry-After on 429', () => {
    expect(retryDelayForStatus(429, '12', 0, policy, half, NOW)).toBe(12_000);
  });

  it('honours an HTTP-date Retry-After on 503', () => {
    expect(retryDelayForStatus(503, 'Sat, 01 Mar 2025 12:00:05 GMT', 0, policy, half, NOW)).toBe(5_000);
  });

  it('caps a very long Retry-After', () => {
    expect(retryDelayForStatus(429, '86400', 0, policy, half, NOW)).toBe(60_000);
  });

  it('backs off exponentially on 429 without Retry-After and on other 5xx', () => {
    expect(retryDelayForStatus(429, undefined, 0, policy, half, NOW)).toBe(75);
    expect(retryDelayForStatus(500, undefined, 1, policy, half, NOW)).toBe(150);
    expect(retryDelayForStatus(502, '999', 2, policy, half, NOW)).toBe(300);
  });

  it.each([400, 401, 403, 404, 409, 422])('does not retry %i', (status) => {
    expect(retryDelayForStatus(status, '1', 0, policy, half, NOW)).toBeNull();
  });
});

describe('PageGuard', () => {
  it('refuses a page key seen before', () => {
    const g = new PageGuard('Vendor', 10);
    g.next(0);
    g.next(100);
    expect(() => g.next(100)).toThrow(/repeated page 100/);
  });

  it('refuses more pages than maxPages', () => {
    const g = new PageGuard('Vendor', 2);
    g.next(1);
    g.next(2);
    expect(() => g.next(3)).toThrow(/more than 2 pages/);
  });

  it('refuses a page whose content repeats the previous one', () => {
    const g = new PageGuard('Vendor', 10);
    g.content('1..5#5', 0);
    g.content('6..10#5', 5);
    expect(() => g.content('6..10#5', 10)).toThrow(/repeats the previous page/);
  });

  // Found by the HR API chaos (bench/chaos/hr-api.ts, "shrink-midlisting").
  it('refuses a listing whose announced total drops while it is read; a growing one is fine', () => {
    const g = new PageGuard('Vendor', 10);
    g.total(1000, 1);
    g.total(1001, 2);
    expect(g.announcedTotal).toBe(1001);
    expect(() => g.total(975, 3)).toThrow('Vendor: the listing shrank while it was read (page 3 announces 975 records, an earlier page 1001): not trusting it');
  });
});

describe('parsePage', () => {
  const schema = z.object({ data: z.array(z.object({ id: z.string() })) });

  it('passes a page of the right shape', () => {
    expect(parsePage(schema, { data: [{ id: 'a' }] }, 'page 1')).toStrictEqual({ data: [{ id: 'a' }] });
  });

  it.each([
    ['truncated JSON', '{"data": [{"id": "a"'],
    ['a missing envelope', { items: [] }],
    ['wrong types', { data: [{ id: 1 }] }],
  ])('throws connector_bad_response on %s', (_what, body) => {
    let err: unknown;
    try {
      parsePage(schema, body, 'page 1');
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('connector_bad_response');
  });
});

describe('normalizeDate', () => {
  it.each([
    ['2024-02-29', '2024-02-29'],
    ['2014-11-09T00:00:00+01:00', '2014-11-09'],
    ['2023-12-31T23:30:00-05:00', '2023-12-31'],
    ['0000-00-00', null],
    ['', null],
    [null, null],
  ])('normalizes %j to %j', (input, out) => {
    expect(normalizeDate(input, 'd')).toBe(out);
  });

  it.each([['31/12/2020'], ['2020-13-01'], ['yesterday'], [20200101]])('refuses %j', (input) => {
    expect(() => normalizeDate(input, 'd')).toThrow(/^d: /);
  });
});
