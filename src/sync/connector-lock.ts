import { createHash } from 'node:crypto';
import pg from 'pg';
import { databaseUnreachable } from '../db/orm.js';

const NAMESPACE = 0x48525359 | 0; // "HRSY"

export function lockKey(connectorId: string): [number, number] {
  return [NAMESPACE, createHash('sha1').update(connectorId).digest().readInt32BE(0)];
}

export interface ConnectorLock {
  release(): Promise<void>;
}

/**
 * One run per connector at a time, across every process and machine: a PostgreSQL
 * session-level advisory lock held on a connection of its own for the whole run. If the
 * process dies, the connection drops and the lock is released by the server.
 * Returns null when another run holds it.
 */
export async function tryLockConnector(databaseUrl: string, connectorId: string): Promise<ConnectorLock | null> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {
    /* a dropped lock connection is noticed by the run's own queries */
  });
  try {
    await client.connect();
  } catch (err) {
    throw databaseUnreachable(databaseUrl, err);
  }
  const [a, b] = lockKey(connectorId);
  const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [a, b]);
  if (!rows[0]?.ok) {
    await client.end().catch(() => {});
    return null;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('select pg_advisory_unlock($1, $2)', [a, b]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
