import type { HrEmployee } from '../../connectors/types.js';

/** One scoping rule: an HR field and the values that match it (case-insensitive, trimmed). */
export interface ScopeRule {
  /** department | location | jobTitle | email domain (`emailDomain`) | any vendor attribute (`legalEntity`, `employmentType`, `attributes.<key>`). */
  field: string;
  values: string[];
}

export interface ScopeRules {
  /** Every include rule must match (values of one rule: any of them). None: everyone. */
  include?: readonly ScopeRule[];
  /** Any exclude rule matching puts the person out of scope. */
  exclude?: readonly ScopeRule[];
}

export type ScopeTest = (e: HrEmployee) => boolean;

const norm = (v: string | null | undefined): string | null => (v === null || v === undefined ? null : v.trim().toLowerCase());

/** The value of a scoping field on an HR record; an unknown field reads the vendor attribute of that name. */
export function scopeValue(e: HrEmployee, field: string): string | null {
  switch (field) {
    case 'department':
      return e.department;
    case 'location':
      return e.location;
    case 'jobTitle':
      return e.jobTitle;
    case 'emailDomain':
      return e.email && e.email.includes('@') ? e.email.slice(e.email.lastIndexOf('@') + 1) : null;
    default: {
      const key = field.startsWith('attributes.') ? field.slice('attributes.'.length) : field;
      return e.attributes?.[key] ?? null;
    }
  }
}

/** Who is in scope, as a test; null when the rules take everyone (nothing to check). */
export function compileScope(rules: ScopeRules | undefined): ScopeTest | null {
  const compile = (r: ScopeRule) => ({ field: r.field, values: new Set(r.values.map((v) => norm(v)!)) });
  const include = (rules?.include ?? []).map(compile);
  const exclude = (rules?.exclude ?? []).map(compile);
  if (include.length === 0 && exclude.length === 0) return null;
  const matches = (e: HrEmployee, r: { field: string; values: Set<string> }) => {
    const v = norm(scopeValue(e, r.field));
    return v !== null && r.values.has(v);
  };
  return (e) => include.every((r) => matches(e, r)) && !exclude.some((r) => matches(e, r));
}

/**
 * Scoping before matching: someone outside the scope is, to the sync, as if HR had ended their
 * employment — never created, and deactivated (under the connector's thresholds) when they
 * leave the scope. Their record is still *seen* (not missing: no look-up is needed to be sure).
 */
export function applyScope(e: HrEmployee, test: ScopeTest | null): HrEmployee {
  if (!test || e.status !== 'active' || test(e)) return e;
  return { ...e, status: 'inactive', endDate: e.endDate };
}
