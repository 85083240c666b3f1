import type { Job } from 'bullmq';
import type { Logger } from '../../src/lib/logger.js';
import { errorMessage } from '../../src/lib/errors.js';
import { runForIds, type LookupRunDeps } from '../../src/sync/targeted-lookup.js';
import type { TargetedRunResult } from '../../src/sync/targeted-run.js';
import { webhookJobSchema } from './queue.js';

/** People of one connector waiting for the same look-up and run. */
interface Batch {
  ids: Set<string>;
  started: boolean;
  result: Promise<TargetedRunResult>;
}

/** At most this many people per look-up and run (BambooHR answers 100 ids per request). */
const MAX_BATCH = 100;

/**
 * Applies webhook events: look-up by id, then a targeted run (trigger webhook). Jobs of one
 * connector run one batch after another in this process (each batch takes the connector's
 * lock, which another process or a full run may hold: then its jobs are retried later), and
 * the jobs that arrive while a batch runs share the next one: one look-up and one run for a
 * burst of people, instead of one each.
 */
export function webhookProcessor(deps: LookupRunDeps, log: Logger, afterRun?: (connectorId: string) => Promise<void>) {
  const tails = new Map<string, Promise<unknown>>();
  const open = new Map<string, Batch>();

  const join = (connectorId: string, externalId: string): Promise<TargetedRunResult> => {
    const waiting = open.get(connectorId);
    if (waiting && !waiting.started && waiting.ids.size < MAX_BATCH) {
      waiting.ids.add(externalId);
      return waiting.result;
    }
    const batch: Batch = { ids: new Set([externalId]), started: false, result: Promise.resolve() as unknown as Promise<TargetedRunResult> };
    const prev = tails.get(connectorId) ?? Promise.resolve();
    batch.result = prev
      .catch(() => {})
      .then(() => {
        batch.started = true;
        if (open.get(connectorId) === batch) open.delete(connectorId);
        return runForIds(deps, { connectorId, externalIds: [...batch.ids], trigger: 'webhook' });
      })
      .then(async (r) => {
        // as after a sync run: the organization's invitation rules and leavers re-planned (issue 17)
        await afterRun?.(connectorId).catch((err: unknown) => log.warn({ connectorId, err: errorMessage(err) }, 'lifecycle evaluation after a webhook run failed; the daily evaluation will catch up'));
        return r;
      });
    open.set(connectorId, batch);
    const tail = batch.result.catch(() => {});
    tails.set(connectorId, tail);
    void tail.then(() => {
      if (tails.get(connectorId) === tail) tails.delete(connectorId);
    });
    return batch.result;
  };

  return async (job: Job): Promise<{ runId: string; status: string }> => {
    const data = webhookJobSchema.parse(job.data);
    try {
      const r = await join(data.connectorId, data.externalId);
      return { runId: r.runId, status: r.status };
    } catch (err) {
      log.warn({ queue: 'webhooks', jobId: job.id, connectorId: data.connectorId, attemptsMade: job.attemptsMade, err: errorMessage(err) }, 'webhook event not applied yet');
      throw err;
    }
  };
}
