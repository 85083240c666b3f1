import { UnrecoverableError, type Job } from 'bullmq';
import type { MailPort, RolloutService } from '../../src/invitations/rollout-service.js';
import type { Logger } from '../../src/lib/logger.js';
import { invitationBatchSchema } from './queue.js';

/** Sends one batch. A transient mail failure throws, and BullMQ retries the batch with backoff. */
export function invitationBatchProcessor(rollouts: RolloutService, mail: MailPort, log: Logger) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<{ sent: number; failed: number; stopped: boolean }> => {
    const parsed = invitationBatchSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid batch job payload: ${parsed.error.issues[0]?.message}`);
    const { rolloutId, batch } = parsed.data;
    return rollouts.sendBatch(rolloutId, batch, mail, { signal, log: log.child({ queue: 'invitations', jobId: job.id, rolloutId, batch }) });
  };
}
