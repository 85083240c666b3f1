import { describe, expect, it } from 'vitest';
import { toEmployee } from './map.js';
import type { BamboohrEmployee } from './schemas.js';

const TODAY = '2025-06-15';
const row = (over: Partial<BamboohrEmployee>): BamboohrEmployee => ({
  eeid: '7', employeeNumber: 'E-7', firstName: 'Ana', lastName: 'Ruiz', preferredName: null, email: 'ana@acme.example',
  status: 'Active', employmentStatus: 'Full-Time', hireDate: '2020-01-06', terminationDate: null,
  jobInformationJobTitle: 'Controller', jobInformationDepartment: 'Finance', jobInformationDivision: 'EMEA',
  jobInformationLocation: 'Berlin', jobInformationReportsTo: 'Dan Cohen', supervisorEid: 3, lastChanged: null,
  ...over,
});

describe('BambooHR toEmployee', () => {
  it.each([
    ['an active employee', { status: 'Active' }, 'active'],
    ['a terminated employee', { status: 'Inactive', terminationDate: '2025-01-31' }, 'inactive'],
    ['a future hire (Inactive until the hire date)', { status: 'Inactive', hireDate: '2025-07-01' }, 'active'],
    ['a future rehire after an old termination', { status: 'Inactive', hireDate: '2025-07-01', terminationDate: '2023-02-28' }, 'active'],
    ['a hire that is terminated before starting', { status: 'Inactive', hireDate: '2025-07-01', terminationDate: '2025-07-01' }, 'inactive'],
    ['an inactive record without hire date', { status: 'Inactive', hireDate: null }, 'inactive'],
    ['an unknown status, passed through for the engine', { status: 'Suspended' }, 'suspended'],
    ['a missing status', { status: null }, ''],
  ] as const)('maps %s', (_what, over, status) => {
    expect(toEmployee(row(over as Partial<BamboohrEmployee>), TODAY).status).toBe(status);
  });

  it('turns numeric ids into strings and empty dates into null', () => {
    const e = toEmployee(row({ eeid: 7, supervisorEid: 3, terminationDate: '0000-00-00', email: '  ' }), TODAY);
    expect(e.externalId).toBe('7');
    expect(e.managerExternalId).toBe('3');
    expect(e.endDate).toBeNull();
    expect(e.email).toBeNull();
  });

  it('yields an empty externalId for a row without eeid (the engine rejects it)', () => {
    expect(toEmployee(row({ eeid: null }), TODAY).externalId).toBe('');
  });

  it('throws on an unparseable date', () => {
    expect(() => toEmployee(row({ terminationDate: '31.12.2024' }), TODAY)).toThrow('terminationDate: expected YYYY-MM-DD, got "31.12.2024"');
  });
});
