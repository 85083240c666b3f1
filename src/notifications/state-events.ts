import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../db/sql.js';
import type { SyncRunRecord } from '../sync/run-record.js';
import { notificationEvent, type NotificationEvent } from './events.js';

/** A UUID derived from a name: the same state change seen twice is the same event (sent once). */
function eventId(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/**
 * Leavers' planned deactivations of one day over the connector's threshold (the built-in
 * end-date rule, `ruleId: 'leavers'`): held as a run for an administrator.
 */
export function leaversHeldEvent(held: { organizationId: string; connectorId: string; runId: string; planned: number; threshold: number }): NotificationEvent {
  return notificationEvent(
    'rules.deactivations_over_threshold',
    held.organizationId,
    { ruleId: 'leavers', connectorId: held.connectorId, runId: held.runId, planned: held.planned, threshold: held.threshold },
    { id: eventId(`leavers-held:${held.runId}`) },
  );
}

/** What a finished sync run tells the administrators: held for approval, failed (and the credentials refused). */
export function runFinishedEvents(run: SyncRunRecord, info: { errorCode: string | null }): NotificationEvent[] {
  const out: NotificationEvent[] = [];
  if (run.status === 'needs_approval') {
    out.push(notificationEvent('sync.run.held', run.organizationId, { runId: run.id, connectorId: run.connectorId, trigger: run.trigger, heldDeactivations: run.counts.heldDeactivations, reason: run.heldReason }, { id: eventId(`held:${run.id}`) }));
  }
  if (run.status === 'failed') {
    const code = info.errorCode ?? 'error';
    out.push(notificationEvent('sync.run.failed', run.organizationId, { runId: run.id, connectorId: run.connectorId, trigger: run.trigger, errorCode: code }, { id: eventId(`failed:${run.id}`) }));
    if (code === 'connector_auth_failed') {
      out.push(notificationEvent('connector.credentials_failed', run.organizationId, { runId: run.id, connectorId: run.connectorId }, { id: eventId(`credentials:${run.id}`) }));
    }
  }
  return out;
}

/** The event of a rollout that has just paused, failed or completed (else null). */
export async function rolloutStateEvent(em: EntityManager, rolloutId: string): Promise<NotificationEvent | null> {
  const r = await sqlOne<{ organization_id: string; status: string; error: string | null; updated_at: Date }>(em, `select organization_id, status, error, updated_at from rollouts where id = ?`, [rolloutId]);
  if (!r || !['paused', 'failed', 'completed'].includes(r.status)) return null;
  const rows = await sql<{ status: string; n: string }>(em, `select status, count(*) as n from invitations where rollout_id = ? group by status`, [rolloutId]);
  const counts: Record<string, number> = { targeted: 0 };
  for (const x of rows) {
    counts[x.status] = Number(x.n);
    counts.targeted += Number(x.n);
  }
  const id = eventId(`rollout:${rolloutId}:${r.status}:${new Date(r.updated_at).toISOString()}`);
  // The reason is a code (sender_refused, retries_exhausted, …), not a server's words about an address.
  const reason = r.error && /^[a-z_]{1,64}$/.test(r.error) ? r.error : r.error ? 'see the rollout' : null;
  if (r.status === 'completed') return notificationEvent('rollout.completed', r.organization_id, { rolloutId, counts }, { id });
  return notificationEvent(r.status === 'paused' ? 'rollout.paused' : 'rollout.failed', r.organization_id, { rolloutId, reason, counts }, { id });
}

/** The event of a user's invitation just accepted (webhook only). */
export async function acceptedEvent(em: EntityManager, userId: string, organizationId: string): Promise<NotificationEvent | null> {
  const i = await sqlOne<{ id: string; rollout_id: string }>(
    em,
    `select id, rollout_id from invitations where user_id = ? and organization_id = ? and status = 'accepted' order by accepted_at desc nulls last limit 1`,
    [userId, organizationId],
  );
  if (!i) return null;
  return notificationEvent('invitation.accepted', organizationId, { invitationId: i.id, rolloutId: i.rollout_id, userId }, { id: eventId(`accepted:${i.id}`) });
}
