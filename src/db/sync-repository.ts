import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import type { ExistingUser } from '../domain/sync-plan.js';
import type { Rejection, SyncRecord } from '../domain/employee-record.js';
import { WITHDRAW_INVITATIONS_SQL } from './invitation-repository.js';
import { bound, sql, sqlOne } from './sql.js';

/** Set-based statements of the sync engine: one statement per page, never one per employee. */

interface LookupRow {
  id: string;
  seq: string;
  connector_id: string | null;
  external_id: string | null;
  email_lower: string | null;
  content_hash: string | null;
  status: 'active' | 'deactivated';
  deactivated_by: 'sync' | 'admin' | null;
}

function toExisting(r: LookupRow): ExistingUser {
  return {
    id: r.id,
    seq: Number(r.seq),
    connectorId: r.connector_id,
    externalId: r.external_id,
    emailLower: r.email_lower,
    contentHash: r.content_hash,
    status: r.status,
    deactivatedBy: r.deactivated_by,
  };
}

const LOOKUP_COLUMNS = `u.id, u.seq, u.connector_id, u.external_id, lower(u.email) as email_lower, u.content_hash, u.status, u.deactivated_by`;
const LOOKUP_FIELDS = `u.id, u.seq, u.connector_id, u.external_id, u.email, u.content_hash, u.status, u.deactivated_by`;

/** How `lookupPage` finds a page's users by employee id; one per run, updated as pages go. */
export interface LookupStrategy {
  /** Read the page's id range in one index scan; switched off once a page's range held far more users than the page. */
  range: boolean;
}

/** A range holding more than this many users per record of the page is not worth reading whole. */
const RANGE_SLACK = 2;

/**
 * Users of this page: by (connector, employee id), and users of the organization by e-mail.
 *
 * By employee id, two ways, both bounded whatever the table's size or statistics (the former
 * `in (select …)` form was planned, with stale statistics, as a scan of all the connector's
 * users per page: quadratic over an initial load):
 * - range (the usual case: exports and APIs list employees in id order): one index scan of the
 *   connector's users between the page's smallest and largest id, at most a few per record of
 *   the page, plus a probe for any id the database orders outside that range. About a third of
 *   the cost of a probe per id. Users in the range but not in the page come along; they are
 *   never asked for, and one that holds a page record's e-mail is that e-mail's holder anyway.
 *   When the range holds too many users (a sparse or unordered listing), the page falls back to
 *   probes and `strategy.range` is switched off for the rest of the run;
 * - probes: one probe of the unique index per id (a lateral `limit 1`).
 * E-mails already held by a user found by employee id need no second probe: the address is
 * unique in the organization, so that user is its holder. On an unchanged re-sync the second
 * query is not sent at all.
 */
export async function lookupPage(
  em: EntityManager,
  organizationId: string,
  connectorId: string,
  externalIds: string[],
  emailsLower: string[],
  strategy: LookupStrategy = { range: false },
): Promise<{ byExternalId: Map<string, ExistingUser>; byEmail: Map<string, ExistingUser> }> {
  const byExternalId = new Map<string, ExistingUser>();
  const byEmail = new Map<string, ExistingUser>();
  const add = (r: LookupRow) => {
    const u = toExisting(r);
    if (u.connectorId === connectorId && u.externalId !== null) byExternalId.set(u.externalId, u);
    if (u.emailLower !== null) byEmail.set(u.emailLower, u);
  };
  let found = false;
  if (strategy.range && externalIds.length > 1) {
    let lo = externalIds[0];
    let hi = externalIds[0];
    for (const id of externalIds) {
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    // lo/hi are in JavaScript's order; an id the database's collation puts outside them is probed.
    const limit = RANGE_SLACK * externalIds.length + 64;
    const rows = await bound<LookupRow & { in_range: boolean }>(
      em,
      `select ${LOOKUP_COLUMNS}, true as in_range
         from (select ${LOOKUP_FIELDS} from users u
                where u.connector_id = ? and u.external_id >= ? and u.external_id <= ?
                order by u.external_id limit ?) u
       union all
       select ${LOOKUP_COLUMNS}, false from jsonb_array_elements_text(?::jsonb) as x(v)
        cross join lateral (select ${LOOKUP_FIELDS} from users u where u.connector_id = ? and u.external_id = x.v limit 1) u
        where not (x.v >= ? and x.v <= ?)`,
      [connectorId, lo, hi, limit, JSON.stringify(externalIds), connectorId, lo, hi],
    );
    if (rows.filter((r) => r.in_range).length < limit) {
      for (const r of rows) add(r);
      found = true;
    } else {
      strategy.range = false;
    }
  }
  if (!found && externalIds.length > 0) {
    const rows = await bound<LookupRow>(
      em,
      `select ${LOOKUP_COLUMNS} from jsonb_array_elements_text(?::jsonb) as x(v)
        cross join lateral (select ${LOOKUP_FIELDS} from users u where u.connector_id = ? and u.external_id = x.v limit 1) u`,
      [JSON.stringify(externalIds), connectorId],
    );
    for (const r of rows) add(r);
  }
  const rest = emailsLower.filter((e) => !byEmail.has(e));
  if (rest.length > 0) {
    const rows = await bound<LookupRow>(
      em,
      `select ${LOOKUP_COLUMNS} from jsonb_array_elements_text(?::jsonb) as x(v)
        cross join lateral (select ${LOOKUP_FIELDS} from users u
                             where u.organization_id = ? and u.email is not null and lower(u.email) = x.v limit 1) u`,
      [JSON.stringify(rest), organizationId],
    );
    for (const r of rows) add(r);
  }
  return { byExternalId, byEmail };
}

/** Locations or groups by name (case-insensitive), created when missing. Returns lower(name) → id. */
export async function ensureNamed(em: EntityManager, table: 'locations' | 'groups', organizationId: string, names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (names.length === 0) return out;
  await sql(
    em,
    `insert into ${table} (organization_id, name)
     select ?, n from (select distinct on (lower(n)) n from jsonb_array_elements_text(?::jsonb) as n order by lower(n), n) x
     on conflict do nothing`,
    [organizationId, JSON.stringify(names)],
  );
  const rows = await sql<{ id: string; k: string }>(
    em,
    `select id, lower(name) as k from ${table} where organization_id = ? and lower(name) in (select lower(jsonb_array_elements_text(?::jsonb)))`,
    [organizationId, JSON.stringify(names)],
  );
  for (const r of rows) out.set(r.k, r.id);
  return out;
}

export interface WriteRow {
  record: SyncRecord;
  locationId: string | null;
  groupId: string | null;
}

function recordJson(w: WriteRow, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const r = w.record;
  return {
    email: r.email,
    external_id: r.externalId,
    first_name: r.firstName,
    last_name: r.lastName,
    job_title: r.jobTitle,
    location_id: w.locationId,
    group_id: w.groupId,
    manager_external_id: r.managerExternalId,
    attributes: r.attributes,
    start_date: r.startDate,
    end_date: r.endDate,
    content_hash: r.hash,
    ...extra,
  };
}

const RECORD_COLUMNS = `email text, external_id text, first_name text, last_name text, job_title text, location_id uuid, group_id uuid,
  manager_external_id text, attributes jsonb, start_date date, end_date date, content_hash text`;

/**
 * Creates users (access none: creating is not inviting) and their sync group memberships.
 * The manager link is set right away where the manager is already in the store or in the same
 * page (ids are chosen here for that), so the end-of-run pass only has to fill the links whose
 * manager came later: the initial load writes each row once instead of twice.
 */
export async function insertUsers(em: EntityManager, organizationId: string, connectorId: string, rows: WriteRow[]): Promise<Array<{ id: string; seq: number; externalId: string }>> {
  if (rows.length === 0) return [];
  const ids = new Map<string, string>();
  // Time-ordered ids (UUIDv7): a load appends to the primary key, the memberships' key and the
  // history's (user_id, id) index instead of writing all over them (random v4 ids dirtied a page
  // of each per row once those indexes outgrew the buffer cache).
  for (const w of rows) ids.set(w.record.externalId, uuidv7());
  const json = rows.map((w) => {
    const m = w.record.managerExternalId;
    const pageManagerId = m !== null && m !== w.record.externalId ? ids.get(m) ?? null : null;
    return recordJson(w, { id: ids.get(w.record.externalId), page_manager_id: pageManagerId });
  });
  const res = await bound<{ id: string; seq: string; external_id: string }>(
    em,
    `with r as (select * from jsonb_to_recordset(?::jsonb) as r(id uuid, page_manager_id uuid, ${RECORD_COLUMNS})),
     ins as (
       insert into users (id, organization_id, connector_id, source, email, external_id, first_name, last_name, job_title, location_id,
                          manager_id, manager_external_id, attributes, status, access, start_date, end_date, content_hash)
       select r.id, ?, ?, 'sync', r.email, r.external_id, r.first_name, r.last_name, r.job_title, r.location_id,
              coalesce(r.page_manager_id, (select m.id from users m where m.connector_id = ? and m.external_id = r.manager_external_id)),
              r.manager_external_id, coalesce(r.attributes, '{}'::jsonb), 'active', 'none', r.start_date, r.end_date, r.content_hash
         from r
       returning id, seq, external_id),
     mem as (
       insert into group_memberships (user_id, group_id, source)
       select ins.id, r.group_id, 'sync' from ins join r on r.id = ins.id where r.group_id is not null
       on conflict do nothing)
     select id, seq, external_id from ins`,
    [JSON.stringify(json), organizationId, connectorId, connectorId],
  );
  return res.map((r) => ({ id: r.id, seq: Number(r.seq), externalId: r.external_id }));
}

export interface FieldModes {
  firstName: 'always' | 'on_create';
  lastName: 'always' | 'on_create';
  jobTitle: 'always' | 'on_create';
  location: 'always' | 'on_create' | null;
  group: 'always' | 'on_create' | null;
  attributes: 'always' | 'on_create';
}

/**
 * Updates users whose HR content changed, links users created by hand, reactivates users
 * that sync deactivated. "on create only" fields are left alone (a link fills them only
 * where empty). Never touches roles or access.
 */
export async function updateUsers(
  em: EntityManager,
  connectorId: string,
  rows: Array<WriteRow & { id: string; link: boolean; reactivate: boolean; changed: boolean }>,
  modes: FieldModes,
): Promise<number> {
  if (rows.length === 0) return 0;
  const set = (col: string, mode: 'always' | 'on_create' | null): string => {
    if (mode === 'always') return `${col} = r.${col}`;
    if (mode === 'on_create') return `${col} = case when r.link then coalesce(u.${col}, r.${col}) else u.${col} end`;
    return `${col} = u.${col}`;
  };
  const groupAlways = modes.group === 'always';
  const groupSql = modes.group === null
    ? ''
    : `, delm as (
         delete from group_memberships gm using r
          where ${groupAlways ? 'true' : 'false'} and gm.user_id = r.id and gm.source = 'sync' and r.changed
            and gm.group_id is distinct from r.group_id),
       insm as (
         insert into group_memberships (user_id, group_id, source)
         select r.id, r.group_id, 'sync' from r
          where r.group_id is not null and r.changed and (${groupAlways ? 'true' : 'false'} or r.link)
         on conflict do nothing)`;
  // Addresses swapped between users of one batch: clear the changing ones first, inside the
  // transaction, so the per-row unique check of the update never sees a transient clash.
  const moving = rows.filter((w) => w.changed).map((w) => ({ id: w.id, email: w.record.email }));
  if (moving.length > 1) {
    await bound(
      em,
      `update users u set email = null from jsonb_to_recordset(?::jsonb) as r(id uuid, email text)
        where u.id = r.id and lower(u.email) is distinct from lower(r.email)`,
      [JSON.stringify(moving)],
    );
  }
  const res = await bound<{ n: string }>(
    em,
    `with r as (select * from jsonb_to_recordset(?::jsonb) as r(id uuid, link boolean, reactivate boolean, changed boolean, ${RECORD_COLUMNS})),
     upd as (
       update users u set
         email = r.email,
         connector_id = ?,
         external_id = r.external_id,
         ${set('first_name', modes.firstName)},
         ${set('last_name', modes.lastName)},
         ${set('job_title', modes.jobTitle)},
         ${set('location_id', modes.location)},
         manager_external_id = r.manager_external_id,
         manager_id = (select m.id from users m where m.connector_id = ? and m.external_id = r.manager_external_id and m.id <> u.id),
         attributes = ${modes.attributes === 'always' ? `u.attributes || coalesce(r.attributes, '{}'::jsonb)` : `case when r.link then coalesce(r.attributes, '{}'::jsonb) || u.attributes else u.attributes end`},
         start_date = r.start_date,
         end_date = r.end_date,
         content_hash = r.content_hash,
         status = case when r.reactivate then 'active' else u.status end,
         deactivated_by = case when r.reactivate then null else u.deactivated_by end,
         deactivated_at = case when r.reactivate then null else u.deactivated_at end,
         updated_at = now()
       from r where u.id = r.id
       returning u.id)${groupSql}
     select count(*) as n from upd`,
    [JSON.stringify(rows.map((w) => recordJson(w, { id: w.id, link: w.link, reactivate: w.reactivate, changed: w.changed }))), connectorId, connectorId],
  );
  return Number(res[0]?.n ?? 0);
}

/** PostgreSQL text and jsonb cannot hold NUL; a rejected record's echo must still be storable. */
function noNul(v: string | null): string | null {
  return v === null ? null : v.replaceAll('\u0000', '\ufffd');
}

export async function insertRejections(em: EntityManager, runId: string, rejections: Rejection[]): Promise<void> {
  if (rejections.length === 0) return;
  await bound(
    em,
    `insert into sync_run_rejections (run_id, external_id, reason, detail)
     select ?, r.external_id, r.reason, r.detail from jsonb_to_recordset(?::jsonb) as r(external_id text, reason text, detail text)`,
    [runId, JSON.stringify(rejections.map((r) => ({ external_id: noNul(r.externalId), reason: r.reason, detail: noNul(r.detail ?? null) })))],
  );
}

export async function insertPendingDeactivations(em: EntityManager, runId: string, userIds: string[], reason: 'terminated' | 'missing_from_listing'): Promise<void> {
  if (userIds.length === 0) return;
  await bound(
    em,
    `insert into sync_run_deactivations (run_id, user_id, reason)
     select ?, x::uuid, ? from jsonb_array_elements_text(?::jsonb) as x on conflict do nothing`,
    [runId, reason, JSON.stringify(userIds)],
  );
}

export async function countActive(em: EntityManager, connectorId: string): Promise<number> {
  const r = await sqlOne<{ n: string }>(em, `select count(*) as n from users where connector_id = ? and status = 'active'`, [connectorId]);
  return Number(r?.n ?? 0);
}

/** Active users of the connector in seq order, a slice at a time (keyset pagination). */
export async function activeUsersAfter(em: EntityManager, connectorId: string, afterSeq: number, limit: number): Promise<Array<{ id: string; seq: number; externalId: string }>> {
  const rows = await bound<{ id: string; seq: string; external_id: string }>(
    em,
    `select id, seq, external_id from users where connector_id = ? and status = 'active' and seq > ? order by seq limit ?`,
    [connectorId, afterSeq, limit],
  );
  return rows.map((r) => ({ id: r.id, seq: Number(r.seq), externalId: r.external_id }));
}

/**
 * After a complete listing: lists for deactivation every active user of the connector whose
 * seq is not in `seen` (`BitSet.bytes()`: bit n set = user seq n was in the listing), in one
 * statement, instead of reading every active user back into the process to compare.
 * Returns how many were listed.
 */
export async function insertUnseenDeactivations(em: EntityManager, runId: string, connectorId: string, seen: Uint8Array): Promise<number> {
  const rows = await bound<{ n: string }>(
    em,
    `with ins as (
       insert into sync_run_deactivations (run_id, user_id, reason)
       select ?, u.id, 'missing_from_listing' from users u
        where u.connector_id = ? and u.status = 'active' and (u.seq >= ? or get_bit(?::bytea, u.seq) = 0)
       on conflict do nothing
       returning 1)
     select count(*) as n from ins`,
    [runId, connectorId, seen.length * 8, Buffer.from(seen.buffer, seen.byteOffset, seen.length)],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The users a run lists for deactivation as missing from the listing, not yet applied (employee id order). */
export async function pendingMissing(em: EntityManager, runId: string): Promise<Array<{ userId: string; externalId: string }>> {
  const rows = await sql<{ user_id: string; external_id: string }>(
    em,
    `select d.user_id, u.external_id from sync_run_deactivations d join users u on u.id = d.user_id
      where d.run_id = ? and d.reason = 'missing_from_listing' and d.applied_at is null and u.external_id is not null
      order by u.external_id`,
    [runId],
  );
  return rows.map((r) => ({ userId: r.user_id, externalId: r.external_id }));
}

/** Takes users off a run's pending deactivations (found at the HR system after all). */
export async function dropPendingDeactivations(em: EntityManager, runId: string, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await bound(
    em,
    `delete from sync_run_deactivations d using jsonb_array_elements_text(?::jsonb) as x
      where d.run_id = ? and d.user_id = x::uuid and d.applied_at is null`,
    [JSON.stringify(userIds), runId],
  );
}

/** Dry run: the employee ids of the active users of the connector the listing did not contain. */
export async function unseenExternalIds(em: EntityManager, connectorId: string, seen: Uint8Array): Promise<string[]> {
  const rows = await bound<{ external_id: string }>(
    em,
    `select u.external_id from users u
      where u.connector_id = ? and u.status = 'active' and u.external_id is not null and (u.seq >= ? or get_bit(?::bytea, u.seq) = 0)
      order by u.external_id`,
    [connectorId, seen.length * 8, Buffer.from(seen.buffer, seen.byteOffset, seen.length)],
  );
  return rows.map((r) => r.external_id);
}

/** Dry run: how many active users of the connector the listing did not contain, and the first few of them (seq order). */
export async function countUnseen(em: EntityManager, connectorId: string, seen: Uint8Array, examples: number): Promise<{ count: number; externalIds: string[] }> {
  const rows = await bound<{ n: string; external_id: string }>(
    em,
    `select count(*) over () as n, u.external_id from users u
      where u.connector_id = ? and u.status = 'active' and (u.seq >= ? or get_bit(?::bytea, u.seq) = 0)
      order by u.seq limit ?`,
    [connectorId, seen.length * 8, Buffer.from(seen.buffer, seen.byteOffset, seen.length), Math.max(1, examples)],
  );
  return { count: Number(rows[0]?.n ?? 0), externalIds: rows.slice(0, examples).map((r) => r.external_id) };
}

/**
 * Links each user to its manager by HR employee id, after all records of a run are in.
 * A manager outside the listing leaves the link empty; a later run fills it.
 * `insertUsers` and `updateUsers` already set the link of every row they write to the
 * manager known at that moment, so the rows whose link may still be wrong are exactly those
 * with a manager id but no link (the manager came later in the run, or was missing before)
 * and those with a link but no manager id. Only rows whose link differs are written.
 * (`_since`, the run's start, is no longer needed: looking again at every row the run wrote
 * cost one index probe per row, a second pass over a whole initial load.)
 */
export async function resolveManagers(em: EntityManager, connectorId: string, _since: Date): Promise<{ linked: number; unresolved: number }> {
  const res = await sql<{ linked: string; unresolved: string }>(
    em,
    `with cand as (
       select u.id, m.id as mid, u.manager_id, u.manager_external_id
         from users u
         left join users m on m.connector_id = u.connector_id and m.external_id = u.manager_external_id and m.id <> u.id
        where u.connector_id = ?
          and ((u.manager_external_id is not null and u.manager_id is null)
               or (u.manager_external_id is null and u.manager_id is not null))),
     upd as (
       update users u set manager_id = cand.mid, updated_at = now()
         from cand where u.id = cand.id and u.manager_id is distinct from cand.mid
       returning u.id)
     select (select count(*) from upd) as linked,
            (select count(*) from cand where cand.mid is null and cand.manager_external_id is not null) as unresolved`,
    [connectorId],
  );
  return { linked: Number(res[0]?.linked ?? 0), unresolved: Number(res[0]?.unresolved ?? 0) };
}

/**
 * Deactivates the users a run listed for deactivation that are still active and still
 * this connector's: access revoked, never hard-deleted. Returns how many changed.
 */
export async function applyDeactivations(em: EntityManager, runId: string, connectorId: string): Promise<number> {
  const res = await sql<{ n: string }>(
    em,
    `with d as (
       update users u set status = 'deactivated', deactivated_by = 'sync', deactivated_at = now(), updated_at = now()
         from sync_run_deactivations d
        where d.run_id = ? and d.user_id = u.id and u.status = 'active' and u.connector_id = ?
       returning u.id),
     mark as (
       update sync_run_deactivations s set applied_at = now() where s.run_id = ? and s.user_id in (select id from d)),
     inv as (${WITHDRAW_INVITATIONS_SQL})
     select count(*) as n from d`,
    [runId, connectorId, runId],
  );
  return Number(res[0]?.n ?? 0);
}

export async function countPendingDeactivations(em: EntityManager, runId: string): Promise<number> {
  const r = await sqlOne<{ n: string }>(em, `select count(*) as n from sync_run_deactivations where run_id = ? and applied_at is null`, [runId]);
  return Number(r?.n ?? 0);
}

/**
 * Refreshes the planner's statistics of the user store, as PostgreSQL advises after loading
 * data. Without them (autovacuum off, or not yet come round) a connector's users look like a
 * handful of rows and page lookups are planned as scans of all of them. Never waits for a
 * lock: when another session is analyzing, that one will do.
 */
export async function analyzeUsers(em: EntityManager): Promise<void> {
  await sql(em, `analyze (skip_locked) users, group_memberships`);
}
