import { DelayedError, type Job } from 'bullmq';
import { isDatabaseUnavailable } from '../src/db/connection-errors.js';

/** How soon a job that found the database away looks again (plus jitter, so that waiting jobs spread out). */
export const DATABASE_WAIT_MS = 1_000;

/**
 * A job that failed because the database is away (a restart, a failover) waits for it
 * without using up an attempt: it goes back to `delayed` and runs again in about a second,
 * as often as it takes. Attempts and their backoff stay for the job's own failures (a mail
 * server's 4xx): a database outage longer than the backoff would otherwise exhaust them and
 * fail the invitations of a rollout that nothing was wrong with.
 * Returns normally when the error is something else (the caller rethrows it).
 */
export async function waitForDatabaseIfAway(job: Job, token: string | undefined, err: unknown): Promise<void> {
  if (!token || !isDatabaseUnavailable(err)) return;
  await job.moveToDelayed(Date.now() + DATABASE_WAIT_MS + Math.floor(Math.random() * 500), token);
  throw new DelayedError('waiting for the database');
}
