import type { Job } from 'bullmq';
import type { RolloutService } from '../../src/invitations/rollout-service.js';
import type { Logger } from '../../src/lib/logger.js';
import { rolloutTriggerSchema } from './queue.js';

/** Fires a rollout at its time: the selection is resolved now, invitations created, batches queued. */
export function rolloutTriggerProcessor(rollouts: RolloutService, log: Logger) {
  return async (job: Job): Promise<{ fired: boolean; targeted: number; batches: number }> => {
    const { rolloutId } = rolloutTriggerSchema.parse(job.data);
    const result = await rollouts.fire(rolloutId);
    log.child({ queue: 'rollouts', jobId: job.id, rolloutId }).debug(result, 'trigger processed');
    return result;
  };
}
