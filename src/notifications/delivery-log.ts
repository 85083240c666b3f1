import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/load.js';
import { sql, sqlOne } from '../db/sql.js';
import { AppError } from '../lib/errors.js';
import { notificationsOf } from './notifier.js';

export interface DeliveryRecord {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** The organization's deliveries, newest first (`before`: a createdAt to page back from). */
export async function listDeliveries(em: EntityManager, organizationId: string, opts: { limit?: number; before?: string; endpointId?: string } = {}): Promise<DeliveryRecord[]> {
  const where = ['organization_id = ?'];
  const params: unknown[] = [organizationId];
  if (opts.before) { where.push('created_at < ?'); params.push(new Date(opts.before)); }
  if (opts.endpointId) { where.push('endpoint_id = ?'); params.push(opts.endpointId); }
  const rows = await sql<{ id: string; endpoint_id: string; event_id: string; event_type: string; status: string; attempts: number; last_status: number | null; last_error: string | null; created_at: Date; delivered_at: Date | null }>(
    em,
    `select id, endpoint_id, event_id, event_type, status, attempts, last_status, last_error, created_at, delivered_at from notification_deliveries
      where ${where.join(' and ')} order by created_at desc, id limit ?`,
    [...params, Math.min(Math.max(opts.limit ?? 50, 1), 500)],
  );
  return rows.map((r) => ({
    id: r.id, endpointId: r.endpoint_id, eventId: r.event_id, eventType: r.event_type, status: r.status, attempts: r.attempts,
    lastStatus: r.last_status, lastError: r.last_error, createdAt: new Date(r.created_at).toISOString(), deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
  }));
}

/** The organization's endpoints as configured (no secret, the URL's origin only) with their state. */
export async function listEndpoints(em: EntityManager, config: AppConfig, organizationId: string) {
  const n = notificationsOf(config, organizationId);
  const state = await sql<{ endpoint_id: string; consecutive_failures: number; disabled_at: Date | null; disabled_reason: string | null }>(
    em,
    `select endpoint_id, consecutive_failures, disabled_at, disabled_reason from notification_endpoints where organization_id = ?`,
    [organizationId],
  );
  const byId = new Map(state.map((s) => [s.endpoint_id, s]));
  return (n?.webhooks ?? []).map((w) => {
    const s = byId.get(w.id);
    return {
      id: w.id,
      origin: new URL(w.url).origin,
      events: w.events ?? 'all',
      consecutiveFailures: s?.consecutive_failures ?? 0,
      disabledAt: s?.disabled_at ? new Date(s.disabled_at).toISOString() : null,
      disabledReason: s?.disabled_reason ?? null,
    };
  });
}

/** Takes a disabled endpoint back into service (its failure count starts again). */
export async function enableEndpoint(em: EntityManager, config: AppConfig, organizationId: string, endpointId: string): Promise<void> {
  if (!notificationsOf(config, organizationId)?.webhooks.some((w) => w.id === endpointId)) throw new AppError('not_found', `no notification endpoint ${endpointId}`);
  await sqlOne(
    em,
    `insert into notification_endpoints (organization_id, endpoint_id) values (?, ?)
     on conflict (organization_id, endpoint_id) do update set consecutive_failures = 0, disabled_at = null, disabled_reason = null, updated_at = now()`,
    [organizationId, endpointId],
  );
}
