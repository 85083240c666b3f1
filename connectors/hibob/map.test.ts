import { describe, expect, it } from 'vitest';
import { toEmployee } from './map.js';
import type { HibobEmployee } from './schemas.js';

const person = (over: Partial<HibobEmployee> = {}): HibobEmployee => ({
  id: '1001', email: 'ana@acme.example', firstName: 'Ana', surname: 'Ruiz', displayName: 'Ana Ruiz',
  work: { title: '183479287', department: '209192163', site: 'Berlin Office', siteId: 12, reportsTo: { id: '1002' }, startDate: '2020-02-01', employeeIdInCompany: 5 },
  internal: { status: 'Active', lifecycleStatus: 'employed', terminationDate: null },
  humanReadable: { work: { title: 'Financial Controller', department: 'Finance', site: 'Berlin Office' } },
  ...over,
});

describe('HiBob toEmployee', () => {
  it.each([
    ['Active', 'employed', 'active'],
    ['Inactive', 'terminated', 'inactive'],
    ['Inactive', 'hired', 'active'],
    ['Active', 'hired', 'active'],
    ['Active', 'garden leave', 'active'],
    ['Pending', null, 'pending'],
  ])('maps status %j with lifecycle %j to %j', (status, lifecycle, out) => {
    expect(toEmployee(person({ internal: { status, lifecycleStatus: lifecycle, terminationDate: null } })).status).toBe(out);
  });

  it('takes list names from humanReadable and keeps the ids as attributes', () => {
    const e = toEmployee(person());
    expect([e.jobTitle, e.department, e.attributes.titleId, e.attributes.departmentId]).toStrictEqual(['Financial Controller', 'Finance', '183479287', '209192163']);
  });

  it('never uses a bare list item id as a name when humanReadable is missing', () => {
    const e = toEmployee(person({ humanReadable: null }));
    expect([e.jobTitle, e.department, e.location]).toStrictEqual([null, null, 'Berlin Office']);
  });

  it.each([
    [{ id: '1002' }, '1002'],
    ['1003', '1003'],
    [null, null],
  ])('reads the manager reference %j', (reportsTo, out) => {
    expect(toEmployee(person({ work: { reportsTo } })).managerExternalId).toBe(out);
  });
});
