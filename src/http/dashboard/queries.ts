import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../../db/sql.js';
import type { SyncCounts } from '../../db/sync-run-types.js';
import { planRollout, type RolloutCandidate, type SkipReason } from '../../domain/rollout-plan.js';
import { isUuid } from '../../domain/uuid.js';
import { selectionWhere, type RolloutRecord, type Selection } from '../../invitations/rollout-service.js';
import { decodeCursor, listUsers, type ListUsersQuery } from '../../users/user-service.js';

/**
 * The dashboard's reads. Every one is scoped by organization in SQL; callers pass the
 * organization the request may act on, never one taken from the data.
 */

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

// ---- connectors ---------------------------------------------------------------------------

export interface ConnectorState {
  lastSyncAt: string | null;
  lastRun: { id: string; status: string; trigger: string; startedAt: string; finishedAt: string | null; counts: Partial<SyncCounts> } | null;
  /** a run waiting for approval: the connector syncs no more until it is decided */
  held: { id: string; count: number } | null;
  /** a queued or running run, dry runs included */
  active: { id: string; status: string; dryRun: boolean } | null;
}

export async function connectorStates(em: EntityManager, organizationId: string): Promise<Map<string, ConnectorState>> {
  const rows = await sql<{
    id: string; last_sync_at: Date | null;
    run_id: string | null; run_status: string | null; run_trigger: string | null; run_started: Date | null; run_finished: Date | null; run_counts: Partial<SyncCounts> | null;
    held_id: string | null; held_n: number | null; active_id: string | null; active_status: string | null; active_dry: boolean | null;
  }>(
    em,
    `select c.id, c.last_sync_at,
            r.id as run_id, r.status as run_status, r.trigger as run_trigger, r.started_at as run_started, r.finished_at as run_finished, r.counts as run_counts,
            h.id as held_id, (h.counts->>'heldDeactivations')::int as held_n,
            a.id as active_id, a.status as active_status, a.dry_run as active_dry
       from connectors c
       left join lateral (select * from sync_runs s where s.connector_id = c.id and not s.dry_run and s.status not in ('queued', 'skipped') order by s.started_at desc limit 1) r on true
       left join lateral (select * from sync_runs s where s.connector_id = c.id and not s.dry_run and s.status = 'needs_approval' order by s.started_at desc limit 1) h on true
       left join lateral (select * from sync_runs s where s.connector_id = c.id and s.status in ('queued', 'running') order by s.started_at desc limit 1) a on true
      where c.organization_id = ?`,
    [organizationId],
  );
  const out = new Map<string, ConnectorState>();
  for (const r of rows) {
    out.set(r.id, {
      lastSyncAt: iso(r.last_sync_at),
      lastRun: r.run_id ? { id: r.run_id, status: r.run_status!, trigger: r.run_trigger!, startedAt: iso(r.run_started)!, finishedAt: iso(r.run_finished), counts: r.run_counts ?? {} } : null,
      held: r.held_id ? { id: r.held_id, count: r.held_n ?? 0 } : null,
      active: r.active_id ? { id: r.active_id, status: r.active_status!, dryRun: !!r.active_dry } : null,
    });
  }
  return out;
}

export async function heldRunCount(em: EntityManager, organizationId: string): Promise<number> {
  const row = await sqlOne<{ n: string }>(em, `select count(*) as n from sync_runs where organization_id = ? and status = 'needs_approval' and not dry_run`, [organizationId]);
  return Number(row?.n ?? 0);
}

// ---- sync runs ------------------------------------------------------------------------------

export interface RunSummary {
  id: string;
  connectorId: string;
  trigger: string;
  dryRun: boolean;
  mode: string;
  status: string;
  counts: Partial<SyncCounts>;
  startedAt: string;
  finishedAt: string | null;
}

function encodeRunCursor(startedAt: string, id: string): string {
  return Buffer.from(`${startedAt}|${id}`).toString('base64url');
}

function decodeRunCursor(c: string): { startedAt: Date; id: string } | null {
  const [t, id] = Buffer.from(c, 'base64url').toString().split('|');
  const d = new Date(t ?? '');
  return !Number.isNaN(d.getTime()) && isUuid(id) ? { startedAt: d, id } : null;
}

/** Newest first, keyset-paged on (started_at, id). */
export async function listRuns(em: EntityManager, organizationId: string, q: { connectorId?: string; status?: string; cursor?: string; limit?: number }): Promise<{ runs: RunSummary[]; nextCursor: string | null }> {
  const where = ['organization_id = ?'];
  const params: unknown[] = [organizationId];
  if (q.connectorId) { where.push('connector_id = ?'); params.push(q.connectorId); }
  if (q.status) { where.push('status = ?'); params.push(q.status); }
  const cur = q.cursor ? decodeRunCursor(q.cursor) : null;
  if (cur) { where.push('(started_at, id) < (?, ?)'); params.push(cur.startedAt, cur.id); }
  const limit = q.limit ?? 50;
  const rows = await sql<{ id: string; connector_id: string; trigger: string; dry_run: boolean; mode: string; status: string; counts: Partial<SyncCounts>; started_at: Date; finished_at: Date | null }>(
    em,
    `select id, connector_id, trigger, dry_run, mode, status, counts, started_at, finished_at from sync_runs where ${where.join(' and ')} order by started_at desc, id desc limit ?`,
    [...params, limit + 1],
  );
  const runs = rows.slice(0, limit).map((r) => ({
    id: r.id, connectorId: r.connector_id, trigger: r.trigger, dryRun: r.dry_run, mode: r.mode, status: r.status, counts: r.counts ?? {},
    startedAt: iso(r.started_at)!, finishedAt: iso(r.finished_at),
  }));
  const last = runs[runs.length - 1];
  return { runs, nextCursor: rows.length > limit && last ? encodeRunCursor(last.startedAt, last.id) : null };
}

export interface HeldDeactivation {
  userId: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  externalId: string | null;
  reason: string;
  appliedAt: string | null;
  status: 'active' | 'deactivated';
}

/** The users a run deactivates (or holds back): who they are and why. */
export async function runDeactivations(em: EntityManager, runId: string, organizationId: string, limit = 500): Promise<{ rows: HeldDeactivation[]; total: number }> {
  const rows = await sql<{ user_id: string; first_name: string | null; last_name: string | null; email: string | null; external_id: string | null; reason: string; applied_at: Date | null; status: 'active' | 'deactivated' }>(
    em,
    `select d.user_id, u.first_name, u.last_name, u.email, u.external_id, d.reason, d.applied_at, u.status
       from sync_run_deactivations d join users u on u.id = d.user_id and u.organization_id = ?
      where d.run_id = ? order by u.last_name nulls last, u.first_name nulls last, u.seq limit ?`,
    [organizationId, runId, limit],
  );
  const total = await sqlOne<{ n: string }>(em, `select count(*) as n from sync_run_deactivations where run_id = ?`, [runId]);
  return {
    rows: rows.map((r) => ({ userId: r.user_id, firstName: r.first_name, lastName: r.last_name, email: r.email, externalId: r.external_id, reason: r.reason, appliedAt: iso(r.applied_at), status: r.status })),
    total: Number(total?.n ?? 0),
  };
}

// ---- users ------------------------------------------------------------------------------------

export async function namedOptions(em: EntityManager, table: 'locations' | 'groups', organizationId: string): Promise<Array<{ id: string; name: string }>> {
  return sql<{ id: string; name: string }>(em, `select id, name from ${table} where organization_id = ? order by lower(name) limit 2000`, [organizationId]);
}

export async function namedById(em: EntityManager, table: 'locations' | 'groups', organizationId: string, id: string | undefined): Promise<string | null> {
  if (!isUuid(id)) return null;
  const row = await sqlOne<{ name: string }>(em, `select name from ${table} where organization_id = ? and id = ?`, [organizationId, id]);
  return row?.name ?? null;
}

/**
 * How many users a list query matches (the same filters as listUsers), counting at most
 * `cap` + 1 so a count over a very large organization stays cheap: `{ n, capped }`.
 */
export async function countUsers(em: EntityManager, query: ListUsersQuery & { organizationId: string }, cap = 100_000): Promise<{ n: number; capped: boolean }> {
  const where = ['u.organization_id = ?'];
  const params: unknown[] = [query.organizationId];
  if (query.status) { where.push('u.status = ?'); params.push(query.status); }
  if (query.access) { where.push('u.access = ?'); params.push(query.access); }
  if (query.connectorId) { where.push('u.connector_id = ?'); params.push(query.connectorId); }
  if (query.locationId) {
    if (!isUuid(query.locationId)) return { n: 0, capped: false };
    where.push('u.location_id = ?'); params.push(query.locationId);
  }
  if (query.groupId) {
    if (!isUuid(query.groupId)) return { n: 0, capped: false };
    where.push('exists (select 1 from group_memberships gm where gm.user_id = u.id and gm.group_id = ?)'); params.push(query.groupId);
  }
  if (query.q) {
    const like = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(`(lower(u.email) like ? or lower(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) like ? or u.external_id = ?)`);
    params.push(like, like, query.q);
  }
  const row = await sqlOne<{ n: string }>(em, `select count(*) as n from (select 1 from users u where ${where.join(' and ')} limit ?) x`, [...params, cap + 1]);
  const n = Number(row?.n ?? 0);
  return { n: Math.min(n, cap), capped: n > cap };
}

/** Every user id a list query matches (for "all matching" with a search text, which a rollout filter cannot express). */
export async function matchingUserIds(em: EntityManager, query: ListUsersQuery & { organizationId: string }, max: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listUsers(em, { ...query, cursor, limit: 1000 });
    ids.push(...page.users.map((u) => u.id));
    if (!page.nextCursor || ids.length > max) break;
    cursor = page.nextCursor;
  }
  return ids;
}

export function cursorIsValid(cursor: string | undefined): boolean {
  if (!cursor) return true;
  try {
    decodeCursor(cursor);
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

// ---- rollout selection: the same semantics RolloutService resolves when a rollout fires -------------

export type { Selection };

interface CandidateRow {
  id: string;
  status: 'active' | 'deactivated';
  access: 'none' | 'invited' | 'active';
  has_email: boolean;
  pending: boolean;
}

/**
 * An address of the plain shape — dot-atom local part, LDH labels, at least two — which the one
 * validator (src/domain/email-address.ts) always accepts within the length limits checked
 * beside it. Bound as parameters: the pattern is full of `?`.
 */
const PLAIN_ADDRESS = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";
const NUMERIC_TOP_LABEL = '\\.[0-9]+$';

const toCandidate = (r: CandidateRow): RolloutCandidate => ({
  id: r.id, status: r.status, access: r.access,
  // Rows counted per combination have a plain address (or none): a plain one stands in for
  // theirs, which stay in the database. Other addresses are passed to planRollout as they are.
  email: r.has_email ? 'plain@address.example' : null,
  pendingElsewhere: r.pending,
});

/** Why planRollout would skip this one user, or null when it would invite them. */
export function skipReasonOf(c: RolloutCandidate, resend: boolean): SkipReason | null {
  const plan = planRollout([c], { resend });
  return plan.targets.length ? null : ((Object.keys(plan.skipped)[0] as SkipReason | undefined) ?? null);
}

export interface RolloutPreview {
  matched: number;
  invite: number;
  skipped: Partial<Record<SkipReason, number>>;
  skippedTotal: number;
  /** a few of the skipped, per reason, by name */
  examples: Partial<Record<SkipReason, Array<{ id: string; name: string }>>>;
}

/**
 * Who a rollout with this selection would invite if it fired now, and who it would skip
 * and why. The users are the candidates RolloutService resolves; the decision is the pure
 * planRollout rule. The rule looks only at a user's status, access, whether there is an
 * e-mail and whether another invitation is pending, so the users are counted per
 * combination of those in SQL and the rule decides each combination once: the same
 * answer as planning every user, in one aggregate query even for 100,000 users.
 */
export async function previewRollout(em: EntityManager, organizationId: string, sel: Selection, resend: boolean, examplesPerReason = 5): Promise<RolloutPreview> {
  const { where, params } = selectionWhere(organizationId, sel);
  const candidates = `select u.id, u.seq, u.status, u.access, u.email, (u.email is not null) as has_email,
                             (u.email is null or (u.email ~ ? and u.email !~ ? and length(u.email) <= 254 and length(split_part(u.email, '@', 1)) <= 64)) as plain,
                             exists (select 1 from invitations i where i.user_id = u.id and i.status in ('pending', 'sending')) as pending
                        from users u where ${where.join(' and ')}`;
  const cparams = [PLAIN_ADDRESS, NUMERIC_TOP_LABEL, ...params];
  // Addresses of the plain shape are ones the validator takes: counted per combination. The
  // rest (stored before the one address rule) are few, and each is judged by the validator itself.
  const groups = await sql<CandidateRow & { n: string; sample: string[] }>(
    em,
    `select c.status, c.access, c.has_email, c.pending, count(*) as n, (array_agg(c.id order by c.seq))[1:${Math.max(1, Math.floor(examplesPerReason))}] as sample
       from (${candidates}) c where c.plain
      group by c.status, c.access, c.has_email, c.pending`,
    cparams,
  );
  const odd = await sql<CandidateRow & { email: string }>(em, `select c.id, c.status, c.access, c.has_email, c.pending, c.email from (${candidates}) c where not c.plain order by c.seq`, cparams);
  let matched = 0;
  let invite = 0;
  const skipped: Partial<Record<SkipReason, number>> = {};
  const exampleIds: Partial<Record<SkipReason, string[]>> = {};
  const count = (reason: SkipReason | null, n: number, sample: string[]) => {
    matched += n;
    if (!reason) {
      invite += n;
      return;
    }
    skipped[reason] = (skipped[reason] ?? 0) + n;
    const list = (exampleIds[reason] ??= []);
    for (const id of sample) if (list.length < examplesPerReason) list.push(id);
  };
  for (const g of groups) count(skipReasonOf(toCandidate({ ...g, id: g.sample[0] }), resend), Number(g.n), g.sample);
  for (const r of odd) count(skipReasonOf({ ...toCandidate(r), email: r.email }, resend), 1, [r.id]);
  if (sel.userIds) {
    // Asked for by id but not in the organization: planRollout's not_found.
    const missing = new Set(sel.userIds).size - matched;
    if (missing > 0) skipped.not_found = missing;
  }
  const allIds = Object.values(exampleIds).flat();
  const names = allIds.length
    ? await sql<{ id: string; first_name: string | null; last_name: string | null; external_id: string | null }>(em, `select id, first_name, last_name, external_id from users where organization_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::uuid)`, [organizationId, JSON.stringify(allIds)])
    : [];
  const byId = new Map(names.map((n) => [n.id, `${n.first_name ?? ''} ${n.last_name ?? ''}`.trim() || n.external_id || n.id]));
  const examples: RolloutPreview['examples'] = {};
  for (const [reason, ids] of Object.entries(exampleIds) as Array<[SkipReason, string[]]>) examples[reason] = ids.map((id) => ({ id, name: byId.get(id) ?? id }));
  const skippedTotal = Object.values(skipped).reduce((a, b) => a + (b ?? 0), 0);
  return { matched, invite, skipped, skippedTotal, examples };
}

// ---- a rollout's recipients ----------------------------------------------------------------------

export interface Recipient {
  userId: string;
  firstName: string | null;
  lastName: string | null;
  externalId: string | null;
  reason: string | null;
  at: string | null;
}

/** Invitations that failed (a rejected address, a batch that gave up) or were not sent (cancelled), with reasons. */
export async function rolloutRecipients(em: EntityManager, rolloutId: string, organizationId: string, status: 'failed' | 'cancelled', limit = 100): Promise<{ rows: Recipient[]; total: number }> {
  const rows = await sql<{ user_id: string; first_name: string | null; last_name: string | null; external_id: string | null; last_error: string | null; updated_at: Date }>(
    em,
    `select i.user_id, u.first_name, u.last_name, u.external_id, i.last_error, i.updated_at
       from invitations i join users u on u.id = i.user_id
      where i.rollout_id = ? and i.organization_id = ? and i.status = ? order by i.updated_at desc, i.id limit ?`,
    [rolloutId, organizationId, status, limit],
  );
  const total = await sqlOne<{ n: string }>(em, `select count(*) as n from invitations where rollout_id = ? and organization_id = ? and status = ?`, [rolloutId, organizationId, status]);
  return {
    rows: rows.map((r) => ({ userId: r.user_id, firstName: r.first_name, lastName: r.last_name, externalId: r.external_id, reason: r.last_error, at: iso(r.updated_at) })),
    total: Number(total?.n ?? 0),
  };
}

/**
 * Users the rollout's selection names who got no invitation from it, with the reason the
 * rule gives for them now (the store may have changed since the rollout fired).
 */
export async function rolloutSkippedUsers(em: EntityManager, rollout: RolloutRecord, selection: Selection, limit = 100): Promise<Recipient[]> {
  if (!rollout.startedAt) return [];
  const { where, params } = selectionWhere(rollout.organizationId, selection);
  // Users created after the rollout fired were never part of it.
  where.push('u.created_at <= ?');
  params.push(new Date(rollout.startedAt));
  const rows = await sql<CandidateRow & { email: string | null; first_name: string | null; last_name: string | null; external_id: string | null }>(
    em,
    `select u.id, u.status, u.access, u.email, (u.email is not null) as has_email, u.first_name, u.last_name, u.external_id,
            exists (select 1 from invitations i where i.user_id = u.id and i.status in ('pending', 'sending') and i.rollout_id <> ?) as pending
       from users u
      where ${where.join(' and ')} and not exists (select 1 from invitations i where i.rollout_id = ? and i.user_id = u.id)
      order by u.seq limit ?`,
    [rollout.id, ...params, rollout.id, limit],
  );
  return rows.flatMap((r) => {
    const reason = skipReasonOf({ ...toCandidate(r), email: r.email }, rollout.resend);
    return reason ? [{ userId: r.id, firstName: r.first_name, lastName: r.last_name, externalId: r.external_id, reason, at: null }] : [];
  });
}

/** The stored selection of a rollout (the record shows at most 100 ids). */
export async function rolloutSelection(em: EntityManager, rolloutId: string, organizationId: string): Promise<Selection> {
  const row = await sqlOne<{ selection: Selection }>(em, `select selection from rollouts where id = ? and organization_id = ?`, [rolloutId, organizationId]);
  return row?.selection ?? {};
}

// ---- organizations ------------------------------------------------------------------------

export async function organizationStats(em: EntityManager): Promise<Map<string, { users: number; held: number; activeRollouts: number }>> {
  const rows = await sql<{ id: string; users: string; held: string; rollouts: string }>(
    em,
    `select o.id,
            (select count(*) from users u where u.organization_id = o.id) as users,
            (select count(*) from sync_runs s where s.organization_id = o.id and s.status = 'needs_approval' and not s.dry_run) as held,
            (select count(*) from rollouts r where r.organization_id = o.id and r.status in ('scheduled', 'running', 'paused')) as rollouts
       from organizations o`,
  );
  return new Map(rows.map((r) => [r.id, { users: Number(r.users), held: Number(r.held), activeRollouts: Number(r.rollouts) }]));
}
