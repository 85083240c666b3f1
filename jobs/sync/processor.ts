import type { Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../../src/db/sql.js';
import { isDatabaseUnavailable } from '../../src/db/connection-errors.js';
import { errorMessage, isAppError } from '../../src/lib/errors.js';
import { waitForDatabaseIfAway } from '../database-wait.js';
import type { Logger } from '../../src/lib/logger.js';
import type { SyncEngine } from '../../src/sync/sync-engine.js';
import { syncJobSchema } from './queue.js';

/**
 * Runs one queued sync. A run refused because the connector is busy or held is recorded
 * as `skipped`, with the reason, so every tick and every trigger leaves a record.
 */
export function syncProcessor(sync: SyncEngine, em: () => EntityManager, log: Logger, afterRun?: (run: { organizationId: string; status: string; dryRun: boolean }) => Promise<void>) {
  return async (job: Job, token?: string): Promise<{ runId: string; status: string }> => {
    const data = syncJobSchema.parse(job.data);
    const jlog = log.child({ queue: 'sync', jobId: job.id, connectorId: data.connectorId, runId: data.runId });
    try {
      const run = await sync.run({ connectorId: data.connectorId, runId: data.runId, trigger: data.trigger, dryRun: data.dryRun, scope: data.scope });
      // The jobs layer, not the sync engine, re-plans rules and leavers from what the run wrote
      // (the engine never invites); a failure here is logged, the next sync or the daily run re-plans.
      if (afterRun && !run.dryRun && run.status !== 'failed') {
        await afterRun(run).catch((err: unknown) => jlog.warn({ err: errorMessage(err) }, 'lifecycle evaluation after sync failed; the daily evaluation will catch up'));
      }
      return { runId: run.id, status: run.status };
    } catch (err) {
      if (isAppError(err) && err.code === 'conflict') {
        jlog.warn('sync job delivered again; its run had already started');
        return { runId: data.runId, status: 'duplicate' };
      }
      if (isAppError(err) && (err.code === 'connector_busy' || err.code === 'connector_held' || err.code === 'connector_not_found')) {
        await sql(
          em(),
          `update sync_runs set status = 'skipped', error = ?, finished_at = now() where id = ? and status = 'queued'`,
          [err.message, data.runId],
        );
        jlog.warn({ reason: err.code }, 'sync skipped');
        return { runId: data.runId, status: 'skipped' };
      }
      // The database away (before the run started, or while it recorded its end): the job waits for
      // it and runs again; a run that had started finds itself finished, and the job ends as a duplicate.
      if (isDatabaseUnavailable(err)) jlog.warn({ err: (err as { code?: string }).code ?? 'unavailable' }, 'database unavailable; the sync job waits for it');
      await waitForDatabaseIfAway(job, token, err);
      await sql(em(), `update sync_runs set status = 'failed', error = ?, finished_at = now() where id = ? and status = 'queued'`, [errorMessage(err), data.runId]).catch(() => {});
      throw err;
    }
  };
}
