import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { safeUrl } from '../lib/urls.js';
import { migrationsList } from './migrations/index.js';

export type Orm = MikroORM;

/** The reason at the end of a knex message, without the statement text before it. */
function knexReason(message: unknown): string {
  const s = String(message);
  const cut = s.lastIndexOf(' - ');
  return (cut >= 0 ? s.slice(cut + 3) : s.replace(/^Connection Error: (Error: )?/, '')).slice(0, 200);
}

/**
 * knex's own log. By default it prints with console.log — on stdout, past the logger's
 * redaction — and when a pooled connection is found dropped (a database restart) its warning
 * carries the failed statement with its parameters inlined: e-mail addresses, token hashes.
 * Here it goes to our logger, reduced to PostgreSQL's reason (or nowhere without a logger).
 */
export function knexLog(log?: Logger) {
  return {
    warn: (m: unknown) => log?.warn({ reason: knexReason(m) }, 'database client warning'),
    error: (m: unknown) => log?.error({ reason: knexReason(m) }, 'database client error'),
    deprecate: () => {},
    debug: () => {},
  };
}

export function ormOptions(databaseUrl: string, extra: Partial<Options> = {}, log?: Logger): Options {
  return {
    driverOptions: { log: knexLog(log) },
    clientUrl: databaseUrl,
    // No entities: every statement is SQL (src/db/sql.ts); the ORM brings the pool,
    // transactions, migrations and typed driver errors. See CONTRIBUTING.md.
    entities: [],
    extensions: [Migrator],
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    discovery: { warnWhenNoEntities: false },
    debug: false,
    allowGlobalContext: false,
    pool: { min: 0, max: 10 },
    ...extra,
  };
}

function pgHint(): string {
  return 'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or `docker compose up -d postgres`, or set DATABASE_URL';
}

export function databaseUnreachable(url: string, err: unknown): AppError {
  const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message;
  return new AppError('database_unreachable', `cannot reach PostgreSQL at ${safeUrl(url)} (${reason}): ${pgHint()}`, { cause: err, retryable: true });
}

/** Creates the database named in the URL if it does not exist (connecting to the `postgres` database). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const u = new URL(databaseUrl);
  const dbName = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw databaseUnreachable(databaseUrl, err);
  }
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [dbName]);
    if (rowCount) return false;
    try {
      await client.query(`create database "${dbName.replace(/"/g, '""')}"`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
    }
    return true;
  } finally {
    await client.end();
  }
}

export async function initOrm(databaseUrl: string, extra: Partial<Options> = {}, log?: Logger): Promise<Orm> {
  try {
    const orm = await MikroORM.init(ormOptions(databaseUrl, extra, log));
    await orm.em.getConnection().execute('select 1');
    return orm;
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === '3D000' || code === '28P01' || code === 'EHOSTUNREACH') {
      throw databaseUnreachable(databaseUrl, err);
    }
    throw err;
  }
}

/** Create the database when missing, connect, apply pending migrations. */
export async function openStore(databaseUrl: string, log?: Logger, extra: Partial<Options> = {}): Promise<Orm> {
  const created = await ensureDatabase(databaseUrl);
  if (created) log?.info({ database: new URL(databaseUrl).pathname.slice(1) }, 'database created');
  const orm = await initOrm(databaseUrl, extra, log);
  const applied = await orm.getMigrator().up();
  if (applied.length > 0) log?.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  return orm;
}
