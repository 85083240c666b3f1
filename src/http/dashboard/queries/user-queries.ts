import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../../../db/sql.js';
import { isUuid } from '../../../domain/uuid.js';
import { searchCondition } from '../../../users/user-search.js';
import { decodeCursor, decodeSortedCursor, encodeCursor, encodeSortedCursor, SORT_KEYS, type ListUsersQuery, type UserSort } from '../../../users/user-service.js';

/** The dashboard's reads of users (beyond listUsers), scoped by organization in SQL. */

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

// ---- users ------------------------------------------------------------------------------------

export async function namedOptions(em: EntityManager, table: 'locations' | 'groups', organizationId: string): Promise<Array<{ id: string; name: string }>> {
  return sql<{ id: string; name: string }>(em, `select id, name from ${table} where organization_id = ? order by lower(name) limit 2000`, [organizationId]);
}

export async function namedById(em: EntityManager, table: 'locations' | 'groups', organizationId: string, id: string | undefined): Promise<string | null> {
  if (!isUuid(id)) return null;
  const row = await sqlOne<{ name: string }>(em, `select name from ${table} where organization_id = ? and id = ?`, [organizationId, id]);
  return row?.name ?? null;
}

/** The users list's filters as a WHERE over `users u` (null: matches nobody). */
function userWhere(query: ListUsersQuery & { organizationId: string }): { where: string[]; params: unknown[] } | null {
  const where = ['u.organization_id = ?'];
  const params: unknown[] = [query.organizationId];
  if (query.status) { where.push('u.status = ?'); params.push(query.status); }
  if (query.access) { where.push('u.access = ?'); params.push(query.access); }
  if (query.connectorId) { where.push('u.connector_id = ?'); params.push(query.connectorId); }
  if (query.locationId) {
    if (!isUuid(query.locationId)) return null;
    where.push('u.location_id = ?'); params.push(query.locationId);
  }
  if (query.groupId) {
    if (!isUuid(query.groupId)) return null;
    where.push('u.id in (select gm.user_id from group_memberships gm where gm.group_id = ?)'); params.push(query.groupId);
  }
  if (query.q) {
    const c = searchCondition(query.q);
    where.push(c.sql);
    params.push(...c.params);
  }
  return { where, params };
}

/**
 * The cursor of the page before the one that starts after `cursor` (keyset paging backwards,
 * in the list's sort): null on the first page, undefined when the page before is the first.
 */
export async function previousCursor(em: EntityManager, query: ListUsersQuery & { organizationId: string }, cursor: string | undefined, limit: number): Promise<string | null | undefined> {
  if (!cursor) return null;
  const w = userWhere(query);
  if (!w) return null;
  const sort = query.sort ?? 'added';
  if (sort === 'name' || sort === 'email') {
    const key = SORT_KEYS[sort];
    const c = decodeSortedCursor(cursor);
    const row = await sqlOne<{ k: string; seq: string }>(em, `select ${key} as k, u.seq from users u where ${w.where.join(' and ')} and (${key}, u.seq) <= (?, ?) order by ${key} desc, u.seq desc offset ? limit 1`, [...w.params, c.key, c.seq, limit]);
    return row ? encodeSortedCursor(row.k, Number(row.seq)) : undefined;
  }
  const seq = decodeCursor(cursor);
  const row = sort === 'newest'
    ? await sqlOne<{ seq: string }>(em, `select u.seq from users u where ${w.where.join(' and ')} and u.seq >= ? order by u.seq offset ? limit 1`, [...w.params, seq, limit])
    : await sqlOne<{ seq: string }>(em, `select u.seq from users u where ${w.where.join(' and ')} and u.seq <= ? order by u.seq desc offset ? limit 1`, [...w.params, seq, limit]);
  return row ? encodeCursor(Number(row.seq)) : undefined;
}

/**
 * How many users a list query matches (the same filters as listUsers), counting at most
 * `cap` + 1 so a count over a very large organization stays cheap: `{ n, capped }`.
 */
export async function countUsers(em: EntityManager, query: ListUsersQuery & { organizationId: string }, cap = 100_000): Promise<{ n: number; capped: boolean }> {
  const w = userWhere(query);
  if (!w) return { n: 0, capped: false };
  const { where, params } = w;
  const row = await sqlOne<{ n: string }>(em, `select count(*) as n from (select 1 from users u where ${where.join(' and ')} limit ?) x`, [...params, cap + 1]);
  const n = Number(row?.n ?? 0);
  return { n: Math.min(n, cap), capped: n > cap };
}

export function cursorIsValid(cursor: string | undefined, sort: UserSort = 'added'): boolean {
  if (!cursor) return true;
  try {
    if (sort === 'name' || sort === 'email') decodeSortedCursor(cursor);
    else decodeCursor(cursor);
    return true;
  } catch {
    return false;
  }
}

export interface UserInvitation {
  id: string;
  rolloutId: string;
  status: string;
  loginMethod: string;
  lastError: string | null;
  sentAt: string | null;
  acceptedAt: string | null;
  createdAt: string;
}

export async function userInvitations(em: EntityManager, userId: string, organizationId: string): Promise<UserInvitation[]> {
  const rows = await sql<{ id: string; rollout_id: string; status: string; login_method: string; last_error: string | null; sent_at: Date | null; accepted_at: Date | null; created_at: Date }>(
    em,
    `select id, rollout_id, status, login_method, last_error, sent_at, accepted_at, created_at from invitations where user_id = ? and organization_id = ? order by created_at desc limit 50`,
    [userId, organizationId],
  );
  return rows.map((r) => ({ id: r.id, rolloutId: r.rollout_id, status: r.status, loginMethod: r.login_method, lastError: r.last_error, sentAt: iso(r.sent_at), acceptedAt: iso(r.accepted_at), createdAt: iso(r.created_at)! }));
}

export async function userManager(em: EntityManager, managerId: string | null, organizationId: string): Promise<{ id: string; firstName: string | null; lastName: string | null } | null> {
  if (!isUuid(managerId)) return null;
  const r = await sqlOne<{ id: string; first_name: string | null; last_name: string | null }>(em, `select id, first_name, last_name from users where id = ? and organization_id = ?`, [managerId, organizationId]);
  return r ? { id: r.id, firstName: r.first_name, lastName: r.last_name } : null;
}
