import { createHash } from 'node:crypto';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';

/**
 * Raw SQL through the ORM's connection, inside the entity manager's transaction when it
 * has one. Parameters are `?` placeholders; pass lists as one JSON text parameter and
 * unpack them in SQL (`jsonb_to_recordset(?::jsonb)`), so a page is one statement.
 */
export async function sql<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  return (await em.getConnection().execute(text, params, 'all', em.getTransactionContext())) as T[];
}

export async function sqlOne<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T | null> {
  const rows = await sql<T>(em, text, params);
  return rows[0] ?? null;
}

/**
 * `sql` with real bind parameters, for the statements that carry a page. `sql` goes through
 * `Connection.execute`, which inlines every parameter into the statement text (escaping a
 * page's JSON character by character, then sending and parsing a megabyte of literal); here the
 * JSON travels as one bound value. Same transaction, same driver, same error conversion.
 *
 * `prepare`: a named prepared statement (named after the text's hash), planned once per pooled
 * connection — for hot read statements whose planning costs as much as running them (a page of
 * `GET /api/users`: 0.8 ms of planning, 0.8 ms of execution). PostgreSQL keeps a generic plan
 * only when it is as cheap as a custom one: put a LIMIT in the text, not in a parameter.
 */
export async function bound<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[], opts: { prepare?: boolean } = {}): Promise<T[]> {
  const conn = em.getConnection();
  const query = conn.getKnex().raw(text, params as Knex.RawBinding[]);
  if (opts.prepare) {
    const name = preparedName(text);
    if (name) query.options({ name });
  }
  const ctx = em.getTransactionContext();
  if (ctx) query.transacting(ctx);
  try {
    return ((await query) as { rows: T[] }).rows;
  } catch (err) {
    throw conn.getPlatform().getExceptionConverter().convertException(err as Error);
  }
}

/** Each pooled connection keeps every statement it prepared: the texts prepared are capped per process. */
const MAX_PREPARED = 64;
const prepared = new Map<string, string>();

function preparedName(text: string): string | null {
  let name = prepared.get(text);
  if (name === undefined) {
    if (prepared.size >= MAX_PREPARED) return null;
    name = `hrsync_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    prepared.set(text, name);
  }
  return name;
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}
