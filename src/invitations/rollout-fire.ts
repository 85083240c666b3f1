import type { EntityManager } from '@mikro-orm/postgresql';
import { expireInvitations, insertInvitations, liveStatusOf, revokeSent } from '../db/invitation-repository.js';
import { sql, sqlOne } from '../db/sql.js';
import { planRollout, type RolloutCandidate, type SkipReason } from '../domain/rollout-plan.js';
import type { RolloutContext, RolloutRow } from './rollout-types.js';
import { selectionWhere } from './rollout-selection.js';

/** A rollout of at least this many invitations refreshes the table's planner statistics when it fires. */
const ANALYZE_AFTER_TARGETS = 2_000;
const INSERT_CHUNK = 5_000;

/**
 * Fires a scheduled rollout whose time has come, in one transaction: expired invitations are
 * swept first (their users can be invited again), the selection is resolved now, and the
 * invitations are inserted with `on conflict do nothing` — PostgreSQL's unique index allows one
 * live invitation per user, so of two rollouts firing at the same instant in two processes,
 * the second waits for the first's rows and leaves those users out, counting them as
 * `already_invited` (sent) or `pending_elsewhere` (being sent). A resend revokes the old
 * sent invitation in the same transaction as it inserts the new one.
 * Safe to run twice: only one call moves the rollout from scheduled to running.
 */
export async function fireRollout(ctx: RolloutContext, id: string, now: Date = new Date()): Promise<{ fired: boolean; targeted: number; batches: number[] }> {
  const { deps } = ctx;
  const em = deps.orm.em.fork() as EntityManager;
  const result = await em.transactional(async (tx) => {
    const t = tx as EntityManager;
    const row = await sqlOne<RolloutRow>(
      t,
      `update rollouts set status = 'running', started_at = now(), updated_at = now()
        where id = ? and status = 'scheduled' and send_at <= ? returning *`,
      [id, new Date(now.getTime() + 1_000)],
    );
    if (!row) return null;
    // (a backlog larger than this is the reconciler's: it sweeps in pages)
    await expireInvitations(t, 100_000);
    const candidates = await candidatesOf(t, row);
    const plan = planRollout(candidates, { resend: row.resend, requestedIds: row.selection.userIds });
    const size = row.batch_size;
    const invited: Array<{ user_id: string; batch: number }> = [];
    for (let i = 0; i < plan.targets.length; i += INSERT_CHUNK) {
      const chunk = plan.targets.slice(i, i + INSERT_CHUNK).map((userId, k) => ({ user_id: userId, batch: Math.floor((i + k) / size) }));
      // A new link replaces the one sent before: the old one stops working.
      if (row.resend) await revokeSent(t, id, chunk.map((c) => c.user_id));
      invited.push(...(await insertInvitations(t, id, row.organization_id, row.login_method, chunk)));
    }
    const skipped: Partial<Record<SkipReason, number>> = { ...plan.skipped };
    if (invited.length < plan.targets.length) {
      // Another rollout holds a live invitation for these (it fired meanwhile, or is firing now).
      const got = new Set(invited.map((r) => r.user_id));
      const others = plan.targets.filter((u) => !got.has(u));
      const live = await liveStatusOf(t, others);
      for (const u of others) {
        const reason: SkipReason = live.get(u) === 'sent' || !live.has(u) ? 'already_invited' : 'pending_elsewhere';
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      }
    }
    await sql(
      t,
      `update rollouts set targeted = ?, skipped_by_reason = ?::jsonb,
              status = case when ? = 0 then 'completed' else status end,
              finished_at = case when ? = 0 then now() else finished_at end
        where id = ?`,
      [invited.length, JSON.stringify(skipped), invited.length, invited.length, id],
    );
    const batches = [...new Set(invited.map((r) => Number(r.batch)))].sort((a, b) => a - b);
    deps.log.info({ rolloutId: id, targeted: invited.length, skipped, batches: batches.length }, 'rollout fired');
    return { targeted: invited.length, batches };
  });
  if (!result) return { fired: false, targeted: 0, batches: [] };
  if (result.targeted >= ANALYZE_AFTER_TARGETS) {
    // Until autovacuum gets to them, the planner does not know these rows: a batch's claim
    // would walk every pending invitation of the rollout instead of its batch (index on
    // rollout, batch, status). Fresh statistics before the first batch runs.
    try {
      await sql(deps.orm.em.fork() as EntityManager, 'analyze invitations');
    } catch (err) {
      deps.log.warn({ rolloutId: id, err: (err as Error).name }, 'invitations not analyzed; autovacuum will');
    }
  }
  return { fired: true, ...result };
}

/** The users a selection names, resolved against the store as it is now, within the organization. */
async function candidatesOf(em: EntityManager, row: RolloutRow): Promise<RolloutCandidate[]> {
  const { where, params } = selectionWhere(row.organization_id, row.selection);
  const rows = await sql<{ id: string; status: 'active' | 'deactivated'; access: 'none' | 'invited' | 'active'; email: string | null; pending: boolean }>(
    em,
    `select u.id, u.status, u.access, u.email,
            exists (select 1 from invitations i where i.user_id = u.id and i.status in ('pending', 'sending') and i.rollout_id <> ?) as pending
       from users u where ${where.join(' and ')} order by u.seq`,
    [row.id, ...params],
  );
  return rows.map((r) => ({ id: r.id, status: r.status, access: r.access, email: r.email, pendingElsewhere: r.pending }));
}
