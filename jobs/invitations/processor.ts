import { UnrecoverableError, type Job } from 'bullmq';
import type { MailPort, RolloutService } from '../../src/invitations/rollout-service.js';
import type { Logger } from '../../src/lib/logger.js';
import { isDatabaseUnavailable } from '../../src/db/connection-errors.js';
import { waitForDatabaseIfAway } from '../database-wait.js';
import { invitationBatchSchema } from './queue.js';

/**
 * Sends one batch. A transient mail failure throws, and BullMQ retries the batch with backoff;
 * the database being away does not use up an attempt (the batch waits for it).
 */
export function invitationBatchProcessor(rollouts: RolloutService, mail: MailPort, log: Logger) {
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<{ sent: number; failed: number; stopped: boolean }> => {
    const parsed = invitationBatchSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid batch job payload: ${parsed.error.issues[0]?.message}`);
    const { rolloutId, batch } = parsed.data;
    const jlog = log.child({ queue: 'invitations', jobId: job.id, rolloutId, batch });
    try {
      return await rollouts.sendBatch(rolloutId, batch, mail, { signal, log: jlog });
    } catch (err) {
      if (isDatabaseUnavailable(err)) jlog.warn({ err: (err as { code?: string }).code ?? 'unavailable' }, 'database unavailable; the batch waits for it');
      await waitForDatabaseIfAway(job, token, err);
      throw err;
    }
  };
}
