import type { EntityManager } from '@mikro-orm/postgresql';
import { bound, sql, sqlOne } from './sql.js';

/**
 * The invitations table: every statement that reads or changes invitations.
 *
 * Life of an invitation: `pending` (created when its rollout fires) → `sending` (claimed by a
 * batch, its token made) → `sent` → `accepted`, or `expired` (past `expires_at`, swept), or
 * `revoked` (a resend, the user deactivated); `failed` (the address refused) and `cancelled`
 * end it before it was sent. `pending`, `sending` and `sent` are the live states: a partial
 * unique index (invitations_live_user_uq) allows one live invitation per user, whatever
 * rollouts fire at once in whatever processes.
 */
export const LIVE_STATUSES = ['pending', 'sending', 'sent'] as const;

/** A JSON list of ids as a uuid[] for `id = any(…)`: always a primary-key lookup. */
const jsonUuids = `array(select jsonb_array_elements_text(?::jsonb)::uuid)`;

/**
 * A deactivated user loses access: live invitations end (sent ones revoked, the others
 * cancelled) and their links stop working. Used inside a statement whose CTE `d` returns the
 * user ids (the sync's deactivations, an administrator's).
 */
export const WITHDRAW_INVITATIONS_SQL = `
       update invitations i set
         status = case when i.status = 'sent' then 'revoked' else 'cancelled' end,
         token = null,
         last_error = coalesce(i.last_error, 'user_deactivated'), updated_at = now()
        where i.user_id in (select id from d) and i.status in ('pending', 'sending', 'sent')`;

/**
 * Expiry is a status change: sent invitations past their expiry become `expired`, and their
 * users — invited, with no other live invitation — go back to access `none`, so that users
 * lists, the dashboard and the next rollout treat them as never invited. Rows another session
 * holds are skipped (it is accepting or revoking them). Returns how many expired.
 */
export async function expireInvitations(em: EntityManager, limit = 10_000): Promise<number> {
  const r = await sqlOne<{ n: string }>(
    em,
    `with e as (
       update invitations set status = 'expired', token = null, updated_at = now()
        where id = any(array(select id from invitations where status = 'sent' and expires_at <= now() limit ? for update skip locked))
          and status = 'sent'
       returning id, user_id),
     u as (
       update users u set access = 'none', updated_at = now()
        where u.id in (select user_id from e) and u.access = 'invited'
          and not exists (select 1 from invitations i where i.user_id = u.id and i.status in ('pending', 'sending', 'sent')
                            and i.id not in (select id from e))
       returning 1)
     select count(*) as n from e`,
    [limit],
  );
  return Number(r?.n ?? 0);
}

/**
 * Creates invitations for users of a firing rollout; a user who already has a live invitation
 * (of this rollout or another, committed or being committed by a concurrent fire) is left out
 * by the unique indexes. Returns the users invited.
 */
export async function insertInvitations(em: EntityManager, rolloutId: string, organizationId: string, loginMethod: string, rows: Array<{ user_id: string; batch: number }>): Promise<Array<{ user_id: string; batch: number }>> {
  return bound<{ user_id: string; batch: number }>(
    em,
    `insert into invitations (rollout_id, organization_id, user_id, batch, login_method)
     select ?, ?, x.user_id, x.batch, ? from jsonb_to_recordset(?::jsonb) as x(user_id uuid, batch int)
     on conflict do nothing
     returning user_id, batch`,
    [rolloutId, organizationId, loginMethod, JSON.stringify(rows)],
  );
}

/** An explicit resend: the sent (not accepted, not expired) invitations of these users end, and their links stop working. */
export async function revokeSent(em: EntityManager, rolloutId: string, userIds: string[]): Promise<void> {
  await bound(
    em,
    `update invitations set status = 'revoked', token = null, last_error = coalesce(last_error, 'resent'), updated_at = now()
      where user_id = any(array(select jsonb_array_elements_text(?::jsonb)::uuid)) and status = 'sent' and rollout_id <> ?`,
    [JSON.stringify(userIds), rolloutId],
  );
}

/** Why each of these users has a live invitation elsewhere: `sent` → already_invited, pending or sending → pending_elsewhere. */
export async function liveStatusOf(em: EntityManager, userIds: string[]): Promise<Map<string, string>> {
  const rows = await bound<{ user_id: string; status: string }>(
    em,
    `select user_id, status from invitations where user_id = any(array(select jsonb_array_elements_text(?::jsonb)::uuid)) and status in ('pending', 'sending', 'sent')`,
    [JSON.stringify(userIds)],
  );
  return new Map(rows.map((r) => [r.user_id, r.status]));
}

/**
 * A batch taken over: messages left `sending` were in flight when an earlier run died (or the
 * database went away). They go back to pending with their token, so the copy sent again carries
 * the same link as the one that may already have arrived.
 */
export async function resetInFlight(em: EntityManager, rolloutId: string, batch: number): Promise<void> {
  await sql(em, `update invitations set status = 'pending', updated_at = now() where rollout_id = ? and batch = ? and status = 'sending'`, [rolloutId, batch]);
}

/** Users who lost their e-mail or were deactivated since the rollout fired are not invited. */
export async function cancelUnreachable(em: EntityManager, rolloutId: string, batch: number): Promise<void> {
  // From the batch's invitations to their users by key: the planner would rather scan every
  // user for the few it expects to be deactivated.
  await sql(
    em,
    `update invitations i set status = 'cancelled', token = null, token_hash = null,
            last_error = case when u.status <> 'active' then 'user_deactivated' else 'no_email' end, updated_at = now()
       from users u
      where i.id = any(array(select p.id from invitations p where p.rollout_id = ? and p.batch = ? and p.status = 'pending'))
        and i.status = 'pending' and u.id = i.user_id and (u.status <> 'active' or u.email is null)`,
    [rolloutId, batch],
  );
}

export interface ClaimedInvitation {
  id: string;
  user_id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  token: string;
}

/**
 * Claims up to `n` pending invitations of a batch (only while the rollout runs): pending →
 * sending. An invitation claimed for the first time gets its token here, made by PostgreSQL
 * (256 bits from two gen_random_uuid(), URL-safe base64) so that no clear token travels as a
 * statement parameter; one claimed before keeps the token it had. Its expiry starts now.
 */
export async function claimChunk(em: EntityManager, rolloutId: string, batch: number, n: number, expiresAt: Date): Promise<ClaimedInvitation[]> {
  return bound<ClaimedInvitation>(
    em,
    // The batch's pending ids come first (index on rollout, batch, status), and the rows are
    // then locked by primary key: left to itself the planner may walk the whole table in id
    // order for the `order by … limit`, or every pending row of the rollout.
    `with c as (
       select id, rtrim(translate(encode(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/', '-_'), '=') as fresh
         from (select i.id from invitations i
                where i.id = any(array(select p.id from invitations p where p.rollout_id = ? and p.batch = ? and p.status = 'pending'))
                  and i.status = 'pending'
                  and exists (select 1 from rollouts r where r.id = i.rollout_id and r.status = 'running')
                order by i.id limit ? for update skip locked) s)
     update invitations i
        set status = 'sending',
            token = coalesce(i.token, c.fresh),
            token_hash = case when i.token is null then encode(sha256(convert_to(c.fresh, 'UTF8')), 'hex') else i.token_hash end,
            expires_at = ?, attempts = i.attempts + 1, updated_at = now()
       from c, users u
      where i.id = c.id and u.id = i.user_id
     returning i.id, i.user_id, u.email, u.first_name, u.last_name, i.token`,
    [rolloutId, batch, n, expiresAt],
  );
}

/**
 * Records one sent chunk: sent invitations (guarded: still `sending`; their clear token
 * dropped, unless their rollout will remind them) and their users now invited; refused addresses failed; the others back to pending
 * with their token. PostgreSQL runs every data-modifying CTE exactly once, all in the
 * statement's one snapshot and transaction.
 */
export async function recordChunk(em: EntityManager, r: { sent: Array<{ id: string; user_id: string }>; failed: Array<{ id: string; error: string }>; back: Array<{ id: string; error: string }> }): Promise<void> {
  await sql(
    em,
    `with sent as (
           update invitations i set status = 'sent', sent_at = now(), updated_at = now(),
                  -- kept only while reminders (the same link) are still to come: reminders.ts
                  token = case when exists (select 1 from rollouts r where r.id = i.rollout_id and r.remind_max > i.reminders_sent) then i.token end
            where i.id = any(${jsonUuids}) and i.status = 'sending' returning 1),
         invited as (
           update users set access = 'invited', updated_at = now()
            where id = any(${jsonUuids}) and access = 'none' returning 1),
         failed as (
           update invitations i set status = 'failed', token = null, token_hash = null, last_error = x.error, updated_at = now()
             from jsonb_to_recordset(?::jsonb) as x(id uuid, error text) where i.id = x.id and i.status = 'sending' returning 1),
         back as (
           update invitations i set status = 'pending', last_error = x.error, updated_at = now()
             from jsonb_to_recordset(?::jsonb) as x(id uuid, error text) where i.id = x.id and i.status = 'sending' returning 1)
     select 1`,
    [JSON.stringify(r.sent.map((o) => o.id)), JSON.stringify(r.sent.map((o) => o.user_id)), JSON.stringify(r.failed), JSON.stringify(r.back)],
  );
}

/** Failures recorded earlier that turned out to be the sender's fault (the same refusal for many): pending again. */
export async function unfail(em: EntityManager, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql(em, `update invitations set status = 'pending', last_error = 'sender_refused', updated_at = now() where id = any(${jsonUuids}) and status = 'failed'`, [JSON.stringify(ids)]);
}

/** After a batch gave up: its unsent messages fail. */
export async function failBatch(em: EntityManager, rolloutId: string, batch: number, reason: string): Promise<void> {
  await sql(em, `update invitations set status = 'failed', token = null, token_hash = null, last_error = ?, updated_at = now() where rollout_id = ? and batch = ? and status in ('pending', 'sending')`, [reason, rolloutId, batch]);
}

/** A cancelled rollout: what it has not sent yet never will be. */
export async function cancelPending(em: EntityManager, rolloutId: string): Promise<void> {
  await sql(em, `update invitations set status = 'cancelled', token = null, token_hash = null, last_error = 'rollout_cancelled', updated_at = now() where rollout_id = ? and status = 'pending'`, [rolloutId]);
}

export async function pendingBatches(em: EntityManager, rolloutId: string): Promise<number[]> {
  const rows = await sql<{ batch: number }>(em, `select distinct batch from invitations where rollout_id = ? and status in ('pending', 'sending') order by batch`, [rolloutId]);
  return rows.map((r) => r.batch);
}

/** The batches with work of every running rollout: for the reconciler. */
export async function pendingBatchesOfRunning(em: EntityManager): Promise<Array<{ rollout_id: string; batches: number[] }>> {
  return sql<{ rollout_id: string; batches: number[] }>(
    em,
    `select i.rollout_id, array_agg(distinct i.batch) as batches
       from invitations i join rollouts r on r.id = i.rollout_id
      where r.status = 'running' and i.status in ('pending', 'sending')
      group by i.rollout_id`,
  );
}

export async function countsByStatus(em: EntityManager, rolloutIds: string[]): Promise<Array<{ rollout_id: string; status: string; n: string }>> {
  return sql<{ rollout_id: string; status: string; n: string }>(
    em,
    `select rollout_id, status, count(*) as n from invitations where rollout_id = any(${jsonUuids}) group by 1, 2`,
    [JSON.stringify(rolloutIds)],
  );
}

/**
 * Uses a token: a live invitation (sent — or claimed before, whose message may have gone out
 * before a crash) with this token's hash, unexpired, of an active user, becomes `accepted`
 * and its user active. Returns null for anything else.
 */
export async function acceptByTokenHash(em: EntityManager, tokenHash: string, organizationId?: string): Promise<{ user_id: string; organization_id: string } | null> {
  const row = await sqlOne<{ user_id: string; organization_id: string }>(
    em,
    `update invitations i set status = 'accepted', accepted_at = now(), token = null, token_hash = null, updated_at = now()
       from users u
      where i.token_hash = ? and i.status in ('pending', 'sending', 'sent') and i.expires_at > now() and u.id = i.user_id and u.status = 'active'
        ${organizationId ? 'and i.organization_id = ?' : ''}
     returning i.user_id, i.organization_id`,
    organizationId ? [tokenHash, organizationId] : [tokenHash],
  );
  if (row) await sql(em, `update users set access = 'active', updated_at = now() where id = ?`, [row.user_id]);
  return row;
}
