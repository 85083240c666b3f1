import { describe, expect, it } from 'vitest';
import { endOfDay, planLeavers } from '../../src/domain/leaver-plan.js';
import { reminderDueAt } from '../../src/domain/reminder-plan.js';
import { LATE_HIRE_DAYS, planRuleInvitations, ruleMoment, type RulePerson } from '../../src/domain/rule-plan.js';
import { addDays, zonedToUtc } from '../../src/domain/zoned-time.js';

const rule = { daysBefore: 3, localTime: '09:00', rehires: false };
const person = (over: Partial<RulePerson> = {}): RulePerson => ({
  userId: 'u1', startDate: '2026-06-10', timeZone: 'Europe/Berlin', status: 'active', access: 'none', hasEmail: true, rehire: false, ...over,
});
const NOW = new Date('2026-01-01T00:00:00Z');

describe('ruleMoment: 09:00 local, three days before the start date, across DST', () => {
  it.each([
    // Europe/Berlin: CET (+1) until 29 March 2026 02:00, CEST (+2) until 25 October 03:00
    ['Europe/Berlin', '2026-03-31', '2026-03-28T08:00:00.000Z'],
    ['Europe/Berlin', '2026-04-01', '2026-03-29T07:00:00.000Z'], // the day the clocks go forward
    ['Europe/Berlin', '2026-10-27', '2026-10-24T07:00:00.000Z'],
    ['Europe/Berlin', '2026-10-28', '2026-10-25T08:00:00.000Z'], // the day the clocks go back
    // America/New_York: EST (-5) until 8 March 2026, EDT (-4) until 1 November
    ['America/New_York', '2026-03-10', '2026-03-07T14:00:00.000Z'],
    ['America/New_York', '2026-03-11', '2026-03-08T13:00:00.000Z'],
    ['America/New_York', '2026-11-03', '2026-10-31T13:00:00.000Z'],
    ['America/New_York', '2026-11-04', '2026-11-01T14:00:00.000Z'],
    ['UTC', '2026-01-04', '2026-01-01T09:00:00.000Z'],
    ['Asia/Kolkata', '2026-06-10', '2026-06-07T03:30:00.000Z'],
    // over a month and a year boundary
    ['Europe/Berlin', '2027-01-02', '2026-12-30T08:00:00.000Z'],
  ])('%s, start %s → %s', (tz, start, expected) => {
    expect(ruleMoment(rule, start, tz).toISOString()).toBe(expected);
  });

  it('a local time the clocks skip moves forward by the gap; a repeated one is its first occurrence', () => {
    expect(zonedToUtc('2026-03-29', '02:30', 'Europe/Berlin').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(zonedToUtc('2026-10-25', '02:30', 'Europe/Berlin').toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(zonedToUtc('2026-03-08', '02:30', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z');
  });

  it('zero days before: the start day itself', () => {
    expect(ruleMoment({ daysBefore: 0, localTime: '07:15' }, '2026-06-10', 'America/New_York').toISOString()).toBe('2026-06-10T11:15:00.000Z');
  });
});

describe('planRuleInvitations', () => {
  it('one plan per person at their own local moment', () => {
    const plans = planRuleInvitations(rule, [person({ userId: 'b' }), person({ userId: 'n', timeZone: 'America/New_York' })], NOW);
    expect(plans.map((p) => [p.userId, p.at.toISOString()])).toEqual([
      ['b', '2026-06-07T07:00:00.000Z'],
      ['n', '2026-06-07T13:00:00.000Z'],
    ]);
  });

  it.each([
    ['no start date', { startDate: null }],
    ['deactivated', { status: 'deactivated' as const }],
    ['no e-mail', { hasEmail: false }],
    ['already invited', { access: 'invited' as const }],
    ['already active', { access: 'active' as const }],
    ['a rehire, the rule not counting rehires', { rehire: true }],
    ['already invited by this rule for this start date', { firedFor: '2026-06-10' }],
  ])('skips: %s', (_why, over) => {
    expect(planRuleInvitations(rule, [person(over)], NOW)).toEqual([]);
  });

  it('a rehire is a joiner when the rule says so; a fired plan for another start date is planned again', () => {
    expect(planRuleInvitations({ ...rule, rehires: true }, [person({ rehire: true })], NOW)).toHaveLength(1);
    expect(planRuleInvitations(rule, [person({ firedFor: '2025-01-01' })], NOW)).toHaveLength(1);
  });

  it('a moment already past means now (a hire entered late); a start date long past is not a joiner', () => {
    const now = new Date('2026-06-09T12:00:00Z');
    expect(planRuleInvitations(rule, [person()], now)[0]!.at).toEqual(now);
    const lateDay = addDays('2026-06-09', -LATE_HIRE_DAYS);
    expect(planRuleInvitations(rule, [person({ startDate: lateDay })], now)).toHaveLength(1);
    expect(planRuleInvitations(rule, [person({ startDate: addDays(lateDay, -1) })], now)).toEqual([]);
  });

  it('a moved start date moves the moment', () => {
    const [a] = planRuleInvitations(rule, [person({ startDate: '2026-06-10' })], NOW);
    const [b] = planRuleInvitations(rule, [person({ startDate: '2026-06-17' })], NOW);
    expect(b!.at.getTime() - a!.at.getTime()).toBe(7 * 86_400_000);
  });
});

describe('leavers and reminders', () => {
  it('the end of the last day is midnight after it, in their zone (DST included)', () => {
    expect(endOfDay('2026-06-10', 'Europe/Berlin').toISOString()).toBe('2026-06-10T22:00:00.000Z');
    expect(endOfDay('2026-03-28', 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(endOfDay('2026-03-07', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(endOfDay('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
  });

  it('plans active people with an end still ahead, keeps a plan that just came due, drops the rest', () => {
    const now = new Date('2026-06-10T21:00:00Z');
    const people = [
      { userId: 'a', endDate: '2026-06-10', timeZone: 'Europe/Berlin', status: 'active' as const },
      { userId: 'b', endDate: '2026-06-09', timeZone: 'Europe/Berlin', status: 'active' as const },
      { userId: 'c', endDate: '2026-06-12', timeZone: 'Europe/Berlin', status: 'deactivated' as const },
      { userId: 'd', endDate: null, timeZone: 'UTC', status: 'active' as const },
      { userId: 'e', endDate: '2026-06-09', timeZone: 'Europe/Berlin', status: 'active' as const, plannedAt: endOfDay('2026-06-09', 'Europe/Berlin') },
    ];
    expect(planLeavers(people, now).map((p) => [p.userId, p.at.toISOString()])).toEqual([
      ['a', '2026-06-10T22:00:00.000Z'],
      ['e', '2026-06-09T22:00:00.000Z'],
    ]);
  });

  it('K reminders spread over the last N days before expiry, none after K', () => {
    const exp = new Date('2026-06-20T12:00:00Z');
    expect(reminderDueAt(exp, 0, { daysBefore: 2, maxTimes: 1 })!.toISOString()).toBe('2026-06-18T12:00:00.000Z');
    expect(reminderDueAt(exp, 1, { daysBefore: 2, maxTimes: 2 })!.toISOString()).toBe('2026-06-19T12:00:00.000Z');
    expect(reminderDueAt(exp, 2, { daysBefore: 2, maxTimes: 2 })).toBeNull();
    expect(reminderDueAt(exp, 0, { daysBefore: 2, maxTimes: 0 })).toBeNull();
  });
});
