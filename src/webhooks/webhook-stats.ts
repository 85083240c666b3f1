import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.js';

/** Whether a connector's webhooks arrive: last event, deliveries accepted, signatures refused. */
export interface WebhookStats {
  connectorId: string;
  lastEventAt: string | null;
  accepted: number;
  rejected: number;
  lastRejectedAt: string | null;
}

export async function recordDelivery(em: EntityManager, connectorId: string, ok: boolean): Promise<void> {
  await sql(
    em,
    `insert into webhook_stats (connector_id, last_event_at, accepted, rejected, last_rejected_at)
     select id, case when ? then now() end, case when ? then 1 else 0 end, case when ? then 0 else 1 end, case when ? then null else now() end from connectors where id = ?
     on conflict (connector_id) do update set
       last_event_at = case when ? then now() else webhook_stats.last_event_at end,
       accepted = webhook_stats.accepted + case when ? then 1 else 0 end,
       rejected = webhook_stats.rejected + case when ? then 0 else 1 end,
       last_rejected_at = case when ? then webhook_stats.last_rejected_at else now() end`,
    [ok, ok, ok, ok, connectorId, ok, ok, ok, ok],
  );
}

export async function webhookStats(em: EntityManager, connectorIds?: string[]): Promise<Map<string, WebhookStats>> {
  const rows = await sql<{ connector_id: string; last_event_at: Date | null; accepted: string; rejected: string; last_rejected_at: Date | null }>(
    em,
    `select * from webhook_stats${connectorIds ? ' where connector_id in (select jsonb_array_elements_text(?::jsonb))' : ''}`,
    connectorIds ? [JSON.stringify(connectorIds)] : [],
  );
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return new Map(
    rows.map((r) => [r.connector_id, { connectorId: r.connector_id, lastEventAt: iso(r.last_event_at), accepted: Number(r.accepted), rejected: Number(r.rejected), lastRejectedAt: iso(r.last_rejected_at) }]),
  );
}
