/**
 * Pure rules of an invitation rule: who it names and when. No I/O, no clock (`now` is given).
 *
 * A rule "N days before the start date at HH:MM local" plans each matching person's
 * invitation at that wall-clock time in their time zone (their location's, else their
 * organization's), DST included. A moment already past means now — a hire entered late — but
 * only for start dates at most LATE_HIRE_DAYS ago: a rule does not invite the whole existing staff.
 */
import { addDays, localDate, zonedToUtc } from './zoned-time.js';

/** A start date further back than this is not a joiner's: the rule leaves them alone. */
export const LATE_HIRE_DAYS = 30;

export interface RuleTiming {
  daysBefore: number;
  /** HH:MM, the person's local time */
  localTime: string;
  /** rehired people (deactivated before, active again) count as joiners */
  rehires: boolean;
}

export interface RulePerson {
  userId: string;
  /** YYYY-MM-DD, or null when HR gave none */
  startDate: string | null;
  timeZone: string;
  status: 'active' | 'deactivated';
  access: 'none' | 'invited' | 'active';
  hasEmail: boolean;
  /** was deactivated before and is active again */
  rehire: boolean;
  /** this rule already invited them for this start date */
  firedFor?: string | null;
}

export interface PlannedInvitation {
  userId: string;
  startDate: string;
  at: Date;
}

/** The moment a rule invites someone starting on `startDate` in `timeZone`. */
export function ruleMoment(timing: Pick<RuleTiming, 'daysBefore' | 'localTime'>, startDate: string, timeZone: string): Date {
  return zonedToUtc(addDays(startDate, -timing.daysBefore), timing.localTime, timeZone);
}

/**
 * (userId, moment) for every person the rule invites: active, with an e-mail, without access
 * yet (invited or active people are skipped, as by a rollout), with a start date not too far
 * back, not a rehire unless the rule says so, not already invited by this rule for this start date.
 */
export function planRuleInvitations(rule: RuleTiming, people: readonly RulePerson[], now: Date): PlannedInvitation[] {
  const out: PlannedInvitation[] = [];
  for (const p of people) {
    if (!p.startDate || p.status !== 'active' || !p.hasEmail || p.access !== 'none') continue;
    if (p.rehire && !rule.rehires) continue;
    if (p.firedFor === p.startDate) continue;
    if (p.startDate < addDays(localDate(now, p.timeZone), -LATE_HIRE_DAYS)) continue;
    const at = ruleMoment(rule, p.startDate, p.timeZone);
    out.push({ userId: p.userId, startDate: p.startDate, at: at.getTime() > now.getTime() ? at : now });
  }
  return out;
}
