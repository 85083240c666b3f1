import pg from 'pg';
import { databaseUnreachable } from '../db/orm.js';
import { lockKey } from '../db/connector-lock-key.js';
import { AppError } from '../lib/errors.js';

export { lockKey };

export interface ConnectorLock {
  /**
   * False once the lock's own session has ended (its connection dropped: the server
   * restarted, or the session was terminated). The server released the lock with it, even
   * though the run's other connections may have reconnected and carry on.
   */
  readonly held: boolean;
  /** Confirms with a round trip on the lock's session that it is alive; throws `connector_lock_lost` otherwise. */
  verify(): Promise<void>;
  release(): Promise<void>;
}

const VERIFY_TIMEOUT_MS = 10_000;

export function lockLost(connectorId: string): AppError {
  return new AppError(
    'connector_lock_lost',
    `the database session holding connector ${connectorId}'s lock ended (a database restart?); the run stops so that no other run can overlap it`,
    { retryable: true },
  );
}

/**
 * One run per connector at a time, across every process and machine: a PostgreSQL
 * session-level advisory lock held on a connection of its own for the whole run. If the
 * process dies, the connection drops and the lock is released by the server.
 * Returns null when another run holds it.
 *
 * The reverse also holds: if the lock's connection drops (a database restart), the lock is
 * gone while the run's pooled connections may reconnect unnoticed. `held` turns false then,
 * and the run must stop before it writes on (see SyncEngine).
 */
export async function tryLockConnector(databaseUrl: string, connectorId: string): Promise<ConnectorLock | null> {
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
  const [a, b] = lockKey(connectorId);
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
    async verify() {
      if (lost || released) throw lockLost(connectorId);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.query('select 1'),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('lock session did not answer')), VERIFY_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        lost = true;
        throw Object.assign(lockLost(connectorId), { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
    async release() {
      if (released) return;
      released = true;
      if (!lost) await client.query('select pg_advisory_unlock($1, $2)', [a, b]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
