import type { EntityManager } from '@mikro-orm/postgresql';
import { deleteOldIdempotencyKeys } from '../db/idempotency-keys.js';
import { expireInvitations, pendingBatchesOfRunning } from '../db/invitation-repository.js';
import { sql } from '../db/sql.js';
import { completeIfDone } from './rollout-complete.js';
import type { RolloutContext } from './rollout-types.js';

/** Expired invitations swept per statement: a backlog goes in several short transactions. */
const EXPIRE_PAGE = 10_000;

/**
 * The store is the truth: re-creates whatever Redis lost — the trigger jobs of scheduled
 * rollouts and the batch jobs of running rollouts' pending invitations — and does the store's
 * own housekeeping: expired invitations become `expired` (their users back to access `none`),
 * idempotency keys older than their time are deleted. Run on worker start and periodically.
 */
export async function reconcileRollouts(ctx: RolloutContext): Promise<{ triggers: number; batches: number; completed: number; expired: number }> {
  const { deps } = ctx;
  const em = deps.orm.em.fork() as EntityManager;
  let expired = 0;
  let n: number;
  do {
    n = await expireInvitations(em, EXPIRE_PAGE);
    expired += n;
  } while (n === EXPIRE_PAGE);
  if (expired > 0) deps.log.info({ expired }, 'invitations expired');
  await deleteOldIdempotencyKeys(em);
  const [triggers, queued] = await Promise.all([deps.queues.queuedTriggers(), deps.queues.queuedBatches()]);
  let addedTriggers = 0;
  let addedBatches = 0;
  let completed = 0;
  const scheduled = await sql<{ id: string; send_at: Date }>(em, `select id, send_at from rollouts where status = 'scheduled'`);
  for (const r of scheduled) {
    if (triggers.has(r.id)) continue;
    await deps.queues.scheduleTrigger(r.id, new Date(r.send_at));
    addedTriggers++;
  }
  const withWork = new Set<string>();
  for (const p of await pendingBatchesOfRunning(em)) {
    withWork.add(p.rollout_id);
    const have = queued.get(p.rollout_id) ?? new Set<number>();
    const missing = p.batches.filter((b) => !have.has(b));
    if (missing.length > 0) {
      await deps.queues.enqueueBatches(p.rollout_id, missing, { replaceFinished: true });
      addedBatches += missing.length;
    }
  }
  const running = await sql<{ id: string }>(em, `select id from rollouts where status = 'running'`);
  for (const r of running) if (!withWork.has(r.id) && (await completeIfDone(ctx, r.id))) completed++;
  if (addedTriggers + addedBatches + completed > 0) deps.log.info({ triggers: addedTriggers, batches: addedBatches, completed }, 'queues reconciled from the store');
  return { triggers: addedTriggers, batches: addedBatches, completed, expired };
}
