import { connectorLockKey, tryAdvisoryLock, type AdvisoryLock } from '../db/advisory-lock.js';
import { AppError } from '../lib/errors.js';

export type ConnectorLock = AdvisoryLock;

export function lockLost(connectorId: string): AppError {
  return new AppError(
    'connector_lock_lost',
    `the database session holding connector ${connectorId}'s lock ended (a database restart?); the run stops so that no other run can overlap it`,
    { retryable: true },
  );
}

/**
 * One run per connector at a time, across every process and machine (src/db/advisory-lock.ts).
 * Returns null when another run holds it. If the lock's connection drops (a database
 * restart), the lock is gone while the run's pooled connections may reconnect unnoticed:
 * `held` turns false then, and the run must stop before it writes on (see SyncEngine).
 */
export function tryLockConnector(databaseUrl: string, connectorId: string): Promise<ConnectorLock | null> {
  return tryAdvisoryLock(databaseUrl, connectorLockKey(connectorId), () => lockLost(connectorId));
}
