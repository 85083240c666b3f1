import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../lib/errors.js';
import { sql, sqlOne } from './sql.js';

/** Keys are kept at least this long (the reconciler deletes older ones). */
export const IDEMPOTENCY_KEY_TTL_HOURS = 48;
const KEY_RE = /^[\x21-\x7e]{1,200}$/;

export interface IdempotentResult<T> {
  statusCode: number;
  response: T;
  /** true: the stored response of an earlier request with this key */
  replayed: boolean;
}

/** A stable hash of a request body: object keys sorted, so the same JSON in another order is the same request. */
export function requestHash(body: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canon(body ?? null))).digest('hex');
}

export function checkIdempotencyKey(key: unknown): string | null {
  if (key === undefined || key === null || key === '') return null;
  if (typeof key !== 'string' || !KEY_RE.test(key)) throw new AppError('validation_failed', 'Idempotency-Key must be 1–200 visible ASCII characters');
  return key;
}

/**
 * Runs `create` at most once per (organization, scope, key). The key's row is inserted in the
 * same transaction as what `create` makes: a second request with the key, concurrent or
 * later, waits on the key's unique index until the first commits, then gets the first's
 * stored status and response. The same key with another body is a 409 `conflict`. If the
 * first request fails, its transaction — key row included — rolls back, and the key is free.
 */
export async function idempotent<T>(
  em: EntityManager,
  k: { organizationId: string; scope: string; key: string; body: unknown },
  create: (tx: EntityManager) => Promise<{ statusCode: number; response: T }>,
): Promise<IdempotentResult<T>> {
  const hash = requestHash(k.body);
  return em.transactional(async (tx) => {
    const t = tx as EntityManager;
    const fresh = await sql(
      t,
      `insert into idempotency_keys (organization_id, scope, key, request_hash) values (?, ?, ?, ?) on conflict do nothing returning 1`,
      [k.organizationId, k.scope, k.key, hash],
    );
    if (fresh.length === 0) {
      const row = await sqlOne<{ request_hash: string; status_code: number | null; response: T }>(
        t,
        `select request_hash, status_code, response from idempotency_keys where organization_id = ? and scope = ? and key = ?`,
        [k.organizationId, k.scope, k.key],
      );
      if (!row || row.status_code === null) throw new AppError('conflict', 'a request with this Idempotency-Key is still being processed; try again', { retryable: true });
      if (row.request_hash !== hash) throw new AppError('conflict', 'this Idempotency-Key was used with another request body');
      return { statusCode: row.status_code, response: row.response, replayed: true };
    }
    const out = await create(t);
    await sql(t, `update idempotency_keys set status_code = ?, response = ?::jsonb where organization_id = ? and scope = ? and key = ?`, [
      out.statusCode, JSON.stringify(out.response), k.organizationId, k.scope, k.key,
    ]);
    return { ...out, replayed: false };
  });
}

export async function deleteOldIdempotencyKeys(em: EntityManager): Promise<void> {
  await sql(em, `delete from idempotency_keys where created_at < now() - make_interval(hours => ?)`, [IDEMPOTENCY_KEY_TTL_HOURS]);
}
