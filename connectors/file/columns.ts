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

/**
 * Pure: for a CSV header, a function from a row's fields to the HrEmployee that
 * `rowToEmployee` would make of the row object `{ [header[i]]: fields[i] }` (a repeated
 * column: the last one wins, in the position of the first), without building that object
 * for every row.
 */
export function fieldsToEmployee(header: readonly string[]): (fields: readonly string[]) => HrEmployee {
  const last = new Map<string, number>();
  header.forEach((h, i) => {
    if (h !== '__proto__') last.set(h, i); // as a key of a plain object, never an own property
  });
  const at = (name: string) => last.get(name) ?? -1;
  const [id, email, first, lastName, title, dept, loc, manager, status, start, end] = [
    'employeeId', 'email', 'firstName', 'lastName', 'jobTitle', 'department', 'location', 'managerId', 'status', 'startDate', 'endDate',
  ].map(at);
  const attrs = [...last].filter(([key]) => !KNOWN.has(key) && key !== '');
  const get = (fields: readonly string[], i: number) => (i < 0 ? null : str(fields[i]));
  return (fields) => {
    const attributes: Record<string, string | null> = {};
    for (const [key, i] of attrs) attributes[key] = str(fields[i]);
    return {
      externalId: get(fields, id) ?? '',
      email: get(fields, email),
      firstName: get(fields, first),
      lastName: get(fields, lastName),
      jobTitle: get(fields, title),
      department: get(fields, dept),
      location: get(fields, loc),
      managerExternalId: get(fields, manager),
      status: (get(fields, status) ?? 'active').toLowerCase(),
      startDate: get(fields, start),
      endDate: get(fields, end),
      attributes,
    };
  };
}

export function missingColumns(header: readonly string[]): string[] {
  const have = new Set(header.map((h) => h.trim()));
  return REQUIRED_COLUMNS.filter((c) => !have.has(c));
}
