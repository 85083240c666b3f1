import type { Job } from 'bullmq';
import type { Logger } from '../../src/lib/logger.js';
import { errorMessage } from '../../src/lib/errors.js';
import { runForIds, type LookupRunDeps } from '../../src/sync/targeted-lookup.js';
import { webhookJobSchema } from './queue.js';

/**
 * Applies one person's webhook events: look-up by id, then a targeted run (trigger webhook).
 * Jobs of one connector run one after another in this process (each takes the connector's
 * lock, which another process's job or a full run may hold: then the job is retried later).
 */
export function webhookProcessor(deps: LookupRunDeps, log: Logger) {
  const chains = new Map<string, Promise<unknown>>();
  return async (job: Job): Promise<{ runId: string; status: string }> => {
    const data = webhookJobSchema.parse(job.data);
    const prev = chains.get(data.connectorId) ?? Promise.resolve();
    const mine = prev.catch(() => {}).then(() => runForIds(deps, { connectorId: data.connectorId, externalIds: [data.externalId], trigger: 'webhook' }));
    chains.set(data.connectorId, mine);
    try {
      const r = await mine;
      return { runId: r.runId, status: r.status };
    } catch (err) {
      log.warn({ queue: 'webhooks', jobId: job.id, connectorId: data.connectorId, attemptsMade: job.attemptsMade, err: errorMessage(err) }, 'webhook event not applied yet');
      throw err;
    } finally {
      if (chains.get(data.connectorId) === mine) chains.delete(data.connectorId);
    }
  };
}
