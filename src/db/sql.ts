import type { EntityManager } from '@mikro-orm/postgresql';

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

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}
