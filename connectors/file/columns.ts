import type { HrEmployee } from '../types.js';

/** The export's columns (CSV header names, JSON keys), per interfaces.md. */
export const FILE_COLUMNS = [
  'employeeId', 'email', 'firstName', 'lastName', 'jobTitle', 'department', 'location',
  'managerId', 'status', 'startDate', 'endDate',
] as const;

/** Columns a file export must have; the rest may be absent. */
export const REQUIRED_COLUMNS = ['employeeId', 'email', 'firstName', 'lastName'] as const;

const KNOWN = new Set<string>(FILE_COLUMNS);

function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  if (s === null) return null;
  const t = s.trim();
  return t === '' ? null : t;
}

/** Pure: one export row (by column name) → HrEmployee. Unknown columns go to `attributes`. */
export function rowToEmployee(row: Record<string, unknown>): HrEmployee {
  const attributes: Record<string, string | null> = {};
  for (const key of Object.keys(row)) {
    if (!KNOWN.has(key) && key !== '') attributes[key] = str(row[key]);
  }
  return {
    externalId: str(row.employeeId) ?? '',
    email: str(row.email),
    firstName: str(row.firstName),
    lastName: str(row.lastName),
    jobTitle: str(row.jobTitle),
    department: str(row.department),
    location: str(row.location),
    managerExternalId: str(row.managerId),
    status: (str(row.status) ?? 'active').toLowerCase(),
    startDate: str(row.startDate),
    endDate: str(row.endDate),
    attributes,
  };
}

export function missingColumns(header: readonly string[]): string[] {
  const have = new Set(header.map((h) => h.trim()));
  return REQUIRED_COLUMNS.filter((c) => !have.has(c));
}
