import { createHash } from 'node:crypto';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';

/**
 * Raw SQL through the ORM's connection, inside the entity manager's transaction when it
 * has one. Parameters are `?` placeholders, sent to PostgreSQL as bind parameters (never
 * spliced into the text); a backslash-escaped `?` is a literal question mark (the jsonb `?`, `?|`, `?&`
 * operators) in a statement that has parameters. A list goes as one parameter: an array
 * (`= any(?::uuid[])`) or JSON text unpacked in SQL (`jsonb_to_recordset(?::jsonb)`), so a
 * page is one statement. Driver errors become MikroORM's typed exceptions.
 */
export async function sql<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  return bound<T>(em, text, params);
}

export async function sqlOne<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T | null> {
  const rows = await sql<T>(em, text, params);
  return rows[0] ?? null;
}

/**
 * `sql`, optionally as a named prepared statement (`prepare`: named after the text's hash),
 * planned once per pooled connection — for hot read statements whose planning costs as much
 * as running them (a page of `GET /api/users`: 0.8 ms of planning, 0.8 ms of execution).
 * PostgreSQL keeps a generic plan only when it is as cheap as a custom one: put a LIMIT in
 * the text, not in a parameter.
 */
export async function bound<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[], opts: { prepare?: boolean } = {}): Promise<T[]> {
  const conn = em.getConnection();
  // Without parameters the text goes as it is (a `?` in it is SQL's, not a placeholder).
  const query = params.length > 0 ? conn.getKnex().raw(text, params as Knex.RawBinding[]) : conn.getKnex().raw(text);
  if (opts.prepare) {
    const name = preparedName(text);
    if (name) query.options({ name });
  }
  const ctx = em.getTransactionContext();
  if (ctx) query.transacting(ctx);
  try {
    const res = (await query) as { rows: T[] } | Array<{ rows: T[] }>;
    // several statements in one text (no parameters): the rows of the last one
    return Array.isArray(res) ? (res.at(-1)?.rows ?? []) : res.rows;
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
