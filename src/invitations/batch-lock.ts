import { createHash } from 'node:crypto';
import pg from 'pg';
import { databaseUnreachable } from '../db/orm.js';

const NAMESPACE = 0x48524942 | 0; // "HRIB"

/** The advisory lock key of one batch of one rollout. */
export function batchLockKey(rolloutId: string, batch: number): [number, number] {
  return [NAMESPACE, createHash('sha1').update(`${rolloutId}:${batch}`).digest().readInt32BE(0)];
}

export interface BatchLock {
  /** False once the lock's session has ended (its connection dropped): the server released the lock with it. */
  readonly held: boolean;
  release(): Promise<void>;
}

/**
 * One sender per batch at a time, across every worker process: a PostgreSQL session-level
 * advisory lock on a connection of its own, held while the batch is sent. BullMQ alone does
 * not promise this: when Redis loses a job that is running (a restart, a flush, a failover),
 * the reconciler queues the batch again while its first run goes on, and a second run would
 * put the first one's in-flight messages back to pending and send them again. A process that
 * dies drops its connection, and the server releases the lock at once.
 * Returns null when another sender holds the batch.
 */
export async function tryLockBatch(databaseUrl: string, rolloutId: string, batch: number): Promise<BatchLock | null> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  let lost = false;
  let released = false;
  client.on('error', () => {
    lost = true;
  });
  client.on('end', () => {
    if (!released) lost = true;
  });
  try {
    await client.connect();
  } catch (err) {
    throw databaseUnreachable(databaseUrl, err);
  }
  const [a, b] = batchLockKey(rolloutId, batch);
  let ok = false;
  try {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [a, b]);
    ok = rows[0]?.ok === true;
  } catch (err) {
    await client.end().catch(() => {});
    throw databaseUnreachable(databaseUrl, err);
  }
  if (!ok) {
    released = true;
    await client.end().catch(() => {});
    return null;
  }
  return {
    get held() {
      return !lost && !released;
    },
    async release() {
      if (released) return;
      released = true;
      if (!lost) await client.query('select pg_advisory_unlock($1, $2)', [a, b]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
