import type { HrEmployee } from '../types.js';
import { normalizeDate, text } from '../http/records.js';
import type { V2Employment, V2Person } from './v2-schemas.js';

/** The names an employment refers to by id, resolved by the listing (org units, workplaces). */
export interface V2Names {
  department: string | null;
  team: string | null;
  location: string | null;
}

/**
 * Personio v2 person + current employment → HrEmployee, the same fields and rules as v1:
 * ACTIVE, ONBOARDING (a future hire) and LEAVE are employed → 'active'; INACTIVE → 'inactive';
 * a person without any employment is passed through without a status for the engine to reject.
 * Pure.
 */
export function toEmployeeV2(p: V2Person, e: V2Employment | null, names: V2Names): HrEmployee {
  const rawStatus = text(e?.status)?.toLowerCase() ?? null;
  return {
    externalId: p.id,
    email: text(p.email),
    firstName: text(p.first_name),
    lastName: text(p.last_name),
    jobTitle: text(e?.position?.title),
    department: names.department,
    location: names.location,
    managerExternalId: text(e?.supervisor?.id),
    status: rawStatus === null ? '' : rawStatus === 'inactive' ? 'inactive' : ['active', 'onboarding', 'leave'].includes(rawStatus) ? 'active' : rawStatus,
    startDate: normalizeDate(e?.start_date ?? null, 'start_date'),
    endDate: normalizeDate(e?.termination_date ?? null, 'termination_date'),
    attributes: {
      team: names.team,
      preferredName: text(p.preferred_name),
      personioStatus: rawStatus,
      lastModifiedAt: text(p.updated_at),
    },
  };
}

/** The person's current employment: the API lists the most recent first. */
export function currentEmployment(list: readonly V2Employment[]): V2Employment | null {
  return list[0] ?? null;
}
