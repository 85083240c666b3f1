import type { HrEmployee } from '../types.js';
import { normalizeDate, text } from '../http/records.js';
import type { HibobEmployee } from './schemas.js';

/**
 * HiBob people/search employee (machine format + humanReadable "APPEND") → HrEmployee. Pure.
 *
 * - jobTitle and department are list fields: their display names come from `humanReadable`,
 *   the machine values (list item ids) go to attributes titleId/departmentId;
 * - location is the site name (`work.site`);
 * - dates come from the machine values (ISO), never from humanReadable (user-formatted);
 * - status: lifecycle "hired" (future start) → 'active'; internal.status Active/Inactive →
 *   'active'/'inactive'; anything else is passed through lower-cased for the engine to judge.
 */
export function toEmployee(raw: HibobEmployee): HrEmployee {
  const work = raw.work ?? {};
  const internal = raw.internal ?? {};
  const human = raw.humanReadable?.work ?? {};
  const lifecycle = text(internal.lifecycleStatus);
  const rawStatus = text(internal.status);
  return {
    externalId: text(raw.id) ?? '',
    email: text(raw.email),
    firstName: text(raw.firstName),
    lastName: text(raw.surname),
    jobTitle: text(human.title) ?? textIfName(work.title),
    department: text(human.department) ?? textIfName(work.department),
    location: text(human.site) ?? text(work.site),
    managerExternalId: managerId(work.reportsTo),
    status: mapStatus(rawStatus, lifecycle),
    startDate: normalizeDate(work.startDate, 'work.startDate'),
    endDate: normalizeDate(internal.terminationDate, 'internal.terminationDate'),
    attributes: {
      displayName: text(raw.displayName),
      employeeIdInCompany: text(work.employeeIdInCompany),
      site: text(work.site),
      siteId: text(work.siteId),
      titleId: text(work.title),
      departmentId: text(work.department),
      lifecycleStatus: lifecycle,
      hibobStatus: rawStatus,
    },
  };
}

function mapStatus(status: string | null, lifecycle: string | null): string {
  if ((lifecycle ?? '').toLowerCase() === 'hired') return 'active';
  return (status ?? '').toLowerCase();
}

function managerId(ref: { id?: string | number | null } | string | number | null | undefined): string | null {
  if (ref === null || ref === undefined) return null;
  if (typeof ref === 'object') return text(ref.id);
  return text(ref);
}

/**
 * Without humanReadable, a list field holds an item id (digits). Such an id is not a name and
 * must not become a group or a job title; a non-numeric value is taken as the name.
 */
function textIfName(v: unknown): string | null {
  const t = text(v);
  return t !== null && /^\d+$/.test(t) ? null : t;
}
