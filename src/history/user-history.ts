import type { EntityManager } from '@mikro-orm/postgresql';
import { bound, sqlOne } from '../db/sql.js';
import { AppError } from '../lib/errors.js';

/** One entry of a person's history (user_events), as the API and the dashboard show it. */
export interface UserEvent {
  id: string;
  at: string;
  userId: string;
  kind: string;
  actor: { type: string; id: string | null };
  data: Record<string, unknown>;
}

export interface EventRow {
  id: string;
  organization_id: string;
  user_id: string;
  at: Date;
  kind: string;
  actor_type: string;
  actor_id: string | null;
  data: Record<string, unknown>;
}

export function toEvent(r: EventRow): UserEvent {
  return { id: String(r.id), at: new Date(r.at).toISOString(), userId: r.user_id, kind: r.kind, actor: { type: r.actor_type, id: r.actor_id }, data: r.data };
}

function encodeCursor(id: string): string {
  return Buffer.from(`e:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const m = /^e:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new AppError('validation_failed', 'invalid cursor');
  return m[1];
}

/**
 * A person's history, oldest first (the order things happened), a page at a time: keyset on the
 * event id, through the (user_id, id) index. Only the organization's own users (else not found).
 */
export async function userHistory(
  em: EntityManager,
  userId: string,
  organizationId: string | null,
  opts: { cursor?: string; limit?: number; order?: 'asc' | 'desc' } = {},
): Promise<{ data: UserEvent[]; nextCursor: string | null }> {
  const user = await sqlOne<{ organization_id: string }>(
    em,
    `select organization_id from users where id = ?::uuid${organizationId ? ' and organization_id = ?' : ''}`,
    organizationId ? [userId, organizationId] : [userId],
  );
  if (!user) throw new AppError('user_not_found', `no user ${userId}`);
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const desc = opts.order === 'desc';
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const rows = await bound<EventRow>(
    em,
    `select id, organization_id, user_id, at, kind, actor_type, actor_id, data from user_events
      where user_id = ?::uuid and organization_id = ?${after ? ` and id ${desc ? '<' : '>'} ?` : ''}
      order by id ${desc ? 'desc' : 'asc'} limit ?`,
    [userId, user.organization_id, ...(after ? [after] : []), limit + 1],
  );
  const page = rows.slice(0, limit).map(toEvent);
  return { data: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].id) : null };
}
