import { describe, expect, it } from 'vitest';
import { filterToSql } from '../../src/scim/filter-sql.js';
import { USER_COLUMNS } from '../../src/scim/user-resource.js';
import { isScimError } from '../../src/scim/scim-error.js';

/** SCIM filters → SQL conditions with bound parameters: never the filter's text inside the SQL. */
describe('filterToSql', () => {
  it.each([
    ['userName eq "Ana@Acme.example"', `(lower(u.attributes->>'scimUserName') = ?)`, ['ana@acme.example']],
    ['externalId eq "AbC"', `((u.attributes->>'scimExternalId') = ?)`, ['AbC']],
    ['emails.value eq "X@Y.z"', '(lower(u.email) = ?)', ['x@y.z']],
    ['emails[type eq "work" and value eq "x@y.z"]', `((case when u.email is null then null else 'work' end) = ?) and (lower(u.email) = ?)`, ['work', 'x@y.z']],
    ['userName eq "a" or externalId eq "b"', `((lower(u.attributes->>'scimUserName') = ?) or ((u.attributes->>'scimExternalId') = ?))`, ['a', 'b']],
    ['active eq false', `((u.status = 'active') = ?)`, [false]],
    ['userName sw "a%_"', `(lower(u.attributes->>'scimUserName') like ?)`, ['a\\%\\_%']],
    ['title pr', '(lower(u.job_title) is not null and lower(u.job_title) <> \'\')', []],
    ['not (userName eq "a")', `(not coalesce((lower(u.attributes->>'scimUserName') = ?), false))`, ['a']],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"', `(lower(u.attributes->>'employeeNumber') = ?)`, ['7']],
  ])('%s', (filter, sql, params) => {
    const r = filterToSql(filter, USER_COLUMNS);
    expect(r.sql.replace(/^\((.*)\)$/, '$1')).toContain(sql.replace(/^\((.*)\)$/, '$1'));
    expect(r.params).toEqual(params);
    expect(r.sql).not.toContain('"');
  });

  it.each([
    ['userName eq'],
    ['userName xx "a"'],
    ['password eq "x"'],
    ['active eq "maybe"'],
    ['meta.created gt "not a date"'],
    ['userName eq 5'],
    ['"; drop table users; --'],
    [Array.from({ length: 60 }, (_, i) => `userName eq "u${i}"`).join(' or ')],
    ['x'.repeat(3_000)],
  ])('refuses %s with 400 invalidFilter', (filter) => {
    let err: unknown;
    try {
      filterToSql(filter, USER_COLUMNS);
    } catch (e) {
      err = e;
    }
    expect(isScimError(err)).toBe(true);
    expect(err).toMatchObject({ status: 400, scimType: 'invalidFilter' });
  });
});
