import type { EntityManager } from '@mikro-orm/postgresql';
import { findConnectorConfig, type AppConfig } from '../config/load.js';
import { sql, sqlOne } from '../db/sql.js';
import { setHistoryActor } from '../db/history-actor.js';
import { applyDeactivations } from '../db/sync-repository.js';
import { planLeavers } from '../domain/leaver-plan.js';
import { DEFAULT_MAX_PERCENT, deactivationVerdict } from '../domain/sync-plan.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Orm } from '../db/orm.js';
import { tryLockConnector } from '../sync/connector-lock.js';
import { emptyCounts } from '../sync/run-record.js';
import type { LifecycleQueuePort } from '../rules/rule-types.js';

export interface LeaverServiceDeps {
  orm: Orm;
  log: Logger;
  config: AppConfig;
  queues: LifecycleQueuePort;
  /** the time (injectable for tests); default: the system clock */
  clock?: () => Date;
  /** A day's planned deactivations went over the connector's threshold and wait for an administrator (the notifications hear of it). */
  onHeld?: (held: LeaversHeld) => void;
}

export interface LeaversHeld {
  organizationId: string;
  connectorId: string;
  runId: string;
  planned: number;
  threshold: number;
}

/**
 * Leavers on their last day. An active person with an end date ahead gets a planned
 * deactivation at the end of that day in their time zone (`planned_deactivations`, one per
 * person; shown as the user's `plannedDeactivationAt`); HR moving or removing the date moves or
 * cancels it. At that moment it is applied as a sync applies deactivations: under the
 * connector's lock, with a run record (trigger `schedule`), its open invitations withdrawn,
 * and the connector's threshold counting all of that day's planned deactivations together —
 * over it, the day's are held in a `needs_approval` run for an administrator.
 */
export class LeaverService {
  constructor(private readonly deps: LeaverServiceDeps) {}

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  /** Re-plans an organization's leavers; queues the moments that changed. */
  async evaluate(organizationId: string, now = this.deps.clock?.() ?? new Date()): Promise<{ planned: number }> {
    const em = this.em();
    const rows = await sql<{ id: string; end_date: string; connector_id: string; tz: string; planned_at: Date | null }>(
      em,
      `select u.id, to_char(u.end_date, 'YYYY-MM-DD') as end_date, u.connector_id, coalesce(l.time_zone, o.time_zone, 'UTC') as tz,
              case when p.status = 'planned' then p.due_at end as planned_at
         from users u join organizations o on o.id = u.organization_id
         left join locations l on l.id = u.location_id
         left join planned_deactivations p on p.user_id = u.id
        where u.organization_id = ? and u.status = 'active' and u.connector_id is not null and u.end_date >= current_date - 2`,
      [organizationId],
    );
    const connectorOf = new Map(rows.map((r) => [r.id, r.connector_id]));
    const plans = planLeavers(
      rows.map((r) => ({ userId: r.id, endDate: r.end_date, timeZone: r.tz, status: 'active' as const, plannedAt: r.planned_at ? new Date(r.planned_at) : null })),
      now,
    ).map((p) => ({ user_id: p.userId, connector_id: connectorOf.get(p.userId), end_date: p.endDate, due_at: p.at.toISOString() }));
    const changed = await sql<{ due_at: Date }>(
      em,
      `with want as (select * from jsonb_to_recordset(?::jsonb) as w(user_id uuid, connector_id text, end_date date, due_at timestamptz)),
       dropped as (
         delete from planned_deactivations p where p.organization_id = ? and p.status = 'planned' and p.user_id not in (select user_id from want) returning 1),
       up as (
         insert into planned_deactivations (user_id, organization_id, connector_id, end_date, due_at)
         select w.user_id, ?, w.connector_id, w.end_date, w.due_at from want w
         on conflict (user_id) do update
            set end_date = excluded.end_date, due_at = excluded.due_at, connector_id = excluded.connector_id, status = 'planned', run_id = null, updated_at = now()
          where (planned_deactivations.status = 'planned' and planned_deactivations.due_at <> excluded.due_at)
             or (planned_deactivations.status <> 'planned' and planned_deactivations.end_date <> excluded.end_date)
         returning due_at)
       select distinct due_at from up`,
      [JSON.stringify(plans), organizationId, organizationId],
    );
    for (const { due_at } of changed) {
      await this.deps.queues.scheduleDeactivations(organizationId, new Date(due_at)).catch((err: Error) =>
        this.deps.log.warn({ organizationId, err: err.message }, 'planned deactivation not queued; the reconciler will queue it'),
      );
    }
    return { planned: plans.length };
  }

  /**
   * Applies an organization's due planned deactivations, connector by connector. A connector
   * busy with a sync throws (the job retries); a connector held for approval keeps them planned.
   */
  async applyDue(organizationId: string, now = this.deps.clock?.() ?? new Date()): Promise<{ deactivated: number; held: number }> {
    const em = this.em();
    const due = await sql<{ connector_id: string; end_date: string }>(
      em,
      `select distinct connector_id, to_char(end_date, 'YYYY-MM-DD') as end_date from planned_deactivations
        where organization_id = ? and status = 'planned' and due_at <= ? order by 1, 2`,
      [organizationId, new Date(now.getTime() + 1_000)],
    );
    let deactivated = 0;
    let held = 0;
    for (const d of due) {
      const r = await this.applyDay(organizationId, d.connector_id, d.end_date, now);
      deactivated += r.deactivated;
      held += r.held;
    }
    return { deactivated, held };
  }

  private async applyDay(organizationId: string, connectorId: string, endDate: string, now: Date): Promise<{ deactivated: number; held: number }> {
    const { config, log } = this.deps;
    const lock = await tryLockConnector(config.databaseUrl, connectorId);
    if (!lock) throw new AppError('connector_busy', `a sync of ${connectorId} is running; planned deactivations wait for it`, { retryable: true });
    try {
      const em = this.em();
      const waiting = await sqlOne(em, `select 1 from sync_runs where connector_id = ? and status = 'needs_approval' and not dry_run limit 1`, [connectorId]);
      if (waiting) {
        log.warn({ connectorId, endDate }, 'connector held for approval: planned deactivations wait');
        return { deactivated: 0, held: 0 };
      }
      const policy = findConnectorConfig(config, connectorId)?.connector.deactivation ?? {};
      let held: LeaversHeld | null = null;
      const result = await em.transactional(async (tx) => {
        const t = tx as EntityManager;
        // The whole day counts against the threshold: what was applied of it already, and what is still to come.
        const day = await sqlOne<{ total: string; applied: string }>(
          t,
          `select count(*) as total, count(*) filter (where p.status = 'applied') as applied
             from planned_deactivations p join users u on u.id = p.user_id
            where p.connector_id = ? and p.end_date = ?::date and (p.status = 'applied' or u.status = 'active')`,
          [connectorId, endDate],
        );
        const active = await sqlOne<{ n: string }>(t, `select count(*) as n from users where connector_id = ? and status = 'active'`, [connectorId]);
        const total = Number(day?.total ?? 0);
        const activeBefore = Number(active?.n ?? 0) + Number(day?.applied ?? 0);
        const verdict = deactivationVerdict(total, activeBefore, policy);
        // Held: every still-planned deactivation of the day goes into the run (one decision for the day).
        const take = await sql<{ user_id: string }>(
          t,
          `select p.user_id from planned_deactivations p join users u on u.id = p.user_id
            where p.connector_id = ? and p.end_date = ?::date and p.status = 'planned' and u.status = 'active'
              ${verdict.hold ? '' : 'and p.due_at <= ?'} for update of p`,
          verdict.hold ? [connectorId, endDate] : [connectorId, endDate, new Date(now.getTime() + 1_000)],
        );
        if (take.length === 0) return { deactivated: 0, held: 0 };
        const ids = JSON.stringify(take.map((x) => x.user_id));
        const counts = { ...emptyCounts(), heldDeactivations: verdict.hold ? take.length : 0 };
        const run = await sqlOne<{ id: string }>(
          t,
          `insert into sync_runs (organization_id, connector_id, trigger, mode, status, counts, held_reason, started_at, finished_at)
           values (?, ?, 'schedule', 'incremental', ?, ?::jsonb, ?, now(), now()) returning id`,
          [organizationId, connectorId, verdict.hold ? 'needs_approval' : 'succeeded', JSON.stringify(counts),
            verdict.hold ? `planned deactivations of leavers on ${endDate}: ${verdict.reason}` : null],
        );
        const runId = run!.id;
        await sql(t, `insert into sync_run_deactivations (run_id, user_id, reason) select ?, x::uuid, 'terminated' from jsonb_array_elements_text(?::jsonb) as x`, [runId, ids]);
        if (verdict.hold) {
          await sql(t, `update planned_deactivations set status = 'held', run_id = ?, updated_at = now() where user_id = any(array(select jsonb_array_elements_text(?::jsonb)::uuid))`, [runId, ids]);
          log.warn({ connectorId, runId, endDate, held: take.length, dayTotal: total, activeBefore }, 'planned deactivations held for approval');
          const threshold = policy.maxCount ?? Math.floor((activeBefore * (policy.maxPercent ?? DEFAULT_MAX_PERCENT)) / 100);
          held = { organizationId, connectorId, runId, planned: total, threshold };
          return { deactivated: 0, held: take.length };
        }
        // The users' history names the leavers' end dates (a standing rule) and this run as the cause.
        await setHistoryActor(t, { type: 'rule', id: runId });
        const n = await applyDeactivations(t, runId, connectorId);
        await sql(t, `update sync_runs set counts = counts || jsonb_build_object('deactivated', ?::int) where id = ?`, [n, runId]);
        await sql(t, `update planned_deactivations set status = 'applied', run_id = ?, updated_at = now() where user_id = any(array(select jsonb_array_elements_text(?::jsonb)::uuid))`, [runId, ids]);
        log.info({ connectorId, runId, endDate, deactivated: n }, 'planned deactivations applied');
        return { deactivated: n, held: 0 };
      });
      // After the commit: nobody is told of a hold that rolled back.
      if (held) this.deps.onHeld?.(held);
      return result;
    } finally {
      await lock.release();
    }
  }

  /** For the reconciler: every (organization, moment) still planned. */
  async plannedMoments(): Promise<Array<{ organizationId: string; at: Date }>> {
    const rows = await sql<{ organization_id: string; due_at: Date }>(this.em(), `select distinct organization_id, due_at from planned_deactivations where status = 'planned'`);
    return rows.map((r) => ({ organizationId: r.organization_id, at: new Date(r.due_at) }));
  }

  /** When a user's planned deactivation will happen (null: none planned). */
  async plannedFor(userId: string): Promise<Date | null> {
    const r = await sqlOne<{ due_at: Date }>(this.em(), `select due_at from planned_deactivations where user_id = ? and status = 'planned'`, [userId]);
    return r ? new Date(r.due_at) : null;
  }
}
