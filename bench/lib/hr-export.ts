/**
 * One deterministic company for the benches: `makeRow(i)` is employee i (1-based) of an HR
 * export, `makeRow(i, true)` the same employee in the variant where 1% of the records changed.
 * Shared by bench/sync.bench.ts and bench/scale.bench.ts (see bench/README.md, "The export");
 * bench/connectors.bench.ts renders the same names and choices for each vendor.
 */
import { createWriteStream } from 'node:fs';

export const FIRST = ['Ana', 'Ben', 'Chloé', 'David', 'Elif', 'Femi', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kaja', 'Luis', 'Mia', 'Noah', 'Olga', 'Pavel',
  'Quinn', 'Rosa', 'Sven', 'Tara', 'Umut', 'Vera', 'Wen', 'Xenia', 'Yusuf', 'Zoe', 'Amélie', 'Björn', 'Carla', 'Dmitri', 'Emma', 'Farah'];
export const LAST = ['Ruiz', 'Müller', 'Schmidt', "O'Brien", 'Yilmaz', 'Nowak', 'Rossi', 'Dubois', 'Tanaka', 'Kim', 'Silva', 'Jensen', 'Novak',
  'García', 'Fischer', 'Weber', 'Kowalski', 'Horvat', 'Larsen', 'Popescu', 'Costa', 'Meyer', 'Wagner', 'Becker', 'Hoffmann', 'Schulz'];
export const DEPARTMENTS = ['Engineering', 'Platform Engineering', 'Data', 'Security', 'IT Operations', 'Finance', 'Accounting', 'Legal', 'People',
  'Recruiting', 'Sales DACH', 'Sales Nordics', 'Sales UK', 'Sales US East', 'Sales US West', 'Customer Success', 'Support', 'Marketing',
  'Brand', 'Product', 'Design', 'Research', 'Procurement', 'Facilities', 'Logistics', 'Warehouse North', 'Warehouse South', 'Manufacturing',
  'Quality', 'Field Service', 'Executive Office', 'Internal Audit'];
export const LOCATIONS = ['Berlin HQ', 'Munich', 'Hamburg', 'Frankfurt', 'Cologne', 'Vienna', 'Zurich', 'Amsterdam', 'Paris', 'Lyon', 'Madrid',
  'Barcelona', 'Lisbon', 'Milan', 'Warsaw', 'Prague', 'Stockholm', 'Copenhagen', 'Oslo', 'Helsinki', 'Dublin', 'London', 'Manchester',
  'New York', 'Boston', 'Chicago', 'Austin', 'San Francisco', 'Toronto', 'Singapore', 'Remote (EU)', 'Remote (US)'];
export const TITLES = ['Software Engineer', 'Senior Software Engineer', 'Staff Engineer', 'Engineering Manager', 'Data Analyst', 'Data Engineer',
  'Accountant', 'Financial Controller', 'Legal Counsel', 'HR Business Partner', 'Recruiter', 'Account Executive', 'Sales Manager',
  'Customer Success Manager', 'Support Specialist', 'Marketing Manager', 'Designer', 'Product Manager', 'Researcher', 'Buyer',
  'Facility Manager', 'Warehouse Associate', 'Forklift Operator', 'Machine Operator', 'Quality Inspector', 'Field Technician',
  'Team Lead', 'Director', 'Vice President', 'Assistant'];
export const COLUMNS = ['employeeId', 'email', 'firstName', 'lastName', 'jobTitle', 'department', 'location', 'managerId', 'status', 'startDate', 'endDate', 'costCenter'] as const;
export const CHANGED_PERCENT = 1;
/** The file connector's mapping in the benches: costCenter is an attribute, so it takes part in the content hash. */
export const MAPPING = { location: 'location', group: 'department', attributes: { costCenter: 'costCenter' } };

/** A fast deterministic integer hash (murmur3 finalizer): row i's k-th pseudo-random choice. */
export function mix(i: number, k: number): number {
  let h = (i * 0x9e3779b1 + k * 0x85ebca77) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface BenchRow {
  employeeId: string; email: string; firstName: string; lastName: string; jobTitle: string; department: string; location: string;
  managerId: string; status: string; startDate: string; endDate: string; costCenter: string;
}

export const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const empId = (i: number) => `E${pad(i, 7)}`;

/** Row i (1-based) of the export; `changed` gives the 1%-changed variant. */
export function makeRow(i: number, changed: boolean): BenchRow {
  const first = FIRST[mix(i, 1) % FIRST.length];
  let last = LAST[mix(i, 2) % LAST.length];
  const dept = mix(i, 3) % DEPARTMENTS.length;
  let department = DEPARTMENTS[dept];
  let location = LOCATIONS[mix(i, 4) % LOCATIONS.length];
  let jobTitle = TITLES[mix(i, 5) % TITLES.length];
  // A reporting tree with 8 reports per manager; E0000001 reports to nobody.
  let managerId = i === 1 ? '' : empId(Math.floor((i - 2) / 8) + 1);
  const inactive = mix(i, 6) % 1000 < 15; // 1.5% former employees still in the export
  let status = inactive ? 'inactive' : 'active';
  const y = 2005 + (mix(i, 7) % 20);
  const startDate = `${y}-${pad(1 + (mix(i, 8) % 12), 2)}-${pad(1 + (mix(i, 9) % 28), 2)}`;
  let endDate = inactive ? `${y + 1}-${pad(1 + (mix(i, 10) % 12), 2)}-15` : '';
  if (changed && mix(i, 11) % 100 < CHANGED_PERCENT) {
    const kind = mix(i, 12) % 10;
    if (kind <= 3) jobTitle = `${jobTitle} II`;
    else if (kind <= 5) department = DEPARTMENTS[(dept + 1) % DEPARTMENTS.length];
    else if (kind === 6) location = LOCATIONS[(mix(i, 4) + 1) % LOCATIONS.length];
    else if (kind === 7) last = `${last}-Meyer`; // a marriage: name and e-mail change, same person
    else if (kind === 8 && i > 9) managerId = empId(Math.floor((i - 2) / 8)); // a new manager
    else if (!inactive) {
      status = 'inactive'; // terminated
      endDate = '2026-06-30';
    } else jobTitle = `${jobTitle} (former)`;
  }
  const email = `${first}.${last}.${i}@acme-corp.example`.toLowerCase().normalize('NFD').replace(/[^\x20-\x7e]/g, '').replace(/'/g, '');
  return { employeeId: empId(i), email, firstName: first, lastName: last, jobTitle, department, location, managerId, status, startDate, endDate, costCenter: `CC-${4000 + dept * 10}` };
}

/**
 * What a sync of rows 1..n should report: `active` users created by an initial sync (the rest
 * are former employees, skipped); of them, in the 1%-changed variant, `updated` with new content
 * and `terminated` now inactive (deactivated).
 */
export function expectedCounts(n: number): { active: number; updated: number; terminated: number } {
  let active = 0;
  let updated = 0;
  let terminated = 0;
  for (let i = 1; i <= n; i++) {
    const a = makeRow(i, false);
    if (a.status !== 'active') continue;
    active++;
    const b = makeRow(i, true);
    if (b.status !== 'active') terminated++;
    else if (COLUMNS.some((c) => a[c] !== b[c])) updated++;
  }
  return { active, updated, terminated };
}

/** The smallest export size whose initial sync creates exactly `active` users. */
export function sizeForActive(active: number): number {
  let seen = 0;
  for (let i = 1; ; i++) if (makeRow(i, false).status === 'active' && ++seen === active) return i;
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Writes a CSV file of `header` and rows 1..n (`cells(i)`), streamed in chunks of 5,000 rows. */
export async function writeCsvRows(path: string, header: readonly string[], n: number, cells: (i: number) => readonly string[]): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write(`${header.join(',')}\n`);
  let chunk = '';
  for (let i = 1; i <= n; i++) {
    chunk += `${cells(i).map(csvCell).join(',')}\n`;
    if (i % 5_000 === 0) {
      await write(chunk);
      chunk = '';
    }
  }
  if (chunk) await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Writes rows 1..n (or the 1%-changed variant) as a CSV export, streamed. */
export function writeExport(path: string, n: number, changed: boolean): Promise<void> {
  return writeCsvRows(path, COLUMNS, n, (i) => {
    const r = makeRow(i, changed);
    return COLUMNS.map((c) => r[c]);
  });
}
