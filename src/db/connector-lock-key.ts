import { createHash } from 'node:crypto';

const NAMESPACE = 0x48525359 | 0; // "HRSY"

/**
 * The two-key PostgreSQL advisory lock that stands for "a sync of this connector is
 * running" (held by src/sync/connector-lock.ts, looked up in pg_locks by the invariants).
 */
export function lockKey(connectorId: string): [number, number] {
  return [NAMESPACE, createHash('sha1').update(connectorId).digest().readInt32BE(0)];
}
