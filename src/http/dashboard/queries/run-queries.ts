import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../../../db/sql.js';
import type { SyncCounts } from '../../../db/sync-run-types.js';
import { isUuid } from '../../../domain/uuid.js';
import { searchCondition } from '../../../users/user-search.js';

/** The dashboard's reads of connectors and sync runs, scoped by organization in SQL. */

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

/**
 * The users a run deactivates (or holds back): who they are and why; a search text (name,
 * e-mail, employee id: as the users list searches) and a page of them, with the total that matches.
 */
export async function runDeactivations(em: EntityManager, runId: string, organizationId: string, opts: { limit?: number; offset?: number; q?: string } = {}): Promise<{ rows: HeldDeactivation[]; total: number; matching: number }> {
  const where = ['d.run_id = ?'];
  const params: unknown[] = [runId];
  if (opts.q) {
    const c = searchCondition(opts.q);
    where.push(c.sql);
    params.push(...c.params);
  }
  const rows = await sql<{ user_id: string; first_name: string | null; last_name: string | null; email: string | null; external_id: string | null; reason: string; applied_at: Date | null; status: 'active' | 'deactivated' }>(
    em,
    `select d.user_id, u.first_name, u.last_name, u.email, u.external_id, d.reason, d.applied_at, u.status
       from sync_run_deactivations d join users u on u.id = d.user_id and u.organization_id = ?
      where ${where.join(' and ')} order by u.last_name nulls last, u.first_name nulls last, u.seq limit ? offset ?`,
    [organizationId, ...params, opts.limit ?? 100, opts.offset ?? 0],
  );
  const total = await sqlOne<{ n: string }>(em, `select count(*) as n from sync_run_deactivations where run_id = ?`, [runId]);
  const matching = opts.q
    ? await sqlOne<{ n: string }>(em, `select count(*) as n from sync_run_deactivations d join users u on u.id = d.user_id and u.organization_id = ? where ${where.join(' and ')}`, [organizationId, ...params])
    : total;
  return {
    rows: rows.map((r) => ({ userId: r.user_id, firstName: r.first_name, lastName: r.last_name, email: r.email, externalId: r.external_id, reason: r.reason, appliedAt: iso(r.applied_at), status: r.status })),
    total: Number(total?.n ?? 0),
    matching: Number(matching?.n ?? 0),
  };
}

/** The employee ids a run skipped (inactive in HR, never created): the first 100 it kept. */
export async function runSkippedIds(em: EntityManager, runId: string, organizationId: string): Promise<string[]> {
  const row = await sqlOne<{ ids: string[] | null }>(em, `select skipped_ids as ids from sync_runs where id = ? and organization_id = ?`, [runId, organizationId]);
  return row?.ids ?? [];
}

/** The users a dry run names as examples of whom it would deactivate (by employee id, at most a few). */
export async function usersByExternalId(em: EntityManager, organizationId: string, connectorId: string, externalIds: string[]): Promise<Array<{ id: string; firstName: string | null; lastName: string | null; externalId: string; email: string | null }>> {
  if (externalIds.length === 0) return [];
  const rows = await sql<{ id: string; first_name: string | null; last_name: string | null; external_id: string; email: string | null }>(
    em,
    `select id, first_name, last_name, external_id, email from users where organization_id = ? and connector_id = ? and external_id = any(?::text[]) order by last_name nulls last, first_name nulls last`,
    [organizationId, connectorId, externalIds.slice(0, 100)],
  );
  return rows.map((r) => ({ id: r.id, firstName: r.first_name, lastName: r.last_name, externalId: r.external_id, email: r.email }));
}
