import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../db/sql.js';

/**
 * Deletes history older than the retention (days), a slice at a time (short transactions, no
 * long lock on the table), by one process at a time (a transaction-scoped advisory lock: a
 * second replica pruning at the same moment skips). Returns how many events were deleted.
 */
export async function pruneHistory(em: EntityManager, retentionDays: number, opts: { slice?: number } = {}): Promise<number> {
  const slice = opts.slice ?? 10_000;
  let total = 0;
  for (;;) {
    const n = await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      const got = await sqlOne<{ ok: boolean }>(t, `select pg_try_advisory_xact_lock(hashtext('hrsync:history-prune')) as ok`);
      if (!got?.ok) return -1;
      const rows = await sql<{ n: string }>(
        t,
        `with d as (delete from user_events where id = any(array(
            select id from user_events where at < now() - make_interval(days => ?) limit ?)) returning 1)
         select count(*) as n from d`,
        [retentionDays, slice],
      );
      return Number(rows[0]?.n ?? 0);
    });
    if (n <= 0) return total;
    total += n;
    if (n < slice) return total;
  }
}
