import { describe, expect, it } from 'vitest';
import { toEmployee } from './map.js';
import type { PersonioEmployee } from './schemas.js';

const a = (value: unknown) => ({ label: 'x', value, type: 'standard' });
const employee = (attrs: Record<string, unknown>): PersonioEmployee =>
  ({ type: 'Employee', attributes: { id: a(42), first_name: a('Lena'), last_name: a('Fischer'), status: a('active'), ...attrs } }) as PersonioEmployee;

describe('Personio toEmployee', () => {
  it.each([
    ['active', 'active'],
    ['onboarding', 'active'],
    ['leave', 'active'],
    ['inactive', 'inactive'],
    ['ARCHIVED', 'archived'],
  ])('maps status %j to %j', (status, out) => {
    expect(toEmployee(employee({ status: a(status) })).status).toBe(out);
  });

  it.each([[null], [''], [[]]])('reads an empty supervisor %j as no manager', (value) => {
    expect(toEmployee(employee({ supervisor: a(value) })).managerExternalId).toBeNull();
  });

  it('reads the supervisor id, office, department and team names', () => {
    const e = toEmployee(
      employee({
        supervisor: a({ type: 'Employee', attributes: { id: a(7) } }),
        office: a({ type: 'Office', attributes: { id: 1, name: 'Madrid' } }),
        department: a({ type: 'Department', attributes: { id: 2, name: 'Sales' } }),
        team: a({ type: 'Team', attributes: { id: 3, name: 'Iberia' } }),
      }),
    );
    expect([e.managerExternalId, e.location, e.department, e.attributes.team]).toStrictEqual(['7', 'Madrid', 'Sales', 'Iberia']);
  });

  it('keeps custom attributes as text under their key', () => {
    const e = toEmployee(employee({ dynamic_1: a('Dr'), dynamic_2: a(12.5), dynamic_3: a(null), dynamic_4: a({ attributes: { name: 'Gold' } }) }));
    expect(e.attributes).toMatchObject({ dynamic_1: 'Dr', dynamic_2: '12.5', dynamic_3: null, dynamic_4: 'Gold' });
  });

  it('keeps the calendar date of an ISO date-time', () => {
    const e = toEmployee(employee({ hire_date: a('2021-04-01T00:00:00+02:00'), termination_date: a('2024-12-31T00:00:00+01:00') }));
    expect([e.startDate, e.endDate]).toStrictEqual(['2021-04-01', '2024-12-31']);
  });
});
