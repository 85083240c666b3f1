/**
 * Pure rules of a leaver's last day. No I/O, no clock.
 *
 * HR's end date is the last working day: the person is deactivated at the end of it — the
 * first instant of the next day in their time zone.
 */
import { addDays, zonedToUtc } from './zoned-time.js';

export function endOfDay(date: string, timeZone: string): Date {
  return zonedToUtc(addDays(date, 1), '00:00', timeZone);
}

export interface LeaverPerson {
  userId: string;
  endDate: string | null;
  timeZone: string;
  status: 'active' | 'deactivated';
  /** the moment already planned for them, if any */
  plannedAt?: Date | null;
}

/**
 * Active people with an end date whose end is still ahead get a planned deactivation then; a
 * plan for that very moment that has just come due is kept (it is being applied). An end date
 * already past when first seen is not planned: the sync's own termination handles it.
 */
export function planLeavers(people: readonly LeaverPerson[], now: Date): Array<{ userId: string; endDate: string; at: Date }> {
  const out: Array<{ userId: string; endDate: string; at: Date }> = [];
  for (const p of people) {
    if (p.status !== 'active' || !p.endDate) continue;
    const at = endOfDay(p.endDate, p.timeZone);
    if (at.getTime() > now.getTime() || p.plannedAt?.getTime() === at.getTime()) out.push({ userId: p.userId, endDate: p.endDate, at });
  }
  return out;
}
