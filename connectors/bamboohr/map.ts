import type { HrEmployee } from '../types.js';
import { normalizeDate, text } from '../http/records.js';
import type { BamboohrEmployee } from './schemas.js';

/**
 * BambooHR `employee` dataset row → HrEmployee. Pure: `today` (YYYY-MM-DD) is passed in.
 *
 * Status: BambooHR knows "Active" and "Inactive", and documents that future hires carry
 * "Inactive" until their hire date. A row that is Inactive, has a hire date after today and no
 * termination date on or after that hire date is a future hire: it is mapped to 'active' (the
 * store keeps it with its future startDate). Any other value is passed through lower-cased
 * for the engine to judge.
 */
export function toEmployee(raw: BamboohrEmployee, today: string): HrEmployee {
  const startDate = normalizeDate(raw.hireDate, 'hireDate');
  const endDate = normalizeDate(raw.terminationDate, 'terminationDate');
  const rawStatus = text(raw.status);
  return {
    externalId: text(raw.eeid) ?? '',
    email: text(raw.email),
    firstName: text(raw.firstName),
    lastName: text(raw.lastName),
    jobTitle: text(raw.jobInformationJobTitle),
    department: text(raw.jobInformationDepartment),
    location: text(raw.jobInformationLocation),
    managerExternalId: text(raw.supervisorEid),
    status: mapStatus(rawStatus, startDate, endDate, today),
    startDate,
    endDate,
    attributes: {
      employeeNumber: text(raw.employeeNumber),
      preferredName: text(raw.preferredName),
      division: text(raw.jobInformationDivision),
      employmentStatus: text(raw.employmentStatus),
      supervisorName: text(raw.jobInformationReportsTo),
      bamboohrStatus: rawStatus,
      lastChanged: text(raw.lastChanged),
    },
  };
}

function mapStatus(status: string | null, startDate: string | null, endDate: string | null, today: string): string {
  const s = (status ?? '').toLowerCase();
  if (s === 'active') return 'active';
  if (s === 'inactive') {
    const futureHire = startDate !== null && startDate > today && (endDate === null || endDate < startDate);
    return futureHire ? 'active' : 'inactive';
  }
  return s;
}
