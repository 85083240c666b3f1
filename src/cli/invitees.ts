import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.js';
import { isUuid } from '../domain/uuid.js';
import { AppError } from '../lib/errors.js';

/** What `invite --user` was given, sorted by kind: a user id (UUID), an e-mail address (has an @), else an employee id. */
export function classifyUsers(values: string[]): { userIds: string[]; emails: string[]; employeeIds: string[] } {
  const out = { userIds: [] as string[], emails: [] as string[], employeeIds: [] as string[] };
  for (const raw of values) {
    const v = raw.trim();
    if (!v) continue;
    const asId: unknown = v; // isUuid narrows its argument: keep v a string on the other branches
    if (isUuid(asId)) out.userIds.push(asId.toLowerCase());
    else if (v.includes('@')) out.emails.push(v);
    else out.employeeIds.push(v);
  }
  return out;
}

/**
 * The user ids of employee ids in one organization (the HR system's id, `external_id`).
 * An id no user has, or one that two connectors of the organization both use, is an error
 * naming it: inviting is deliberate, so nobody is guessed.
 */
export async function userIdsOfEmployees(em: EntityManager, organizationId: string, employeeIds: string[]): Promise<string[]> {
  if (employeeIds.length === 0) return [];
  const rows = await sql<{ id: string; external_id: string }>(
    em,
    `select id, external_id from users where organization_id = ? and external_id = any(?::text[])`,
    [organizationId, employeeIds],
  );
  const byEmployee = new Map<string, string[]>();
  for (const r of rows) byEmployee.set(r.external_id, [...(byEmployee.get(r.external_id) ?? []), r.id]);
  const missing = employeeIds.filter((e) => !byEmployee.has(e));
  if (missing.length > 0) throw new AppError('user_not_found', `no user with employee id ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''} in organization ${organizationId}`);
  const ambiguous = [...byEmployee].filter(([, ids]) => ids.length > 1).map(([e]) => e);
  if (ambiguous.length > 0) throw new AppError('validation_failed', `employee id ${ambiguous.join(', ')} belongs to users of several connectors: name them by user id or e-mail`);
  return [...new Set(rows.map((r) => r.id))];
}
