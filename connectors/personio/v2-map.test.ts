import { describe, expect, it } from 'vitest';
import { MalformedRecordError } from '../http/records.js';
import { currentEmployment, toEmployeeV2 } from './v2-map.js';
import { v2EmploymentSchema, v2PersonSchema } from './v2-schemas.js';

const person = v2PersonSchema.parse({ id: 42, first_name: 'Ana', last_name: 'Ruiz', preferred_name: 'Ani', email: 'ana.ruiz@acme.example', updated_at: '2025-03-01T10:00:00Z', employments: [{ id: 'e2' }, { id: 'e1' }] });
const employment = (over: Record<string, unknown> = {}) => v2EmploymentSchema.parse({
  id: 'e2', status: 'ACTIVE', position: { title: 'Controller' }, supervisor: { id: 7 }, org_units: [{ id: 501, type: 'department' }], office: { id: 71 },
  start_date: '2021-04-01', termination_date: null, updated_at: '2025-03-01T10:00:00Z', ...over,
});
const names = { department: 'Finance', team: 'Ledger', location: 'Berlin' };

describe('Personio v2 mapping', () => {
  it('maps a person and its current employment like v1 (ids as text)', () => {
    expect(toEmployeeV2(person, employment(), names)).toStrictEqual({
      externalId: '42', email: 'ana.ruiz@acme.example', firstName: 'Ana', lastName: 'Ruiz', jobTitle: 'Controller', department: 'Finance', location: 'Berlin',
      managerExternalId: '7', status: 'active', startDate: '2021-04-01', endDate: null,
      attributes: { team: 'Ledger', preferredName: 'Ani', personioStatus: 'active', lastModifiedAt: '2025-03-01T10:00:00Z' },
    });
  });

  it('ONBOARDING and LEAVE are employed, INACTIVE is not; no employment leaves the status empty (rejected by the engine)', () => {
    expect(toEmployeeV2(person, employment({ status: 'ONBOARDING' }), names).status).toBe('active');
    expect(toEmployeeV2(person, employment({ status: 'LEAVE' }), names).status).toBe('active');
    expect(toEmployeeV2(person, employment({ status: 'INACTIVE', termination_date: '2025-02-28' }), names)).toMatchObject({ status: 'inactive', endDate: '2025-02-28' });
    expect(toEmployeeV2(person, null, { department: null, team: null, location: null })).toMatchObject({ status: '', jobTitle: null, managerExternalId: null });
  });

  it('an unparseable date is a malformed record', () => {
    expect(() => toEmployeeV2(person, employment({ start_date: 'soon' }), names)).toThrow(MalformedRecordError);
  });

  it('the current employment is the first (most recent) one', () => {
    expect(currentEmployment([employment({ id: 'e2' }), employment({ id: 'e1' })])?.id).toBe('e2');
    expect(currentEmployment([])).toBeNull();
  });
});
