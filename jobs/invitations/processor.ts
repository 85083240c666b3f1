import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { MailServerUnavailableError, type MailPort, type RolloutService } from '../../src/invitations/rollout-service.js';
import type { Logger } from '../../src/lib/logger.js';
import { isDatabaseUnavailable } from '../../src/db/connection-errors.js';
import { waitForDatabaseIfAway } from '../database-wait.js';
import { invitationBatchSchema } from './queue.js';

/** How soon a batch that found the mail server away or busy tries again (plus jitter). */
export const MAIL_SERVER_WAIT_MS = 5_000;

/**
 * Sends one batch. Neither the database nor the mail server being away uses up an attempt:
 * the batch goes back to `delayed` and runs again a few seconds later, as often as it takes,
 * so a mail server down for minutes or hours fails nobody. (A refusal of the sender pauses
 * the rollout instead: send-batch.ts.) Attempts stay for anything else that goes wrong.
 */
export function invitationBatchProcessor(rollouts: RolloutService, mail: MailPort, log: Logger, opts: { mailWaitMs?: number; onBatchDone?: (rolloutId: string) => void } = {}) {
  const mailWaitMs = opts.mailWaitMs ?? MAIL_SERVER_WAIT_MS;
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<{ sent: number; failed: number; stopped: boolean }> => {
    const parsed = invitationBatchSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid batch job payload: ${parsed.error.issues[0]?.message}`);
    const { rolloutId, batch } = parsed.data;
    const jlog = log.child({ queue: 'invitations', jobId: job.id, rolloutId, batch });
    try {
      const result = await rollouts.sendBatch(rolloutId, batch, mail, { signal, log: jlog });
      opts.onBatchDone?.(rolloutId);
      return result;
    } catch (err) {
      if (err instanceof MailServerUnavailableError && token) {
        await job.moveToDelayed(Date.now() + mailWaitMs + Math.floor(Math.random() * 1_000), token);
        throw new DelayedError('waiting for the mail server');
      }
      if (isDatabaseUnavailable(err)) jlog.warn({ err: (err as { code?: string }).code ?? 'unavailable' }, 'database unavailable; the batch waits for it');
      await waitForDatabaseIfAway(job, token, err);
      throw err;
    }
  };
}
