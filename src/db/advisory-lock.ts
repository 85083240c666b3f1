import { createHash } from 'node:crypto';
import pg from 'pg';
import { databaseUnreachable } from './orm.js';

/** A two-key PostgreSQL advisory lock: a namespace per kind of lock, and a hash of the name. */
export type AdvisoryKey = [number, number];

const SYNC_NAMESPACE = 0x48525359 | 0; // "HRSY"
const BATCH_NAMESPACE = 0x48524942 | 0; // "HRIB"

function keyOf(namespace: number, name: string): AdvisoryKey {
  return [namespace, createHash('sha1').update(name).digest().readInt32BE(0)];
}

/** "A sync of this connector is running" (held by the sync engine, looked up in pg_locks by the invariants). */
export function connectorLockKey(connectorId: string): AdvisoryKey {
  return keyOf(SYNC_NAMESPACE, connectorId);
}

/** "This batch of this rollout is being sent". */
export function batchLockKey(rolloutId: string, batch: number): AdvisoryKey {
  return keyOf(BATCH_NAMESPACE, `${rolloutId}:${batch}`);
}

export interface AdvisoryLock {
  /**
   * False once the lock's own session has ended (its connection dropped: the server
   * restarted, or the session was terminated). The server released the lock with it, even
   * though the holder's other (pooled) connections may have reconnected and carry on.
   */
  readonly held: boolean;
  /** Confirms with a round trip on the lock's session that it is alive; throws `lost()` otherwise. */
  verify(): Promise<void>;
  release(): Promise<void>;
}

const VERIFY_TIMEOUT_MS = 10_000;

/**
 * Holds `key` across every process and machine: a PostgreSQL session-level advisory lock on
 * a connection of its own, for as long as the holder works. A process that dies drops its
 * connection, and the server releases the lock at once. Returns null when someone else holds it.
 * `lost` makes the error that verify() throws once the lock's session is gone.
 */
export async function tryAdvisoryLock(databaseUrl: string, key: AdvisoryKey, lost: () => Error): Promise<AdvisoryLock | null> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  let ended = false;
  let released = false;
  client.on('error', () => {
    ended = true;
  });
  client.on('end', () => {
    if (!released) ended = true;
  });
  try {
    await client.connect();
  } catch (err) {
    throw databaseUnreachable(databaseUrl, err);
  }
  const [a, b] = key;
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
      return !ended && !released;
    },
    async verify() {
      if (ended || released) throw lost();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.query('select 1'),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('lock session did not answer')), VERIFY_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        ended = true;
        throw Object.assign(lost(), { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
    async release() {
      if (released) return;
      released = true;
      if (!ended) await client.query('select pg_advisory_unlock($1, $2)', [a, b]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
