import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Before the suite: drop test databases left behind by runs that died more than an hour
 * ago (each test file creates and drops its own; see test/support/store.ts).
 */
export default async function setup(): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`tests need PostgreSQL at ${ADMIN_URL}: ${(err as Error).message}. Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
  }
  try {
    const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like 'hrsync_t_%'`);
    const cutoff = Date.now() - 3_600_000;
    for (const { datname } of rows) {
      const ts = Number(datname.split('_')[2]);
      if (Number.isFinite(ts) && ts < cutoff) await client.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
  } finally {
    await client.end();
  }
}
