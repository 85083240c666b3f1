import type { EntityManager } from '@mikro-orm/postgresql';
import { pendingBatches } from '../db/invitation-repository.js';
import { sql } from '../db/sql.js';
import type { RolloutContext } from './rollout-types.js';

/** A running rollout with nothing left to send is completed. */
export async function completeIfDone(ctx: RolloutContext, id: string): Promise<boolean> {
  const done = await sql(
    ctx.deps.orm.em.fork() as EntityManager,
    `update rollouts set status = 'completed', finished_at = now(), updated_at = now()
      where id = ? and status = 'running'
        and not exists (select 1 from invitations where rollout_id = ? and status in ('pending', 'sending'))
     returning id`,
    [id, id],
  );
  if (done.length > 0) ctx.deps.log.info({ rolloutId: id }, 'rollout completed');
  return done.length > 0;
}

/** Queues the batches that still have work (a resumed rollout), or completes the rollout. */
export async function enqueuePending(ctx: RolloutContext, id: string): Promise<void> {
  const batches = await pendingBatches(ctx.deps.orm.em.fork() as EntityManager, id);
  if (batches.length > 0) await ctx.deps.queues.enqueueBatches(id, batches, { replaceFinished: true });
  else await completeIfDone(ctx, id);
}
