import type { HrEmployee } from '../types.js';
import { normalizeDate, text } from '../http/records.js';
import type { PersonioEmployee } from './schemas.js';

/**
 * Personio v1 employee (attributes of { label, value }) → HrEmployee. Pure.
 *
 * Status: "active", "onboarding" (hired, not started yet: a future hire) and "leave" are
 * employees → 'active'; "inactive" → 'inactive'; anything else is passed through lower-cased
 * for the engine to judge.
 * Custom attributes (`dynamic_<id>`) go into `attributes` under their key, as text.
 */
export function toEmployee(raw: PersonioEmployee): HrEmployee {
  const a = raw.attributes;
  const rawStatus = text(a.status?.value);
  const attributes: Record<string, string | null> = {
    team: refName(a.team?.value),
    subcompany: refName(a.subcompany?.value),
    employmentType: text(a.employment_type?.value),
    costCenters: costCenters(a.cost_centers?.value),
    preferredName: text(a.preferred_name?.value),
    personioStatus: rawStatus,
    lastModifiedAt: text(a.last_modified_at?.value),
  };
  for (const [key, attr] of Object.entries(a)) {
    if (key.startsWith('dynamic_')) attributes[key] = customValue(attr);
  }
  return {
    externalId: text(a.id?.value) ?? '',
    email: text(a.email?.value),
    firstName: text(a.first_name?.value),
    lastName: text(a.last_name?.value),
    jobTitle: text(a.position?.value),
    department: refName(a.department?.value),
    location: refName(a.office?.value),
    managerExternalId: supervisorId(a.supervisor?.value),
    status: mapStatus(rawStatus),
    startDate: normalizeDate(a.hire_date?.value, 'hire_date'),
    endDate: normalizeDate(a.termination_date?.value, 'termination_date'),
    attributes,
  };
}

function mapStatus(status: string | null): string {
  const s = (status ?? '').toLowerCase();
  if (s === 'active' || s === 'onboarding' || s === 'leave') return 'active';
  return s;
}

type Ref = { attributes: { id?: string | number | null; name?: string | null } } | null | '' | [] | undefined;

function refName(v: Ref): string | null {
  if (!v || Array.isArray(v)) return null;
  return text(v.attributes.name);
}

function costCenters(v: Array<{ attributes: { name?: string | null } }> | null | '' | [] | undefined): string | null {
  if (!v || !Array.isArray(v) || v.length === 0) return null;
  const names = v.map((c) => text(c.attributes.name)).filter((n): n is string => n !== null);
  return names.length ? names.join(', ') : null;
}

function supervisorId(v: { attributes: { id: { value?: string | number | null } } } | null | '' | [] | undefined): string | null {
  if (!v || Array.isArray(v)) return null;
  return text(v.attributes.id.value);
}

function customValue(attr: unknown): string | null {
  const value = (attr as { value?: unknown } | null)?.value;
  if (value === null || value === undefined) return null;
  if (typeof value === 'object') {
    const name = (value as { attributes?: { name?: unknown } }).attributes?.name;
    return text(name);
  }
  return text(value);
}
