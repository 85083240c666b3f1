import { describe, expect, it } from 'vitest';
import { emptyEmployee, type HrEmployee } from '../../connectors/types.js';
import { compileMapping, isRejection, isValidEmail, isValidIsoDate, toSyncRecord } from '../../src/domain/employee-record.js';

const base = (over: Partial<HrEmployee> = {}): HrEmployee => ({
  ...emptyEmployee('42'),
  email: 'ana@acme.example',
  firstName: 'Ana',
  lastName: 'Ruiz',
  department: 'Finance',
  location: 'Berlin',
  ...over,
});
const mapping = compileMapping();

describe('toSyncRecord', () => {
  it.each([
    ['missing_employee_id', { externalId: '' }],
    ['missing_employee_id', { externalId: '   ' }],
    ['no_email', { email: null }],
    ['no_email', { email: '  ' }],
    ['invalid_email', { email: 'ana' }],
    ['invalid_email', { email: 'ana@acme' }],
    ['invalid_email', { email: 'ana @acme.example' }],
    ['invalid_email', { email: 'a@b@acme.example' }],
    ['invalid_email', { email: `${'a'.repeat(250)}@acme.example` }],
    ['invalid_status', { status: 'on leave' }],
    ['invalid_date', { startDate: '2026-02-30' }],
    ['invalid_date', { endDate: '31.12.2026' }],
    ['field_too_long', { jobTitle: 'x'.repeat(5_000) }],
    ['field_too_long', { firstName: 'x'.repeat(201) }],
    ['field_too_long', { externalId: '9'.repeat(300) }],
    ['invalid_email', { email: 'ana\u0000@acme.example' }],
    ['invalid_characters', { externalId: '4\u00002' }],
    ['invalid_characters', { firstName: 'A\u0000na' }],
    ['invalid_characters', { department: 'Fin\u0000ance' }],
    ['invalid_characters', { managerExternalId: '7\u0000' }],
  ] as Array<[string, Partial<HrEmployee>]>)('rejects as %s: %j', (reason, over) => {
    const r = toSyncRecord(base(over), mapping);
    expect(isRejection(r) && r.reason).toBe(reason);
  });

  it('keeps names verbatim, HTML and quotes included', () => {
    const r = toSyncRecord(base({ firstName: '<b>Ana</b>', lastName: `O'Neil "Nell"` }), mapping);
    expect(isRejection(r)).toBe(false);
    expect(r).toMatchObject({ firstName: '<b>Ana</b>', lastName: `O'Neil "Nell"` });
  });

  it('maps location and group per the connector mapping, defaults location ← location, group ← department', () => {
    expect(toSyncRecord(base(), mapping)).toMatchObject({ locationName: 'Berlin', groupName: 'Finance' });
    const custom = compileMapping({ location: 'attributes.site', group: 'team', attributes: { costCenter: 'attributes.cc' } });
    const r = toSyncRecord(base({ attributes: { site: 'Porto', team: 'Payroll', cc: '4711' } }), custom);
    expect(r).toMatchObject({ locationName: 'Porto', groupName: 'Payroll', attributes: { costCenter: '4711' } });
    expect(toSyncRecord(base(), compileMapping({ group: null }))).toMatchObject({ groupName: null });
  });

  it('normalizes status words and lower-cases the e-mail key only', () => {
    const r = toSyncRecord(base({ email: 'Ana@Acme.Example', status: 'Terminated' }), mapping);
    expect(r).toMatchObject({ email: 'Ana@Acme.Example', emailLower: 'ana@acme.example', active: false });
  });

  it('hashes content: equal records hash equal, any synced field change changes the hash', () => {
    const a = toSyncRecord(base(), mapping);
    const b = toSyncRecord(base(), mapping);
    expect(isRejection(a) || isRejection(b)).toBe(false);
    if (isRejection(a) || isRejection(b)) return;
    expect(a.hash).toBe(b.hash);
    for (const over of [{ email: 'x@acme.example' }, { lastName: 'R' }, { location: 'Lisbon' }, { department: 'IT' }, { managerExternalId: '7' }, { endDate: '2027-01-01' }, { jobTitle: 'CFO' }]) {
      const c = toSyncRecord(base(over), mapping);
      expect(isRejection(c) ? null : c.hash, JSON.stringify(over)).not.toBe(a.hash);
    }
    // status is not content: a termination is decided apart from field updates
    const t = toSyncRecord(base({ status: 'inactive' }), mapping);
    expect(isRejection(t) ? null : t.hash).toBe(a.hash);
  });

  it('leaves "on create only" fields out of the hash', () => {
    const m = compileMapping({ location: { from: 'location', mode: 'on_create' } });
    const a = toSyncRecord(base(), m);
    const b = toSyncRecord(base({ location: 'Elsewhere' }), m);
    expect(isRejection(a) ? null : a.hash).toBe(isRejection(b) ? undefined : b.hash);
  });
});

describe('validators', () => {
  it.each(['a@b.co', 'first.last+tag@sub.example.org', "o'neil@acme.example"])('accepts %s', (e) => expect(isValidEmail(e)).toBe(true));
  it.each(['', 'a', 'a@', '@b.co', 'a@b', 'a@.b.co', 'a b@c.co', 'a@b..co'])('refuses %j', (e) => expect(isValidEmail(e)).toBe(false));
  it.each([['2024-02-29', true], ['2023-02-29', false], ['2024-1-5', false], ['2024-12-31', true]] as const)('date %s → %s', (d, ok) => expect(isValidIsoDate(d)).toBe(ok));
});
