import type { Job } from 'bullmq';
import type { RolloutService } from '../../src/invitations/rollout-service.js';
import type { Logger } from '../../src/lib/logger.js';
import { waitForDatabaseIfAway } from '../database-wait.js';
import { rolloutTriggerSchema } from './queue.js';

/** Fires a rollout at its time: the selection is resolved now, invitations created, batches queued. */
export function rolloutTriggerProcessor(rollouts: RolloutService, log: Logger) {
  return async (job: Job, token?: string): Promise<{ fired: boolean; targeted: number; batches: number }> => {
    const { rolloutId } = rolloutTriggerSchema.parse(job.data);
    let result: { fired: boolean; targeted: number; batches: number };
    try {
      result = await rollouts.fire(rolloutId);
    } catch (err) {
      // The database away: wait for it without using up an attempt (fire() is one transaction).
      await waitForDatabaseIfAway(job, token, err);
      throw err;
    }
    log.child({ queue: 'rollouts', jobId: job.id, rolloutId }).debug(result, 'trigger processed');
    return result;
  };
}
