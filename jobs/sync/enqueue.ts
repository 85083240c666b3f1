import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
import { sql, sqlOne } from '../../src/db/sql.js';
import { AppError } from '../../src/lib/errors.js';
import { manualSyncJobId, scheduledSyncJobId, type SyncJobData } from './queue.js';

/** A UUID derived from a name: every scheduler computes the same run id for the same tick. */
export function uuidFromName(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/**
 * Records a queued run and puts its job on the sync queue. Manual and API triggers get a
 * fresh run id; a scheduled tick gets one derived from (connector, tick), so the same tick
 * seen by several schedulers is one run and one job.
 */
export async function enqueueSync(
  em: EntityManager,
  queue: Queue,
  opts: { connectorId: string; trigger: SyncJobData['trigger']; dryRun?: boolean; tick?: Date; runId?: string; scope?: SyncJobData['scope'] },
): Promise<{ runId: string; jobId: string; duplicate: boolean }> {
  const connector = await sqlOne<{ organization_id: string }>(em, `select organization_id from connectors where id = ?`, [opts.connectorId]);
  if (!connector) throw new AppError('connector_not_found', `no connector "${opts.connectorId}"`);
  const runId = opts.tick ? uuidFromName(scheduledSyncJobId(opts.connectorId, opts.tick)) : opts.runId ?? randomUUID();
  const finalJobId = opts.tick ? scheduledSyncJobId(opts.connectorId, opts.tick) : manualSyncJobId(opts.connectorId, runId);
  const inserted = await sql(
    em,
    `insert into sync_runs (id, organization_id, connector_id, trigger, dry_run, status) values (?, ?, ?, ?, ?, 'queued')
     on conflict (id) do nothing returning id`,
    [runId, connector.organization_id, opts.connectorId, opts.trigger, opts.dryRun ?? false],
  );
  const data: SyncJobData = { connectorId: opts.connectorId, runId, trigger: opts.trigger, dryRun: opts.dryRun ?? false, ...(opts.tick ? { tick: opts.tick.toISOString() } : {}), ...(opts.scope && opts.dryRun ? { scope: opts.scope } : {}) };
  await queue.add('sync', data, { jobId: finalJobId });
  return { runId, jobId: finalJobId, duplicate: inserted.length === 0 };
}
