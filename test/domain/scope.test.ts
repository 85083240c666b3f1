import { describe, expect, it } from 'vitest';
import type { HrEmployee } from '../../connectors/types.js';
import { applyScope, compileScope, type ScopeRules } from '../../src/domain/scope.js';

const person = (over: Partial<HrEmployee> = {}): HrEmployee => ({
  externalId: '1', email: 'a@acme.example', firstName: 'A', lastName: 'B', jobTitle: 'Engineer', department: 'Engineering', location: 'Berlin',
  managerExternalId: null, status: 'active', startDate: null, endDate: null, attributes: { legalEntity: 'Acme GmbH', employmentType: 'Contractor' }, ...over,
});

describe('scoping rules', () => {
  it.each<[string, ScopeRules, Partial<HrEmployee>, boolean]>([
    ['no rules: everyone', {}, {}, true],
    ['include matches (case and spaces ignored)', { include: [{ field: 'department', values: [' engineering '] }] }, {}, true],
    ['include does not match', { include: [{ field: 'department', values: ['Sales'] }] }, {}, false],
    ['include on a missing value', { include: [{ field: 'location', values: ['Berlin'] }] }, { location: null }, false],
    ['all includes must match', { include: [{ field: 'department', values: ['Engineering'] }, { field: 'location', values: ['Munich'] }] }, {}, false],
    ['one of several values', { include: [{ field: 'location', values: ['Munich', 'Berlin'] }] }, {}, true],
    ['exclude wins over include', { include: [{ field: 'department', values: ['Engineering'] }], exclude: [{ field: 'employmentType', values: ['contractor'] }] }, {}, false],
    ['exclude on a vendor attribute by name', { exclude: [{ field: 'legalEntity', values: ['Acme GmbH'] }] }, {}, false],
    ['exclude on attributes.<key>', { exclude: [{ field: 'attributes.legalEntity', values: ['Acme Ltd'] }] }, {}, true],
    ['e-mail domain', { include: [{ field: 'emailDomain', values: ['ACME.example'] }] }, {}, true],
  ])('%s', (_name, rules, over, inScope) => {
    const test = compileScope(rules);
    const e = person(over);
    expect(test ? test(e) : true).toBe(inScope);
    expect(applyScope(e, test).status).toBe(inScope ? 'active' : 'inactive');
  });

  it('leaves a record untouched in scope, and one already inactive as it is', () => {
    const e = person();
    expect(applyScope(e, compileScope({ include: [{ field: 'department', values: ['Engineering'] }] }))).toBe(e);
    const gone = person({ status: 'inactive', department: 'Sales' });
    expect(applyScope(gone, compileScope({ include: [{ field: 'department', values: ['Engineering'] }] }))).toBe(gone);
  });
});
