import type { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
import { sql } from '../../src/db/sql.js';
import type { Logger } from '../../src/lib/logger.js';
import { isLiveJobState, LIVE_JOB_STATES } from '../queues.js';
import { manualSyncJobId, type SyncJobData } from './queue.js';

/** A run this young may still be between its record and its job (enqueueSync writes the record first). */
const MIN_AGE_SECONDS = 5;

/**
 * The store is the truth for sync runs too: a run recorded `queued` whose job Redis no longer
 * holds (a restart or a flush took it before a worker did) is queued again, under an id
 * derived from the run, so that two reconcilers add one job. A run whose job ended without
 * running it (BullMQ failed it: it stalled more often than allowed) is marked failed with
 * the reason, instead of showing `queued` forever. Runs the CLI runs in-process are never
 * `queued`.
 */
export async function reconcileSyncRuns(em: EntityManager, queue: Queue, log: Logger): Promise<{ requeued: number; failed: number }> {
  const queued = await sql<{ id: string; connector_id: string; trigger: SyncJobData['trigger']; dry_run: boolean }>(
    em,
    `select id, connector_id, trigger, dry_run from sync_runs where status = 'queued' and started_at < now() - make_interval(secs => ?) order by started_at`,
    [MIN_AGE_SECONDS],
  );
  if (queued.length === 0) return { requeued: 0, failed: 0 };
  const live = await queue.getJobs([...LIVE_JOB_STATES], 0, -1);
  const liveRuns = new Set(live.filter(Boolean).map((j) => (j.data as { runId?: string }).runId));
  let requeued = 0;
  let failed = 0;
  for (const r of queued) {
    if (liveRuns.has(r.id)) continue;
    const jobId = manualSyncJobId(r.connector_id, r.id);
    const existing = await queue.getJob(jobId);
    if (existing) {
      const state = await existing.getState();
      if (isLiveJobState(state)) continue;
      const done = await sql(
        em,
        `update sync_runs set status = 'failed', error = ?, finished_at = now() where id = ? and status = 'queued' returning id`,
        [`its queue job ended without running it (${existing.failedReason || state})`, r.id],
      );
      failed += done.length;
      continue;
    }
    const data: SyncJobData = { connectorId: r.connector_id, runId: r.id, trigger: r.trigger, dryRun: r.dry_run };
    await queue.add('sync', data, { jobId });
    requeued++;
  }
  if (requeued + failed > 0) log.info({ requeued, failed }, 'sync runs reconciled from the store');
  return { requeued, failed };
}
