import { batchLockKey, tryAdvisoryLock, type AdvisoryLock } from '../db/advisory-lock.js';

export type BatchLock = Pick<AdvisoryLock, 'held' | 'release'>;

/**
 * One sender per batch at a time, across every worker process (src/db/advisory-lock.ts),
 * held while the batch is sent. BullMQ alone does not promise this: when Redis loses a job
 * that is running (a restart, a flush, a failover), the reconciler queues the batch again
 * while its first run goes on, and a second run would put the first one's in-flight
 * messages back to pending and send them again. Returns null when another sender holds the batch.
 */
export function tryLockBatch(databaseUrl: string, rolloutId: string, batch: number): Promise<BatchLock | null> {
  return tryAdvisoryLock(databaseUrl, batchLockKey(rolloutId, batch), () => new Error(`the database session holding batch ${batch} of rollout ${rolloutId} ended`));
}
