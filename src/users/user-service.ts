import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ensureNamed } from '../db/sync-repository.js';
import { setHistoryActor, type HistoryActor } from '../db/history-actor.js';
import { WITHDRAW_INVITATIONS_SQL } from '../db/invitation-repository.js';
import { bound, isUniqueViolation, sql, sqlOne } from '../db/sql.js';
import { isValidEmail, normalizeEmail } from '../domain/email-address.js';
import { AppError } from '../lib/errors.js';
import { searchCondition } from './user-search.js';

/** A user as CLI `--json` and HTTP show it (interfaces.md). */
export interface UserRecord {
  id: string;
  organizationId: string;
  email: string | null;
  externalId: string | null;
  connectorId: string | null;
  firstName: string | null;
  lastName: string | null;
  jobTitle: string | null;
  location: string | null;
  locationId: string | null;
  groups: string[];
  managerId: string | null;
  roles: string[];
  status: 'active' | 'deactivated';
  access: 'none' | 'invited' | 'active';
  startDate: string | null;
  endDate: string | null;
  /** a leaver's deactivation planned at the end of their last day (src/lifecycle), else null */
  plannedDeactivationAt: string | null;
  createdAt: string;
  updatedAt: string;
}

interface UserRow {
  id: string;
  seq: string;
  sort_key: string | null;
  organization_id: string;
  email: string | null;
  external_id: string | null;
  connector_id: string | null;
  first_name: string | null;
  last_name: string | null;
  job_title: string | null;
  location: string | null;
  location_id: string | null;
  groups: string[] | null;
  manager_id: string | null;
  roles: string[];
  status: 'active' | 'deactivated';
  access: 'none' | 'invited' | 'active';
  start_date: string | null;
  end_date: string | null;
  planned_deactivation_at: string | null;
  created_at: string;
  updated_at: string;
}

/** An ISO 8601 UTC timestamp with milliseconds, as `Date#toISOString()` writes it, made by PostgreSQL. */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Users matching `where` (over `users u`), `tail` (order and limit) applied first: the page is
 * chosen, then its locations and groups are joined — each user's groups through the
 * memberships' primary key (user_id, group_id), a lateral lookup per page row. (One aggregate
 * over `gm.user_id in (select id from page)` was planned as a sequential scan of every
 * membership for pages of 1,000: issue 14; test/dashboard/list-users-plan.int.test.ts.)
 * Timestamps come formatted: no Date per value.
 */
function selectUsers(where: string, tail = '', sort: { key: string; order: string } = { key: 'null', order: 'u.seq' }): string {
  return `
  with page as (select u.* from users u${where ? ` where ${where}` : ''}${tail ? ` ${tail}` : ''})
  select u.id, u.seq, ${sort.key} as sort_key, u.organization_id, u.email, u.external_id, u.connector_id, u.first_name, u.last_name, u.job_title,
         l.name as location, u.location_id, coalesce(pg.names, '[]'::jsonb) as groups,
         u.manager_id, u.roles, u.status, u.access, to_char(u.start_date, 'YYYY-MM-DD') as start_date, to_char(u.end_date, 'YYYY-MM-DD') as end_date,
         ${iso('u.created_at')} as created_at, ${iso('u.updated_at')} as updated_at, ${iso('pd.due_at')} as planned_deactivation_at
    from page u left join locations l on l.id = u.location_id
    left join lateral (
      select jsonb_agg(g.name order by g.name) as names
        from group_memberships gm join groups g on g.id = gm.group_id
       where gm.user_id = u.id) pg on true
    left join planned_deactivations pd on pd.user_id = u.id and pd.status = 'planned'
   order by ${sort.order}`;
}

function toRecord(r: UserRow): UserRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    email: r.email,
    externalId: r.external_id,
    connectorId: r.connector_id,
    firstName: r.first_name,
    lastName: r.last_name,
    jobTitle: r.job_title,
    location: r.location,
    locationId: r.location_id,
    groups: r.groups ?? [],
    managerId: r.manager_id,
    roles: r.roles ?? [],
    status: r.status,
    access: r.access,
    startDate: r.start_date,
    endDate: r.end_date,
    plannedDeactivationAt: r.planned_deactivation_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface ListUsersQuery {
  organizationId?: string;
  status?: 'active' | 'deactivated';
  access?: 'none' | 'invited' | 'active';
  locationId?: string;
  groupId?: string;
  connectorId?: string;
  /** matches e-mail, names and employee id (case-insensitive substring) */
  q?: string;
  /** opaque cursor from a previous page (of the same sort) */
  cursor?: string;
  /** the order: as added (default), newest first, by name (last, first), by e-mail */
  sort?: UserSort;
  limit?: number;
}

export const USER_SORTS = ['added', 'newest', 'name', 'email'] as const;
export type UserSort = (typeof USER_SORTS)[number];

/**
 * The sort keys, as SQL over `users u` (the expression indexes of Migration20261205140000 are
 * on exactly these). Ties, and the default order, go by seq.
 */
export const SORT_KEYS: Record<'name' | 'email', string> = {
  name: `lower(coalesce(u.last_name, '') || ' ' || coalesce(u.first_name, ''))`,
  email: `lower(coalesce(u.email, ''))`,
};

/** A cursor of a page sorted by name or e-mail: the last row's key and seq. */
export function encodeSortedCursor(key: string, seq: number): string {
  return Buffer.from(`k:${seq}:${key}`).toString('base64url');
}

export function decodeSortedCursor(cursor: string): { key: string; seq: number } {
  const m = /^k:(\d{1,18}):([\s\S]{0,600})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new AppError('validation_failed', 'invalid cursor');
  return { seq: Number(m[1]), key: m[2] };
}

export function encodeCursor(seq: number): string {
  return Buffer.from(`u:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const m = /^u:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new AppError('validation_failed', 'invalid cursor');
  return Number(m[1]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Condition {
  sql: string;
  params: unknown[];
}

/** The statement a page of listUsers runs (null: matches nobody), for listUsers and for a test of its plan. */
export function listUsersStatement(query: ListUsersQuery): { text: string; params: unknown[]; prepare: boolean; limit: number; sorted: boolean } | null {
  // Paging: whose users (all, or one organization's), from where. Filters: which of them.
  const paging: Condition[] = [];
  const filters: Condition[] = [];
  if (query.organizationId) paging.push({ sql: 'u.organization_id = ?', params: [query.organizationId] });
  const sort = query.sort ?? 'added';
  const key = sort === 'name' || sort === 'email' ? SORT_KEYS[sort] : null;
  if (query.cursor) {
    if (key) {
      const c = decodeSortedCursor(query.cursor);
      paging.push({ sql: `(${key}, u.seq) > (?, ?)`, params: [c.key, c.seq] });
    } else paging.push({ sql: sort === 'newest' ? 'u.seq < ?' : 'u.seq > ?', params: [decodeCursor(query.cursor)] });
  }
  if (query.status) filters.push({ sql: 'u.status = ?', params: [query.status] });
  if (query.access) filters.push({ sql: 'u.access = ?', params: [query.access] });
  if (query.connectorId) filters.push({ sql: 'u.connector_id = ?', params: [query.connectorId] });
  if (query.locationId) {
    if (!UUID.test(query.locationId)) return null;
    filters.push({ sql: 'u.location_id = ?', params: [query.locationId] });
  }
  if (query.groupId) {
    if (!UUID.test(query.groupId)) return null;
    filters.push({ sql: 'exists (select 1 from group_memberships gm where gm.user_id = u.id and gm.group_id = ?)', params: [query.groupId] });
  }
  if (query.q) filters.push(searchCondition(query.q));
  const conditions = [...paging, ...filters];
  const limit = Number.isInteger(query.limit) ? Math.min(Math.max(query.limit!, 1), 1000) : 100;
  // Plain paging — all users, or one organization's (the API's and the dashboard's every page) —
  // is a prepared statement: planning it cost as much as running it. Its plan is the same for
  // any organization (users_org_seq_idx); a filtered listing is planned for its values each time.
  return {
    text: key
      ? selectUsers(conditions.map((c) => c.sql).join(' and '), `order by ${key}, u.seq limit ${limit + 1}`, { key, order: `${key}, u.seq` })
      : selectUsers(conditions.map((c) => c.sql).join(' and '), `order by u.seq${sort === 'newest' ? ' desc' : ''} limit ${limit + 1}`, { key: 'null', order: sort === 'newest' ? 'u.seq desc' : 'u.seq' }),
    params: conditions.flatMap((c) => c.params),
    prepare: filters.length === 0 && sort === 'added',
    limit,
    sorted: key !== null,
  };
}

/** Users in seq order, one page at a time (keyset pagination: stable under concurrent writes). */
export async function listUsers(em: EntityManager, query: ListUsersQuery): Promise<{ users: UserRecord[]; nextCursor: string | null }> {
  const st = listUsersStatement(query);
  if (!st) return { users: [], nextCursor: null };
  const rows = await bound<UserRow>(em, st.text, st.params, { prepare: st.prepare });
  const page = rows.slice(0, st.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > st.limit && last ? (st.sorted ? encodeSortedCursor(last.sort_key ?? '', Number(last.seq)) : encodeCursor(Number(last.seq))) : null;
  return { users: page.map(toRecord), nextCursor };
}

export async function getUser(em: EntityManager, id: string, organizationId?: string): Promise<UserRecord | null> {
  if (!UUID.test(id)) return null;
  const row = await sqlOne<UserRow>(em, selectUsers(`u.id = ?${organizationId ? ' and u.organization_id = ?' : ''}`), organizationId ? [id, organizationId] : [id]);
  return row ? toRecord(row) : null;
}

export async function findUserByEmail(em: EntityManager, organizationId: string, email: string): Promise<UserRecord | null> {
  const row = await sqlOne<UserRow>(em, selectUsers('u.organization_id = ? and lower(u.email) = lower(?)'), [organizationId, email]);
  return row ? toRecord(row) : null;
}

const name = z.string().trim().min(1).max(200);
export const createUserSchema = z
  .object({
    email: z.string().trim().max(254).refine(isValidEmail, 'not a valid e-mail address').transform((s) => normalizeEmail(s) ?? s),
    firstName: name.nullable().optional(),
    lastName: name.nullable().optional(),
    jobTitle: z.string().trim().max(500).nullable().optional(),
    location: name.nullable().optional(),
    groups: z.array(name).max(100).optional(),
    roles: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
  })
  .strict();
export type CreateUserInput = z.infer<typeof createUserSchema>;

export const updateUserSchema = z
  .object({
    firstName: name.nullable().optional(),
    lastName: name.nullable().optional(),
    jobTitle: z.string().trim().max(500).nullable().optional(),
    location: name.nullable().optional(),
    groups: z.array(name).max(100).optional(),
    roles: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    /** An administrator's deactivation stands: sync never reactivates it. */
    status: z.enum(['active', 'deactivated']).optional(),
  })
  .strict();
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

async function organizationExists(em: EntityManager, organizationId: string): Promise<boolean> {
  return (await sqlOne(em, `select 1 from organizations where id = ?`, [organizationId])) !== null;
}

async function setGroups(em: EntityManager, organizationId: string, userId: string, groups: string[]): Promise<void> {
  const ids = await ensureNamed(em, 'groups', organizationId, groups);
  await sql(em, `delete from group_memberships where user_id = ?`, [userId]);
  if (ids.size > 0) {
    await sql(em, `insert into group_memberships (user_id, group_id, source) select ?, x::uuid, 'manual' from jsonb_array_elements_text(?::jsonb) as x on conflict do nothing`,
      [userId, JSON.stringify([...ids.values()])]);
  }
}

/**
 * Creates a user by hand. The user exists (can be placed, given roles) but cannot log in:
 * inviting is a separate, deliberate act.
 */
export async function createUser(em: EntityManager, organizationId: string, input: CreateUserInput): Promise<UserRecord> {
  const data = createUserSchema.parse(input);
  if (!(await organizationExists(em, organizationId))) throw new AppError('organization_not_found', `no organization ${organizationId}`);
  let id: string;
  try {
    id = await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      let locationId: string | null = null;
      if (data.location) locationId = [...(await ensureNamed(t, 'locations', organizationId, [data.location])).values()][0] ?? null;
      const row = await sqlOne<{ id: string }>(
        t,
        `insert into users (organization_id, email, first_name, last_name, job_title, location_id, roles, source)
         values (?, ?, ?, ?, ?, ?, ?::jsonb, 'manual') returning id`,
        [organizationId, data.email, data.firstName ?? null, data.lastName ?? null, data.jobTitle ?? null, locationId, JSON.stringify(data.roles ?? [])],
      );
      if (data.groups?.length) await setGroups(t, organizationId, row!.id, data.groups);
      return row!.id;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', 'a user with this e-mail already exists in the organization');
    throw err;
  }
  return (await getUser(em, id))!;
}

/**
 * Changes roles, location, groups, names, or an administrator's activation. Never sends
 * or schedules an invitation: access is untouched.
 */
export async function updateUser(em: EntityManager, id: string, input: UpdateUserInput, organizationId?: string, actor: HistoryActor = { type: 'admin' }): Promise<UserRecord> {
  const data = updateUserSchema.parse(input);
  const current = await getUser(em, id, organizationId);
  if (!current) throw new AppError('user_not_found', `no user ${id}`);
  await em.transactional(async (tx) => {
    const t = tx as EntityManager;
    await setHistoryActor(t, actor);
    const sets: string[] = [];
    const params: unknown[] = [];
    const put = (col: string, v: unknown, cast = '') => { sets.push(`${col} = ?${cast}`); params.push(v); };
    if (data.firstName !== undefined) put('first_name', data.firstName);
    if (data.lastName !== undefined) put('last_name', data.lastName);
    if (data.jobTitle !== undefined) put('job_title', data.jobTitle);
    if (data.roles !== undefined) put('roles', JSON.stringify(data.roles), '::jsonb');
    if (data.location !== undefined) {
      const locId = data.location ? [...(await ensureNamed(t, 'locations', current.organizationId, [data.location])).values()][0] : null;
      put('location_id', locId);
    }
    if (data.status === 'deactivated' && current.status !== 'deactivated') {
      sets.push(`status = 'deactivated', deactivated_by = 'admin', deactivated_at = now()`);
    } else if (data.status === 'active' && current.status !== 'active') {
      sets.push(`status = 'active', deactivated_by = null, deactivated_at = null`);
    }
    if (sets.length > 0) await sql(t, `update users set ${sets.join(', ')}, updated_at = now() where id = ?`, [...params, id]);
    if (data.status === 'deactivated' && current.status !== 'deactivated') {
      await sql(t, `with d as (select ?::uuid as id) ${WITHDRAW_INVITATIONS_SQL}`, [id]);
    }
    if (data.groups !== undefined) await setGroups(t, current.organizationId, id, data.groups);
  });
  return (await getUser(em, id))!;
}
