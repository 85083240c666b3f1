import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from './sql.js';

/** Who changed a user, as the history records it (user_events.actor_type / actor_id). */
export type ActorType = 'run' | 'rollout' | 'admin' | 'token' | 'rule' | 'scim' | 'webhook' | 'user' | 'cli' | 'system';

export interface HistoryActor {
  type: ActorType;
  /** The run, rollout, token or rule id; null for the admin token or the CLI. */
  id?: string | null;
  /** For deactivations held for approval: who approved them. */
  approvedBy?: string | null;
}

/**
 * Names the actor of the current transaction's changes to users. The history triggers
 * (Migration20261205190000) read it for every event the transaction writes; outside a
 * transaction it would last one statement only, so call it inside `em.transactional`.
 */
export async function setHistoryActor(em: EntityManager, actor: HistoryActor, opts: { asyncCommit?: boolean } = {}): Promise<void> {
  // asyncCommit: the transaction's commit does not wait for its WAL to reach the disk (one
  // round trip instead of two for a sync page). For writes the next run re-derives from HR only:
  // a server crash can lose the last such commits, never make the store inconsistent, and the
  // first synchronous commit after them (the run's outcome) makes them durable too.
  await sql(
    em,
    `select set_config('hrsync.actor_type', ?, true), set_config('hrsync.actor_id', ?, true), set_config('hrsync.approved_by', ?, true)${opts.asyncCommit ? `, set_config('synchronous_commit', 'off', true)` : ''}`,
    [actor.type, actor.id ?? '', actor.approvedBy ?? ''],
  );
}

/** The actor for a "by" string of the HTTP and CLI faces: `token:<id>`, `admin`, `cli`. */
export function actorOf(by: string): HistoryActor {
  if (by.startsWith('token:')) return { type: 'token', id: by.slice('token:'.length) };
  if (by === 'cli') return { type: 'cli' };
  return { type: 'admin' };
}
